import type {
  EventHubConsumerClient,
  EventHubConsumerClientOptions,
  ReceivedEventData,
  Subscription,
} from '@azure/event-hubs';
import { z } from 'zod';
import { configError, TributaryError, transientError } from '../core/errors.ts';
import type { HttpClient, ReadContext } from '../core/source.ts';
import type { PartitionedSource, StreamRecord } from '../core/stream-source.ts';
import { type AzureEventHubsAccount, entraApp, eventHubsTarget, isLoopback } from './azure-event-hubs.ts';
import { AZURE_ROLES, microsoftCredential, roleAction } from './microsoft-credential.ts';

/**
 * An Event Hub as a partitioned stream for the stream consumer (engine/stream-consumer.ts), read with the
 * official client `@azure/event-hubs`: what every source that reads a hub shares (azure-event-hub,
 * microsoft-defender-xdr, microsoft-sentinel). Tributary's store keeps each partition's position (its
 * sequence number and offset) and moves it only after delivery; no blob checkpoint store is used, and the
 * client's own load balancing is not: the consumer's leases decide which worker reads which partition.
 * Vendor facts (learn.microsoft.com/azure/event-hubs/event-hubs-features; the client's reference,
 * learn.microsoft.com/javascript/api/@azure/event-hubs):
 *
 * - Partitions: `getPartitionIds`; each partition's events are ordered, each with a sequence number
 *   (increasing by one), an offset and an enqueued time ("Partitions", "Event consumers").
 * - A reader starts at a sequence number, exclusive (`EventPosition { sequenceNumber, isInclusive: false }`),
 *   at the start of what the hub retains (`earliestEventPosition`) or at its end (`latestEventPosition`).
 *   A position older than the retention starts at the earliest event kept ("Event retention"): the
 *   sequence numbers in between are reported as a gap.
 * - Errors (the client's `MessagingError.code`, learn.microsoft.com/azure/event-hubs/event-hubs-messaging-
 *   exceptions): `UnauthorizedError` (the token or its rights were refused), `MessagingEntityNotFoundError`
 *   (no such hub or consumer group), `QuotaExceededError` (more than 5 readers on a partition of the consumer
 *   group), `ServerBusyError` (throttled), `ServiceUnavailableError`; the client retries the transient ones.
 * - Bodies: diagnostic settings and the exports built on them send JSON as the body's data section.
 */

export interface EventHubPosition {
  sequenceNumber: number;
  offset: string;
}

/** One received event, as a source turns it into records. */
export interface HubEvent {
  partition: string;
  sequenceNumber: number;
  offset: string;
  enqueuedTime: string;
  /** The body decoded: JSON when it parses, else the text. */
  body: unknown;
  properties?: Record<string, unknown>;
}

/**
 * The hub an event comes from: the fully qualified namespace (`contoso.servicebus.windows.net`) and the hub's
 * name. Both are in an event's id: two namespaces may each have a hub of the same name.
 */
export interface HubName {
  namespace: string;
  hub: string;
}

export interface EventHubReaderOptions {
  account: AzureEventHubsAccount;
  http: HttpClient;
  /** Where a partition never read starts. */
  start: 'earliest' | 'latest';
  toRecords(e: HubEvent, hub: HubName): StreamRecord[];
  /** Events a partition buffers ahead of the consumer (default 2,000). */
  highWater?: number;
  /** The client (tests: faster retries). */
  client?: { retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number } };
}

