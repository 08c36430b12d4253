import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { fetch } from 'undici';
import { destinationAccount } from '../src/app/destination-account.ts';
import type { Destination } from '../src/core/destination.ts';
import { type Envelope, keepVendorText, lineBytes, makeEnvelope } from '../src/core/envelope.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from '../src/destinations/azure-blob/azurite.ts';
import { fileScope } from '../src/destinations/file/file-scope.ts';
import { GcsSimulator } from '../src/destinations/gcs/gcs-simulator.ts';
import {
  createDestination,
  type DestinationConfigInput,
  destinationConfigSchema,
} from '../src/destinations/index.ts';
import type { DestinationAccount, DestinationContext } from '../src/destinations/kind.ts';
import { envelopeLine } from '../src/destinations/ndjson.ts';
import { S3Gate } from '../src/destinations/s3/s3-gate.ts';
import { Rsyslog } from '../src/destinations/syslog/rsyslog.ts';
import { cpuSeconds } from './sim-process.ts';

/**
 * Destinations: events/s and MB/s of envelopes delivered by one destination instance, batches of
 * BENCH_BATCH (default 500) events of ≈1.1 KB sent one after the other (each acknowledged before the
 * next, as the runner does), against each kind's simulator, run in its own process
 * (bench/destination-sims.ts) so that the figures are Tributary's side, with each kind's default
 * settings (gzip where it is the default). One table entry per kind: `start` brings up the target and
 * returns the destination's config (and context), `stop` takes it down, `received` counts what
 * arrived (every event must have, or the row fails). MB/s counts the envelope lines, before any
 * compression. BENCH_EVENTS (default 20000) events per kind; BENCH_KINDS=splunk-hec,http picks rows.
 *
 * Context rows, in the same run: `bare limit`, as bench/throughput.ts measures one (the same vendor
 * pages through JSON.parse, JSON.stringify of each record with its id, and a file write, best of three,
 * no engine, HTTP or fsync), and `bare http` (the same NDJSON bodies POSTed one after the other to a
 * receiver that only counts lines).
 */

interface Target {
  config: DestinationConfigInput;
  ctx?: Partial<DestinationContext>;
  /** What the figures include besides the destination. */
  note: string;
  stop(): Promise<void>;
  /** How many events the target holds (acknowledged ones, with Splunk's indexer acknowledgement). */
  received?(): Promise<number>;
  /** CPU seconds the target's process has used so far. */
  cpu?(): number | undefined;
}

/** A simulator of bench/destination-sims.ts in its own process. */
async function simProcess(args: string[]) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'destination-sims.ts'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const queue: Array<(l: string) => void> = [];
  lines.on('line', (l) => queue.shift()?.(l));
  const next = () => new Promise<Record<string, any>>((ok) => queue.push((l) => ok(JSON.parse(l))));
  const info = (await next()) as Record<string, string>;
  return {
    info,
    cpu: () => cpuSeconds(child.pid),
    async received(): Promise<number> {
      const answer = next();
      child.stdin!.write('{"cmd":"stats"}\n');
      return (await answer).received as number;
    },
    async stop(): Promise<void> {
      child.stdin!.end();
      await new Promise((ok) => child.once('exit', ok));
    },
  };
}

/** The account a kind sending with an account's token uses, built from the simulator's identity. */
function account(
  name: string,
  kind: string,
  fields: Record<string, unknown>,
  origins: string[],
): DestinationAccount {
  return destinationAccount({ name, kind, fields, origins, version: '1' });
}

/** An entry whose target is one of bench/destination-sims.ts's simulators. */
function simulated(
  kind: string,
  args: string[],
  note: string,
  config: (info: Record<string, string>) => DestinationConfigInput,
  ctx?: (info: Record<string, string>) => Partial<DestinationContext>,
) {
  return {
    kind,
    async start(): Promise<Target> {
      const sim = await simProcess(args);
      return {
        config: config(sim.info),
        ctx: ctx?.(sim.info),
        note,
        stop: sim.stop,
        received: sim.received,
        cpu: sim.cpu,
      };
    },
  };
}

