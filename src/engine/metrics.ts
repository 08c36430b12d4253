import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics (docs/operations.md), in one registry: what happens in this process
 * (deliveries, runs, vendor requests, rate-limit waits, destination retries, dead letters, pushed
 * requests, cluster leases) is counted here at the engine's chokepoints — the runner, the HTTP client,
 * the ingest receiver and the cluster worker — never in sources. State read from the store on scrape
 * (checkpoint lag, collector health, queued jobs) lives in a registry of its own per endpoint
 * (control/metrics-state.ts) and is merged with this one when /metrics is answered.
 *
 * Every label value is a name an admin chose (collector, stream, destination, account), a source id, a
 * stream name of a source, or a value from a closed set (status class, run result, dead-letter reason
 * class): never vendor data, so the number of series stays bounded.
 */

/** Statuses that keep their own label value; any other is reported by class ("4xx"). */
const NAMED_STATUSES = new Set([
  200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 408, 409, 413, 415, 429, 500, 502, 503, 504,
]);

/**
 * The `status` label of an HTTP answer: the code for the common ones (so alerts can name 429 or 503),
 * else its class; `error` for a request that got no answer (network error, timeout).
 */
export function statusLabel(status: number | undefined): string {
  if (status === undefined || !Number.isInteger(status) || status < 100 || status > 599) return 'error';
  return NAMED_STATUSES.has(status) ? String(status) : `${Math.floor(status / 100)}xx`;
}

/**
 * The `reason` label of a dead letter: a class of the reason text sources give, which can quote file
 * names, record numbers or parser messages and so must not become a label itself.
 */
export function deadLetterReason(reason: string): string {
  if (/\bno id\b|has no .*\b(id|insertId|uniqueQualifier)\b/i.test(reason)) return 'missing_id';
  if (/truncated|ends inside/i.test(reason)) return 'truncated';
  if (/not a JSON object/i.test(reason)) return 'not_an_object';
  if (/JSON|parse|unexpected token|unterminated/i.test(reason)) return 'invalid_json';
  return 'other';
}