interface PartitionReader {
  sub: Subscription;
  /**
   * The sequence number the subscription reads after: the position it started from, or (started at the
   * earliest or the latest) the one before its first event; undefined until known.
   */
  floor?: number;
  /** Events received, each with the gap found right before it (sequence numbers past the retention). */
  buffer: Array<HubEvent & { gap?: string }>;
  /** The sequence number the next event should have: one more than the last received (or than the start). */
  next?: number;
  error?: unknown;
  wake?: () => void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decodeBody(body: unknown): unknown {
  if (!(body instanceof Uint8Array)) return body;
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return Buffer.from(body).toString('base64');
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `closable.close()`, or give up on it after `ms` (the connection is dropped with the process's end). */
async function closeWithin(closable: { close(): Promise<void> }, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    closable.close().catch(() => {}),
    new Promise<void>((ok) => {
      timer = setTimeout(ok, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

type ClientOptions = EventHubConsumerClientOptions;

/** The official client, loaded when a hub is first read or tested (README, Performance). */
const eventHubsSdk = () => import('@azure/event-hubs');

/**
 * The official client for the account: from its connection string (SAS), or from its namespace with the
 * Entra app as a TokenCredential (accounts/microsoft-credential.ts; the client asks the scope
 * `https://eventhubs.azure.net/.default` and puts the token on `$cbs` as type `jwt`). The client reaches a
 * namespace over AMQPS; plain AMQP (a loopback simulator or proxy, as the Event Hubs emulator) is chosen only
 * by a connection string's `UseDevelopmentEmulator=true`, so for a loopback namespace that flag rides in the
 * `Endpoint=sb://{namespace}/;…` string the client builds from the namespace it is given.
 */
async function consumerClient(
  account: AzureEventHubsAccount,
  http: HttpClient,
  options: ClientOptions,
): Promise<EventHubConsumerClient> {
  const { EventHubConsumerClient } = await eventHubsSdk();
  const target = eventHubsTarget(account);
  const app = entraApp(account);
  if (!app)
    return new EventHubConsumerClient(account.consumerGroup, account.connectionString!, target.hub, options);
  const namespace = isLoopback(target.host)
    ? `${target.host}:${target.port}/;UseDevelopmentEmulator=true;_=`
    : target.port === 5671
      ? target.host
      : `${target.host}:${target.port}`;
  // The client renews each link's token on a timer loop that re-arms itself when a renewal settles, even one
  // that was in flight when the link closed: such a loop would renew for a closed client forever (and keep a
  // process alive). Once the client is closed its credential never answers, so a renewal still due settles
  // never and the loop ends there.
  const credential = microsoftCredential(http, app);
  let closed = false;
  const client = new EventHubConsumerClient(
    account.consumerGroup,
    namespace,
    target.hub,
    {
      getToken: (scopes, opts) => (closed ? new Promise(() => {}) : credential.getToken(scopes, opts)),
    },
    options,
  );
  const close = client.close.bind(client);
  client.close = () => {
    closed = true;
    return close();
  };
  return client;
}

/** The Event Hubs client's errors as Tributary's, naming the field to fix (no secret: the SDK's text has none). */
export function explainEventHubs(
  err: unknown,
  where: { hub: string; consumerGroup: string; account?: AzureEventHubsAccount },
): TributaryError {
  // Tributary's own refusals (the egress policy, the account's origins) stand as they are.
  if (err instanceof TributaryError) return err;
  // The client's retries end in an AggregateError of each attempt's error.
  const e = (err instanceof AggregateError ? err.errors.at(-1) : err) as
    | { code?: string; name?: string; message?: string }
    | undefined;
  const code = e?.code ?? e?.name ?? '';
  const said = (e?.message ?? String(err)).slice(0, 300);
  const app = where.account && entraApp(where.account);
  // With an Entra app, a token Entra issued and Event Hubs refuses lacks the role's rights.
  if (code === 'UnauthorizedError' && app)
    return configError(
      'azure_role_missing',
      `Event Hubs refused the app's token for hub ${where.hub} (Unauthorized: ${said}): the app needs the ${AZURE_ROLES.eventHubsReceiver.role} role on ${AZURE_ROLES.eventHubsReceiver.scope}.`,
      roleAction('eventHubsReceiver', app),
      401,
    );
  if (code === 'UnauthorizedError')
    return configError(
      'event_hubs_unauthorized',
      `Event Hubs refused the credentials for hub ${where.hub}: ${said}`,
      'Check connectionString: the policy’s SharedAccessKeyName and SharedAccessKey, and that the policy has the Listen right on the namespace or this hub.',
      401,
    );
  if (code === 'MessagingEntityNotFoundError')
    return configError(
      'event_hub_not_found',
      `Event Hubs has no hub ${where.hub} with consumer group ${where.consumerGroup}: ${said}`,
      'Check eventHubName and consumerGroup (Event Hubs namespace → Event Hubs → the hub → Consumer groups).',
      404,
    );
  if (code === 'QuotaExceededError')
    return transientError(
      'event_hubs_reader_limit',
      `A partition of hub ${where.hub} already has 5 readers in consumer group ${where.consumerGroup}: ${said}`,
      'Give Tributary a consumer group of its own (consumerGroup), or stop the other readers of this group.',
    );
  if (code === 'ServerBusyError')
    return transientError(
      'event_hubs_server_busy',
      `Event Hubs is throttling hub ${where.hub}: ${said}`,
      'Reading resumes on its own; raise the namespace’s throughput or processing units if this lasts.',
    );
  return transientError(
    'event_hubs_unavailable',
    `Reading hub ${where.hub} failed: ${said}`,
    'Reading resumes on its own from the last committed position; check the namespace’s network access if this lasts.',
  );
}

/**
 * A partitioned source over one hub. Each owned partition keeps one subscription open, buffering up to
 * `highWater` events ahead; `read` hands out what follows the committed position, so a batch that failed
 * to deliver is handed out again, and a subscription behind or ahead of the position starts over from it.
 */
export function eventHubReader(
  o: EventHubReaderOptions,
): PartitionedSource<EventHubPosition> & { partitionsReading(): string[] } {
  const target = eventHubsTarget(o.account);
  const where = { hub: target.hub, consumerGroup: o.account.consumerGroup, account: o.account };
  const name: HubName = { namespace: target.host.toLowerCase(), hub: target.hub };
  const highWater = o.highWater ?? 2000;
  const readers = new Map<string, PartitionReader>();
  /**
   * How many times each partition was released (its lease handed over, lost or fenced): a read that was
   * opening a receiver when the release came does not keep it (the release found nothing to close yet).
   */
  const releases = new Map<string, number>();
  /**
   * Where a partition with no committed position had got to (started at the latest event): a subscription
   * started again after an error goes on from there, not from a new latest, so nothing in between is skipped.
   */
  const floors = new Map<string, number>();
  let client: EventHubConsumerClient | undefined;

  const open = async (): Promise<EventHubConsumerClient> => {
    if (client) return client;
    // The egress policy and the account's origin, before the client connects (it dials the namespace itself).
    await o.http.authorizeConnection(new URL(`https://${target.host}:${target.port}`));
    const made = await consumerClient(o.account, o.http, {
      retryOptions: {
        maxRetries: 3,
        retryDelayInMs: 500,
        maxRetryDelayInMs: 10_000,
        ...o.client?.retryOptions,
      },
    });
    // Two partitions opened at once: the first client made is kept (the other never connected).
    if (client) void made.close();
    else client = made;
    return client;
  };

  const stop = async (partition: string): Promise<void> => {
    const r = readers.get(partition);
    if (!r) return;
    readers.delete(partition);
    if (r.floor !== undefined) floors.set(partition, r.floor);
    r.wake?.();
    await closeWithin(r.sub, 5000);
  };

  const subscribe = async (
    partition: string,
    after: number | undefined,
    fresh: boolean,
    released: number,
  ): Promise<PartitionReader | undefined> => {
    const c = await open();
    const { earliestEventPosition, latestEventPosition } = await eventHubsSdk();
    // Released while the client was opening: the partition is another consumer's now; no receiver.
    if ((releases.get(partition) ?? 0) !== released) return undefined;
    const r: PartitionReader = {
      buffer: [],
      floor: after,
      next: after !== undefined && after >= 0 ? after + 1 : undefined,
      sub: undefined as never,
    };
    r.sub = c.subscribe(
      partition,
      {
        processEvents: async (events: ReceivedEventData[]) => {
          for (const e of events) {
            r.floor ??= e.sequenceNumber - 1;
            // Every event is checked against the one expected, not only the first after subscribing: events
            // can pass the retention while the receiver is open (a consumer far behind), and the service then
            // goes on from the earliest event it keeps.
            const gap =
              r.next !== undefined && e.sequenceNumber > r.next
                ? `sequence numbers ${r.next} to ${e.sequenceNumber - 1} are past the hub's retention`
                : undefined;
            r.next = e.sequenceNumber + 1;
            r.buffer.push({
              gap,
              partition,
              sequenceNumber: e.sequenceNumber,
              offset: String(e.offset),
              enqueuedTime: e.enqueuedTimeUtc.toISOString(),
              body: decodeBody(e.body),
              properties: e.properties,
            });
          }
          // Back-pressure: the client asks for more only after this returns.
          while (r.buffer.length >= highWater && readers.get(partition) === r)
            await new Promise<void>((ok) => {
              r.wake = ok;
            });
        },
        processError: async (err) => {
          r.error ??= err;
        },
      },
      {
        startPosition:
          after !== undefined
            ? { sequenceNumber: after, isInclusive: false }
            : fresh && o.start === 'latest'
              ? latestEventPosition
              : earliestEventPosition,
        maxBatchSize: 500,
        maxWaitTimeInSeconds: 1,
        skipParsingBodyAsJson: true,
      },
    );
    readers.set(partition, r);
    return r;
  };

  return {
    kind: 'partitions',
    partitionsReading: () => [...readers.keys()].sort(),
    async partitions({ signal }) {
      try {
        return await (await open()).getPartitionIds({ abortSignal: signal });
      } catch (err) {
        throw explainEventHubs(err, where);
      }
    },
    async read(partition, position, { max }) {
      if (position === undefined && o.start === 'latest' && !floors.has(partition)) {
        // A partition never read, started at its end: the end is read now and handed back as the position,
        // so the consumer commits it before anything after it is read. A restart (or another owner) then goes
        // on from there, not from a later "latest" that would skip what arrived in between.
        let props: { lastEnqueuedSequenceNumber: number; lastEnqueuedOffset: string | number };
        try {
          props = await (await open()).getPartitionProperties(partition);
        } catch (err) {
          throw explainEventHubs(err, where);
        }
        floors.set(partition, props.lastEnqueuedSequenceNumber);
        return {
          records: [],
          position: {
            sequenceNumber: props.lastEnqueuedSequenceNumber,
            offset: String(props.lastEnqueuedOffset),
          },
        };
      }
      const after = position?.sequenceNumber;
      const released = releases.get(partition) ?? 0;
      let r = readers.get(partition);
      if (r?.error) {
        const err = r.error;
        await stop(partition);
        throw explainEventHubs(err, where);
      }
      // Never started, or the subscription is past the committed position (it moved back): start over.
      if (!r || (after !== undefined && r.floor !== undefined && after < r.floor)) {
        if (r) await stop(partition);
        const opened = await subscribe(
          partition,
          after ?? floors.get(partition),
          position === undefined,
          released,
        );
        if (!opened) return { records: [], position };
        r = opened;
      }
      while (r.buffer.length && after !== undefined && r.buffer[0]!.sequenceNumber <= after) r.buffer.shift();
      const events = r.buffer.slice(0, max);
      if (r.buffer.length < highWater) r.wake?.();
      const gaps = events.flatMap((e) => (e.gap ? [e.gap] : []));
      const last = events.at(-1);
      return {
        records: events.flatMap(({ gap: _, ...e }) => o.toRecords(e, name)),
        position: last ? { sequenceNumber: last.sequenceNumber, offset: last.offset } : position,
        gap: gaps.length ? gaps.join('; ') : undefined,
      };
    },
    async release(partition) {
      releases.set(partition, (releases.get(partition) ?? 0) + 1);
      await stop(partition);
    },
    async close() {
      for (const p of [...readers.keys()]) await stop(p);
      const c = client;
      client = undefined;
      // Closing while the client reconnects after a network cut can wait for a connection that never
      // opens: the consumer's end does not wait on it for more than a few seconds.
      if (c) await closeWithin(c, 5000);
    },
  };
}

/** A diagnostic-settings style body: `{"records":[…]}` (learn.microsoft.com/azure/azure-monitor/essentials/
 * resource-logs-schema, "Top-level common schema"; stream-monitoring-data-event-hubs). */
export function recordsOf(body: unknown): unknown[] | undefined {
  return body && typeof body === 'object' && Array.isArray((body as { records?: unknown }).records)
    ? (body as { records: unknown[] }).records
    : undefined;
}

/**
 * Test Connection: the hub's and a partition's properties over `$management`, which Event Hubs answers
 * only with a token holding Listen on the hub — the right reading needs; then a receiver on the first
 * partition of the consumer group, at the end of the stream, detached as soon as it is attached (an unknown
 * consumer group is refused only there). Nothing is received or changed.
 */
export async function checkEventHub(
  account: AzureEventHubsAccount,
  http: HttpClient,
  o: EventHubReaderOptions['client'] & { closeWithinMs?: number } = {},
): Promise<{ partitions: string[] }> {
  // A namespace that stops answering (a network cut) would hold a detach or close for the client's
  // operation timeout (a minute): the answer does not wait on them for more than a few seconds.
  const closeMs = o.closeWithinMs ?? 5000;
  const target = eventHubsTarget(account);
  const where = { hub: target.hub, consumerGroup: account.consumerGroup, account };
  await http.authorizeConnection(new URL(`https://${target.host}:${target.port}`));
  const client = await consumerClient(account, http, {
    retryOptions: { maxRetries: 1, retryDelayInMs: 200, ...o.retryOptions },
  });
  const { latestEventPosition } = await eventHubsSdk();
  try {
    const props = await client.getEventHubProperties();
    const first = props.partitionIds[0];
    if (first !== undefined) {
      await client.getPartitionProperties(first);
      await new Promise<void>((ok, fail) => {
        const timer = setTimeout(() => {
          void closeWithin(sub, closeMs);
          fail(new Error('no answer to the receiver within 15 s'));
        }, 15_000);
        const end = (err?: unknown) => {
          clearTimeout(timer);
          void closeWithin(sub, closeMs).then(() => (err ? fail(err) : ok()));
        };
        // The client calls processEvents (empty after the wait) once the receiver is attached.
        const sub = client.subscribe(
          first,
          { processEvents: async () => end(), processError: async (err) => end(err) },
          { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1, maxBatchSize: 1 },
        );
      });
    }
    return { partitions: props.partitionIds };
  } catch (err) {
    throw explainEventHubs(err, where);
  } finally {
    await closeWithin(client, closeMs);
  }
}

/** Where a partition never read starts: a setting of every source on a hub. */
export const startPositionField = z
  .enum(['earliest', 'latest'])
  .default('earliest')
  .meta({ title: 'Start at' })
  .describe(
    'Where a partition never read starts: earliest (everything the hub still retains) or latest (only new events)',
  );

const isoTime = (v: unknown): string | undefined =>
  typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : undefined;

/**
 * An event as records: its `records` entries when `unwrap` (each its own id
 * `{namespace}/{hub}/{partition}/{seq}/{index}`), else the event itself (`{namespace}/{hub}/{partition}/{seq}`);
 * `keep` drops records, `stream` names a record's stream. The namespace is the fully qualified one
 * (`contoso.servicebus.windows.net`), lowercase.
 */
export function hubRecords(
  e: HubEvent,
  hub: HubName,
  o: {
    unwrap: boolean;
    time?: (r: unknown) => unknown;
    stream?: (r: unknown) => string | undefined;
    keep?: (r: unknown) => boolean;
  },
): StreamRecord[] {
  const id = `${hub.namespace}/${hub.hub}/${e.partition}/${e.sequenceNumber}`;
  const entries = o.unwrap ? recordsOf(e.body) : undefined;
  const time = (r: unknown) =>
    isoTime(o.time ? o.time(r) : (r as { time?: unknown } | null)?.time) ?? e.enqueuedTime;
  const all = entries
    ? entries.map((r, i) => ({ raw: r, id: `${id}/${i}`, time: time(r), stream: o.stream?.(r) }))
    : [{ raw: e.body, id, time: time(e.body), stream: o.stream?.(e.body) }];
  return o.keep ? all.filter((r) => o.keep!(r.raw)) : all;
}

/** The settings of a source whose hub carries several tables. */
export interface HubTablesSettings {
  tables: string[];
  startPosition: 'earliest' | 'latest';
}

/**
 * A hub that carries the rows of several tables in `{"records":[…]}` events (Defender XDR's Advanced
 * Hunting, a Log Analytics data export): one event per row, its stream its table, only the `tables` named
 * (all when none).
 */
export function tablesOnHub(o: { table: (r: unknown) => string | undefined; time: (r: unknown) => unknown }) {
  return (ctx: ReadContext<HubTablesSettings, AzureEventHubsAccount, undefined>) => {
    const keep = new Set(ctx.settings.tables);
    return eventHubReader({
      account: ctx.account,
      http: ctx.http,
      start: ctx.settings.startPosition,
      toRecords: (e, hub) =>
        hubRecords(e, hub, {
          unwrap: true,
          stream: o.table,
          time: o.time,
          keep: keep.size ? (r) => keep.has(o.table(r) ?? '') : undefined,
        }),
    });
  };
}