const ENTRIES: Array<{ kind: string; start(): Promise<Target> }> = [
  {
    kind: 'file',
    async start() {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-file-'));
      return {
        config: { kind: 'file', path: join(dir, 'out.ndjson'), maxBytes: 2 ** 40, maxFiles: 1 },
        ctx: { baseDir: dir, files: fileScope(dir) },
        note: 'NDJSON file, fsynced per batch',
        stop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  simulated('http', ['sink'], 'a receiver counting NDJSON lines', (i) => ({
    kind: 'http',
    url: `${i.url}/ingest`,
  })),
  simulated('splunk-hec', ['splunk-hec'], 'the HEC simulator (gzip)', (i) => ({
    kind: 'splunk-hec',
    url: i.url!,
    token: i.token!,
  })),
  simulated(
    'splunk-hec (ack)',
    ['splunk-hec', 'ack'],
    'the HEC simulator, indexer acknowledgement polled every 10 ms (gzip)',
    (i) => ({ kind: 'splunk-hec', url: i.url!, token: i.token!, ack: true, ackPollMs: 10 }),
  ),
  simulated('elasticsearch', ['elasticsearch'], 'the _bulk simulator with dynamic mapping (gzip)', (i) => ({
    kind: 'elasticsearch',
    url: i.url!,
    auth: { type: 'basic', username: 'bench', password: 'bench-pw' },
  })),
  simulated('opensearch', ['opensearch'], 'the _bulk simulator with dynamic mapping (gzip)', (i) => ({
    kind: 'opensearch',
    url: i.url!,
    auth: { type: 'basic', username: 'bench', password: 'bench-pw' },
  })),
  simulated(
    'azure-monitor-logs',
    ['azure-monitor-logs'],
    'the Logs Ingestion simulator and its Entra token endpoint (gzip, calls ≤ 1 MB)',
    (i) => ({
      kind: 'azure-monitor-logs',
      account: 'entra',
      endpoint: i.url!,
      dcrImmutableId: i.dcrId!,
      stream: 'Custom-TributaryEvents',
    }),
    (i) => ({
      account: async (name) =>
        account(
          name,
          'microsoft',
          {
            tenantId: i.tenantId,
            clientId: i.clientId,
            clientSecret: i.clientSecret,
            authorityHost: i.url,
            cloud: 'global',
          },
          [i.url!],
        ),
    }),
  ),
  simulated(
    'google-secops',
    ['google-secops'],
    'the logs.import simulator and its token endpoint (base64 logs, requests ≤ 1 MB)',
    (i) => ({
      kind: 'google-secops',
      account: 'gcp',
      region: i.location!,
      project: i.project!,
      instance: i.instance!,
      logType: 'OKTA',
      endpoint: i.url!,
    }),
    (i) => ({
      account: async (name) =>
        account(name, 'google', { serviceAccountKey: i.key, tokenUrl: i.tokenUrl }, [i.url!]),
    }),
  ),
  simulated('exabeam', ['exabeam'], 'the Webhook Cloud Collector simulator (gzip)', (i) => ({
    kind: 'exabeam',
    url: `${i.url}/cloud-collectors/v1/logs/json`,
    token: i.token!,
  })),
  {
    kind: 's3',
    async start() {
      const gate = new S3Gate({ buckets: ['bench-logs'] });
      await gate.start();
      return {
        config: {
          kind: 's3',
          bucket: 'bench-logs',
          endpoint: gate.url,
          accessKeyId: gate.accessKeyId,
          secretAccessKey: gate.secretAccessKey,
        },
        note: 's3rver on disk behind the SigV4-verifying gate (gzip objects)',
        stop: () => gate.stop(),
      };
    },
  },
  {
    kind: 'azure-blob',
    async start() {
      const azurite = new Azurite();
      await azurite.start();
      await new BlobServiceClient(
        azurite.endpoint,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      )
        .getContainerClient('bench-logs')
        .create();
      return {
        config: {
          kind: 'azure-blob',
          endpoint: azurite.endpoint,
          container: 'bench-logs',
          accountKey: AZURITE_KEY,
        },
        note: 'Azurite on disk (gzip blobs)',
        stop: () => azurite.stop(),
      };
    },
  },
  {
    kind: 'gcs',
    async start() {
      const sim = new GcsSimulator(['bench-logs']);
      await sim.start();
      const fields = sim.accountFields();
      return {
        config: { kind: 'gcs', bucket: 'bench-logs', account: 'gcp', endpoint: sim.url },
        ctx: { account: async (name) => destinationAccount({ name, kind: 'google', fields, version: '1' }) },
        note: 'the JSON API simulator, in memory (gzip objects)',
        stop: () => sim.stop(),
      };
    },
  },
  {
    kind: 'nats',
    async start() {
      const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
      const run = randomBytes(4).toString('hex');
      const nc = await connect({ servers });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: `BENCH_${run}`, subjects: [`bench${run}.>`] });
      return {
        config: { kind: 'nats', servers: [servers], subject: `bench${run}.{source}` },
        note: 'nats-server with JetStream (file storage), every PubAck awaited',
        async stop() {
          await jsm.streams.delete(`BENCH_${run}`);
          await nc.close();
        },
      };
    },
  },
  {
    kind: 'syslog',
    async start() {
      const rsyslog = new Rsyslog();
      await rsyslog.start({ protocol: 'tcp' });
      return {
        config: { kind: 'syslog', host: '127.0.0.1', port: rsyslog.port, protocol: 'tcp' },
        note: 'rsyslogd imtcp to omfile, octet counting (written to the socket; no acknowledgement)',
        async stop() {
          await rsyslog.stop();
          rsyslog.cleanup();
        },
      };
    },
  },
  {
    kind: 'syslog (tls)',
    async start() {
      const rsyslog = new Rsyslog();
      await rsyslog.start({ protocol: 'tls' });
      return {
        config: {
          kind: 'syslog',
          host: '127.0.0.1',
          port: rsyslog.port,
          protocol: 'tls',
          ca: rsyslog.ca!.certificatePem,
        },
        note: 'rsyslogd imtcp with gtls to omfile',
        async stop() {
          await rsyslog.stop();
          rsyslog.cleanup();
        },
      };
    },
  },
];

/**
 * Envelopes of ≈1.1 KB lines carrying their vendor text, as the engine's parsed records do; and the
 * vendor's pages (JSON text of `batch` records each) for the bare limit.
 */
function events(n: number, batch: number): { all: Envelope[]; pages: string[] } {
  const ctx = { source: 'okta', stream: 'system-log', collector: 'okta-prod', sitename: 'hq' };
  const all: Envelope[] = [];
  const pages: string[] = [];
  let page: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const published = new Date(Date.UTC(2026, 10, 25, 10) + i).toISOString();
    const raw = {
      uuid: `bench-${i.toString().padStart(8, '0')}`,
      published,
      eventType: 'user.session.start',
      actor: { id: `00u${i}`, type: 'User', alternateId: `user${i}@acme.example`, displayName: `User ${i}` },
      client: {
        ipAddress: `10.${i % 256}.${(i >> 8) % 256}.1`,
        userAgent: { rawUserAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
      },
      outcome: { result: 'SUCCESS' },
      debugContext: { debugData: { requestId: `req-${i}`, padding: 'x'.repeat(560) } },
    };
    keepVendorText(raw, JSON.stringify(raw));
    all.push(makeEnvelope(ctx, raw, raw.uuid, published, '2026-11-25T10:00:01.000Z'));
    page.push(raw);
    if (page.length === batch || i === n - 1) {
      pages.push(JSON.stringify(page));
      page = [];
    }
  }
  return { all, pages };
}

/** The bare limit of bench/throughput.ts: pages parsed, records stringified with their id, written. */
function bareLimit(pages: string[]): { seconds: number; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-bare-'));
  try {
    for (const p of pages) JSON.parse(p); // flattens each page's text before any timing
    let best = Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (let round = 0; round < 3; round++) {
      const fd = openSync(join(dir, 'bare.ndjson'), 'w');
      bytes = 0;
      const started = process.hrtime.bigint();
      for (const p of pages) {
        const records = JSON.parse(p) as Array<{ uuid: string }>;
        bytes += writeSync(fd, `${records.map((r) => JSON.stringify({ id: r.uuid, raw: r })).join('\n')}\n`);
      }
      best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
      closeSync(fd);
    }
    return { seconds: best, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function destinations() {
  const total = Number(process.env.BENCH_EVENTS ?? 20_000);
  const batch = Number(process.env.BENCH_BATCH ?? 500);
  const only = process.env.BENCH_KINDS?.split(',');
  // One batch more than the timed ones, for the warm-up: targets that de-duplicate (Elasticsearch's 409)
  // would otherwise take the timed run's first batch as a repeat.
  const generated = events(total + batch, batch);
  const all = generated.all.slice(0, total);
  const warmUp = generated.all.slice(total);
  const pages = generated.pages.slice(0, Math.ceil(total / batch));
  const bytes = all.reduce((n, e) => n + lineBytes(e) + 1, 0);
  const row = (kind: string, seconds: number, b: number, extra: Record<string, unknown>) => ({
    kind,
    events: total,
    eventBytes: Math.round(bytes / total),
    batch,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSecond: Math.round(total / seconds),
    mbPerSecond: Number((b / seconds / 1e6).toFixed(1)),
    ...extra,
  });
  const rows: Array<Record<string, unknown>> = [];

  const bare = bareLimit(pages);
  rows.push(
    row('bare limit', bare.seconds, bare.bytes, {
      target: 'JSON.parse, JSON.stringify and a file write (bench/throughput.ts)',
    }),
  );
  const sink = await simProcess(['sink']);
  try {
    const bodies = [];
    for (let i = 0; i < total; i += batch)
      bodies.push(
        `${all
          .slice(i, i + batch)
          .map(envelopeLine)
          .join('\n')}\n`,
      );
    const started = process.hrtime.bigint();
    for (const body of bodies)
      await (
        await fetch(`${sink.info.url}/bare`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-ndjson' },
        })
      ).arrayBuffer();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if ((await sink.received()) !== total) throw new Error('bare http: events missing');
    rows.push(
      row('bare http', seconds, bytes, {
        target: 'the same NDJSON bodies POSTed to a line-counting receiver',
      }),
    );
  } finally {
    await sink.stop();
  }

  for (const entry of ENTRIES) {
    if (only && !only.includes(entry.kind.split(' ')[0]!)) continue;
    const target = await entry.start();
    let d: Destination | undefined;
    try {
      const config = destinationConfigSchema.parse(target.config);
      d = createDestination(`bench-${entry.kind}`, config, {
        baseDir: '.',
        files: undefined as never,
        ...target.ctx,
      });
      await d.send(warmUp, AbortSignal.timeout(60_000)); // warm-up: connections, tokens
      const before = (await target.received?.()) ?? 0;
      const cpu0 = process.cpuUsage();
      const targetCpu0 = target.cpu?.();
      const started = process.hrtime.bigint();
      for (let i = 0; i < total; i += batch)
        await d.send(all.slice(i, i + batch), AbortSignal.timeout(120_000));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const targetCpu = (target.cpu?.() ?? Number.NaN) - (targetCpu0 ?? Number.NaN);
      if (target.received) {
        const got = (await target.received()) - before;
        if (got !== total) throw new Error(`${entry.kind}: ${got} of ${total} events arrived`);
      }
      rows.push(
        row(entry.kind, seconds, bytes, {
          cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
          ...(Number.isNaN(targetCpu) ? {} : { targetCpuSeconds: Number(targetCpu.toFixed(2)) }),
          target: target.note,
        }),
      );
    } finally {
      await d?.close();
      await target.stop();
    }
  }
  return { rows };
}