const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  readonly registry = new Registry();
  private defaults = false;

  readonly eventsDelivered = new Counter({
    name: 'tributary_events_delivered_total',
    help: 'Events a destination acknowledged, by collector, source, stream and destination.',
    labelNames: ['collector', 'source', 'stream', 'destination'] as const,
    registers: [this.registry],
  });
  readonly bytesDelivered = new Counter({
    name: 'tributary_bytes_delivered_total',
    help: 'Bytes of NDJSON envelopes a destination acknowledged (one line per event, newline included).',
    labelNames: ['collector', 'source', 'stream', 'destination'] as const,
    registers: [this.registry],
  });
  readonly runs = new Counter({
    name: 'tributary_runs_total',
    help: 'Finished collector runs, by result (succeeded, failed, cancelled).',
    labelNames: ['collector', 'result'] as const,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'tributary_dead_letters_total',
    help: 'Records kept as dead letters instead of delivered, by collector and reason class.',
    labelNames: ['collector', 'reason'] as const,
    registers: [this.registry],
  });
  readonly vendorRequests = new Counter({
    name: 'tributary_vendor_requests_total',
    help: 'Requests sent to vendors (every attempt, retries included), by source, account and answer status.',
    labelNames: ['source', 'account', 'status'] as const,
    registers: [this.registry],
  });
  readonly vendorDuration = new Histogram({
    name: 'tributary_vendor_request_duration_seconds',
    help: 'Time from sending a vendor request to its response headers (or failure), by source and account.',
    labelNames: ['source', 'account'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly rateLimitWait = new Counter({
    name: 'tributary_rate_limit_wait_seconds_total',
    help: "Seconds requests waited for the account's request budget or a vendor's Retry-After, by account.",
    labelNames: ['account'] as const,
    registers: [this.registry],
  });
  readonly destinationRetries = new Counter({
    name: 'tributary_destination_retries_total',
    help: 'Deliveries to a destination that failed and are retried, by destination.',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  readonly destinationBuffered = new Counter({
    name: 'tributary_destination_buffered_events_total',
    help: "Events written to a destination's buffer (docs/destinations.md, Buffering) instead of delivered at once, by destination.",
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  readonly destinationDrained = new Counter({
    name: 'tributary_destination_buffer_drained_events_total',
    help: 'Buffered events the destination acknowledged and that left its buffer, by destination.',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  readonly destinationBufferFull = new Counter({
    name: 'tributary_destination_buffer_full_total',
    help: "Batches a destination's full buffer refused (the collector waits and offers them again), by destination.",
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  readonly ingestRequests = new Counter({
    name: 'tributary_ingest_requests_total',
    help: 'Requests to /ingest/{collector}, by push collector and answer status ("" collector: no such push collector).',
    labelNames: ['collector', 'status'] as const,
    registers: [this.registry],
  });
  readonly ingestEvents = new Counter({
    name: 'tributary_ingest_events_total',
    help: 'Pushed events accepted (delivered and committed), by push collector.',
    labelNames: ['collector'] as const,
    registers: [this.registry],
  });
  readonly ingestDuration = new Histogram({
    name: 'tributary_ingest_request_duration_seconds',
    help: 'Time to answer a request to /ingest/{collector}, delivery to every destination included.',
    labelNames: ['collector'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly leasesHeld = new Gauge({
    name: 'tributary_cluster_leases_held',
    help: 'Collector leases this worker holds now (runs in progress).',
    registers: [this.registry],
  });
  readonly failovers = new Counter({
    name: 'tributary_cluster_failovers_total',
    help: 'Collectors this worker took over from a runner whose lease expired without being released.',
    registers: [this.registry],
  });
  readonly leasesLost = new Counter({
    name: 'tributary_cluster_leases_lost_total',
    help: "Runs this worker stopped because it lost the collector's lease (expired or taken over).",
    registers: [this.registry],
  });

  /**
   * The gauges of destination buffers (bytes, batches, age of the oldest batch), read from `read` at
   * every scrape; the buffers register it once (engine/destination-buffer.ts).
   */
  registerBufferGauges(
    read: () => Array<{
      destination: string;
      status: { bytes: number; batches: number; oldestAt?: string; maxBytes: number };
    }>,
  ): void {
    const gauge = (
      name: string,
      help: string,
      value: (s: ReturnType<typeof read>[number]['status']) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['destination'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const { destination, status } of read()) this.set({ destination }, value(status));
        },
      });
    gauge(
      'tributary_destination_buffer_bytes',
      "Bytes in a destination's buffer, by destination.",
      (s) => s.bytes,
    );
    gauge(
      'tributary_destination_buffer_max_bytes',
      "A destination's buffer.maxBytes, by destination.",
      (s) => s.maxBytes,
    );
    gauge(
      'tributary_destination_buffer_batches',
      "Batches in a destination's buffer, by destination.",
      (s) => s.batches,
    );
    gauge(
      'tributary_destination_buffer_oldest_age_seconds',
      "Age of the oldest batch in a destination's buffer (0 when empty), by destination.",
      (s) => (s.oldestAt ? Math.max(0, (Date.now() - Date.parse(s.oldestAt)) / 1000) : 0),
    );
  }

  /** Events and bytes every destination in `destinations` acknowledged. */
  delivered(
    labels: { collector: string; source: string; stream: string },
    destinations: string[],
    events: number,
    bytes: number,
  ): void {
    for (const destination of destinations) {
      this.eventsDelivered.inc({ ...labels, destination }, events);
      this.bytesDelivered.inc({ ...labels, destination }, bytes);
    }
  }

  /** Dead letters committed for `collector`, counted by reason class. */
  deadLettered(collector: string, deadLetters: Array<{ reason: string }>): void {
    for (const d of deadLetters) this.deadLetters.inc({ collector, reason: deadLetterReason(d.reason) });
  }

  /**
   * A request to /ingest/{name}, answered with `status`: under the collector's name when `known` (a push
   * collector by that name exists), else under "" — the path is the sender's text.
   */
  ingested(name: string, known: boolean, status: number, seconds: number, events: number): void {
    const collector = known ? name : '';
    this.ingestRequests.inc({ collector, status: statusLabel(status) });
    this.ingestDuration.observe({ collector }, seconds);
    if (events) this.ingestEvents.inc({ collector }, events);
  }

  /**
   * The process metrics of prom-client (resident memory, CPU, open files, event-loop lag, GC, heap),
   * started once, when the first /metrics endpoint of the process starts.
   */
  processDefaults(): void {
    if (this.defaults) return;
    this.defaults = true;
    collectDefaultMetrics({ register: this.registry });
    // Gauges whose names end in _total, which Prometheus reserves for counters (`promtool check
    // metrics` refuses them); what they count is of no use for operating Tributary.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      this.registry.removeSingleMetric(name);
  }
}

/** The one registry of this process. */
export const metrics = new Metrics();
