import type WebSocket from 'ws';
import { z } from 'zod';
import { type PodAccount, podUrl } from '../../accounts/proofpoint-on-demand.ts';
import { hashId, RawJson, toIsoTime } from '../../core/envelope.ts';
import { configError, gapWarning, type TributaryError, transientError } from '../../core/errors.ts';
import {
  type Batch,
  defineSource,
  type RawEvent,
  type ReadContext,
  type StreamDef,
} from '../../core/source.ts';
import { egressPolicy } from '../../engine/egress.ts';
import { retryAfterMs } from '../../engine/http.ts';
import { backoff, sleep } from '../../engine/sleep.ts';

/**
 * Proofpoint on Demand (PoD) Log API: a WebSocket stream of the cluster's filter (`message`) or MTA (`maillog`)
 * logs. Vendor facts — the Log API's documentation is given to customers, not published, so these come from
 * what integrations state (Google SecOps' PoD feed guide; Cortex XSOAR's "Proofpoint Email Security Event
 * Collector"; the open-source node-proofpoint-podclient) and the issue that asked for this source:
 *
 * - `wss://logstream.proofpoint.com/v1/stream?cid=<cluster ID>&type=message|maillog&sinceTime=<ISO-8601>` with
 *   `Authorization: Bearer <API key>`; every WebSocket text message is one JSON record (`id`, `ts` as
 *   `YYYY-MM-DDTHH:MM:SS.ffffff+0000`, and per type `guid`, `msg`, `envelope`, `filter`, … or `data`, `sm`, `tls`).
 * - `sinceTime` makes the server replay from that time, **up to one hour back**; one session per key at a time.
 *
 * How it reads — early access, as a **bounded run**: the engine's long-running stream consumer is not merged,
 * so each run connects with `sinceTime` = the position (the last delivered event's time), delivers what the
 * server replays and streams, and ends once caught up: an event at or after the run's start, or `idleMs` without
 * a message. The checkpoint is `{since, seen}`: the last delivered event time and the ids delivered at that
 * exact time (the replay includes them again: suppressed). A dropped connection is reopened from the last
 * position read, a few times per run; a refused handshake is classified (401 key, 403 licence or cluster, 409
 * another session on the key, 429/5xx waited out). A position older than the hour Proofpoint replays moves up
 * with a gap warning. Messages arriving faster than batches are delivered wait in a bounded queue; past it the
 * run stops reading and ends, and the next run replays from the committed position.
 *
 * To move onto the stream consumer (docs/sources.md): keep the connection open across batches instead of
 * ending at "caught up", and let the consumer own reconnects and their backoff; the position, replay and
 * suppression stay as they are.
 */

export interface PodSettings {
  clusterId: string;
  batchSize: number;
  idleMs: number;
  baseUrl?: string;
}

const settings = z
  .object({
    clusterId: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9_-]{1,100}$/,
        'expected the cluster ID shown at the top right of the PoD admin portal, e.g. acme_hosted',
      )
      .meta({ title: 'Cluster ID' })
      .describe('PoD cluster ID (top right of the admin portal, beside the version)'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .meta({ title: 'Batch size' })
      .describe('Records delivered per batch'),
    idleMs: z
      .number()
      .int()
      .min(100)
      .max(300_000)
      .default(10_000)
      .meta({ title: 'Caught up after (ms)' })
      .describe('A run ends when no record arrived for this long (or one at or after its start did)'),
  })
  .strict();

const REPLAY_MS = 3_600_000;
const REPLAY_MARGIN_MS = 60_000;
const MAX_QUEUED = 50_000;
const MAX_RECONNECTS = 5;

export interface PodCheckpoint {
  since: string;
  seen?: string[];
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff+0000` as Proofpoint prints times. */
const podTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}000+0000`;

type Next = { message: string } | { idle: true } | { closed: true; code: number; reason: string };

/** One WebSocket session: its messages in a bounded queue, read one at a time. */
class Session {
  private readonly queue: string[] = [];
  private waiter?: (n: Next) => void;
  private closed?: { code: number; reason: string };
  overflowed = false;
  readonly ws: WebSocket;
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      if (this.queue.length >= MAX_QUEUED) {
        this.overflowed = true;
        ws.terminate();
        return;
      }
      this.queue.push(data.toString());
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed ??= { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => {}); // a close follows
  }
  private wake() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.(this.take() ?? { idle: true });
  }
  private take(): Next | undefined {
    const m = this.queue.shift();
    if (m !== undefined) return { message: m };
    if (this.closed) return { closed: true, ...this.closed };
    return undefined;
  }
  /** The next message, the close, or `idle` after `ms` without either. */
  next(ms: number, signal: AbortSignal): Promise<Next> {
    const ready = this.take();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve({ idle: true });
      }, ms);
      const abort = () => {
        clearTimeout(timer);
        resolve({ idle: true });
      };
      signal.addEventListener('abort', abort, { once: true });
      this.waiter = (n) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        resolve(n);
      };
    });
  }
  /** Messages already queued, without waiting. */
  drain(max: number): string[] {
    return this.queue.splice(0, max);
  }
  /** Closes the connection and waits (briefly) until it is closed: Proofpoint allows one session per key. */
  async close(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return;
    const closed = new Promise<void>((ok) => {
      const t = setTimeout(ok, 1000);
      this.ws.once('close', () => {
        clearTimeout(t);
        ok();
      });
    });
    if (this.ws.readyState === this.ws.CONNECTING) this.ws.terminate();
    else this.ws.close(1000);
    await closed;
  }
}

/** Opens a session, or throws the refusal classified (with the wait a 429/503 asked for). */
async function open(
  ctx: ReadContext<PodSettings, PodAccount>,
  type: string,
  since: number,
  refresh: boolean,
): Promise<Session> {
  const base = (ctx.settings.baseUrl ?? podUrl(ctx.account)).replace(/\/+$/, '').replace(/^http/, 'ws');
  const url = new URL(`${base}/v1/stream`);
  url.searchParams.set('cid', ctx.settings.clusterId);
  url.searchParams.set('type', type);
  url.searchParams.set('sinceTime', podTime(since));
  const headers = Object.fromEntries(await ctx.http.authorizeConnection(url, refresh));
  const { default: WebSocket } = await import('ws'); // loaded at the first session (README, Performance)
  const ws = new WebSocket(url, {
    headers,
    lookup: egressPolicy().lookup as never,
    handshakeTimeout: 30_000,
  });
  return new Promise((resolve, reject) => {
    const session = new Session(ws);
    ws.once('open', () => resolve(session));
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const wait = retryAfterMs(String(res.headers['retry-after'] ?? ''), Date.now());
      res.resume();
      ws.terminate();
      reject(refused(status, wait));
    });
    ws.once('error', (err) =>
      reject(
        transientError(
          'network',
          `Network error connecting to the Proofpoint on Demand Log API: ${err.message}.`,
          'Check connectivity to logstream.proofpoint.com (DNS, proxy, firewall; WebSockets over 443); Tributary retries.',
        ),
      ),
    );
  });
}

function refused(status: number, waitMs?: number): TributaryError {
  if (status === 401)
    return configError(
      'pod_invalid_key',
      'Proofpoint on Demand refused the API key (401).',
      'Create a new key in the PoD admin portal under Settings → API Key Management and update the account.',
      401,
    );
  if (status === 403)
    return configError(
      'pod_forbidden',
      'Proofpoint on Demand refused the Log API to this key (403).',
      'Check the collector’s cluster ID (top right of the admin portal) and that the cluster has the Remote Syslog licence the Log API needs.',
      403,
    );
  if (status === 409)
    return transientError(
      'pod_session_in_use',
      'Proofpoint on Demand refused a second session on this API key (409): another consumer is connected with it.',
      'Proofpoint allows one session per key: give Tributary its own key (one per collector and log type), or stop the other consumer.',
      { status },
    );
  return transientError(
    status === 429 ? 'rate_limited' : 'vendor_unavailable',
    `Proofpoint on Demand refused the connection (${status}).`,
    'A vendor-side condition; Tributary retries.',
    { status, retryAfter: waitMs === undefined ? undefined : waitMs / 1000 },
  );
}

function stream(
  type: 'message' | 'maillog',
  title: string,
  description: string,
): StreamDef<PodSettings, PodAccount, PodCheckpoint> {
  return {
    title,
    description,
    async *read(ctx): AsyncGenerator<Batch<PodCheckpoint>> {
      const runStart = ctx.now();
      const oldest = runStart - REPLAY_MS + REPLAY_MARGIN_MS;
      const cp = ctx.checkpoint;
      let since = cp
        ? Date.parse(cp.since)
        : ctx.window.start
          ? Date.parse(ctx.window.start)
          : runStart - ctx.window.lookbackMs;
      let seen = new Set(cp?.seen ?? []);
      if (since < oldest) {
        if (cp)
          ctx.warn(
            gapWarning(
              'checkpoint_beyond_replay',
              `The saved position ${cp.since} is older than the hour Proofpoint on Demand replays; records between it and ${new Date(oldest).toISOString()} can no longer be read.`,
              'Run the collector more often than hourly, and find out why it was stopped or failing.',
            ),
          );
        since = oldest;
        seen = new Set();
      }
      let attempts = 0;
      let refreshed = false;
      for (;;) {
        let session: Session;
        try {
          session = await open(ctx, type, since, refreshed);
        } catch (err) {
          const e = err as TributaryError;
          if (e.status === 401 && !refreshed) {
            refreshed = true; // once, as the HTTP client does
            continue;
          }
          if (e.type === 'config' || ++attempts > MAX_RECONNECTS) throw e;
          await sleep(
            Math.min(
              60_000,
              e.retryAfter !== undefined ? e.retryAfter * 1000 : backoff(attempts, 500, 30_000),
            ),
            ctx.signal,
          );
          continue;
        }
        let caughtUp = false;
        let dropped = false;
        let delivered = 0;
        try {
          while (!caughtUp && !dropped) {
            const first = await session.next(ctx.settings.idleMs, ctx.signal);
            ctx.signal.throwIfAborted();
            if ('idle' in first) {
              caughtUp = true;
              break;
            }
            if ('closed' in first) {
              dropped = true;
              break;
            }
            const texts = [first.message, ...session.drain(ctx.settings.batchSize - 1)];
            const events: RawEvent[] = [];
            const deadLetters: Array<{ raw: unknown; reason: string }> = [];
            for (const text of texts) {
              let rec: any;
              try {
                rec = JSON.parse(text);
              } catch {
                deadLetters.push({ raw: text, reason: 'a Log API message that is not JSON' });
                continue;
              }
              const id =
                typeof rec?.id === 'string' ? rec.id : typeof rec?.guid === 'string' ? rec.guid : hashId(rec);
              const iso = toIsoTime(
                typeof rec?.ts === 'string' ? rec.ts.replace(/([+-]\d\d)(\d\d)$/, '$1:$2') : rec?.ts,
              );
              const t = iso ? Date.parse(iso) : undefined;
              if (t !== undefined && t === since && seen.has(id)) continue; // replayed at the position
              events.push({ raw: new RawJson(text), id, time: iso });
              if (t !== undefined && t > since) {
                since = t;
                seen = new Set();
              }
              if (t !== undefined && t === since) seen.add(id);
              if (t !== undefined && t >= runStart) caughtUp = true;
            }
            delivered += events.length;
            yield {
              events,
              deadLetters,
              checkpoint: { since: new Date(since).toISOString(), seen: [...seen] },
              pages: 1,
            };
            if (session.overflowed) return; // the next run replays from the committed position
          }
        } finally {
          await session.close();
        }
        if (caughtUp) return;
        if (delivered > 0) attempts = 0; // a session that moved the position: only failures in a row count
        if (++attempts > MAX_RECONNECTS)
          throw transientError(
            'pod_connection_dropped',
            `The Proofpoint on Demand Log API closed the ${type} stream ${attempts} times in this run.`,
            'The next run reconnects from the last delivered record; if it repeats, check the network path (proxies that cut WebSockets).',
          );
        if (delivered === 0) await sleep(backoff(attempts, 500, 10_000), ctx.signal); // at once after progress
      }
    },
  };
}

export default defineSource<PodSettings, PodAccount>({
  id: 'proofpoint-on-demand',
  title: 'Proofpoint on Demand',
  account: 'proofpoint-on-demand',
  stability: 'early-access',
  family: 'queue',
  description:
    'Proofpoint on Demand (PPS) email filter logs (message: sender, recipients, verdicts, policies, actions) and MTA logs (maillog), streamed from the PoD Log API.',
  setupGuide: [
    '1. The cluster needs the **Remote Syslog** licence (the Log API is part of it).',
    '2. In the PoD admin portal, copy the **cluster ID** (top right, beside the version number).',
    '3. **Settings → API Key Management → Create New**: name it (e.g. Tributary), generate, then **View Details** and',
    '   copy the key.',
    '4. Create a **Proofpoint on Demand** account with the key, then the collector with the cluster ID.',
    '',
    'Proofpoint allows **one session per key**: give Tributary its own key, and do not run two collectors (or',
    'another tool) with the same key. In cluster mode a collector runs on one worker at a time.',
    '',
    'Early access: the Log API’s documentation is not public; the endpoint, the one-hour replay and the record',
    'shapes follow what integrations state. Each run connects, replays from the last delivered record and ends',
    'when caught up (a long-running stream consumer is not yet in the engine): run it every few minutes, and',
    'at least hourly, or records older than the replay hour are lost (reported as a gap).',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<PodSettings>,
  streams: {
    message: stream(
      'message',
      'Message (filter) logs',
      'One record per message: envelope, headers, filter verdicts and actions.',
    ),
    maillog: stream('maillog', 'MTA logs (maillog)', 'The sendmail MTA log lines with their parsed fields.'),
  },
  async test({ settings: s, account, http, signal, streams }) {
    // Connect, see the handshake accepted, and leave: nothing is read, nothing is saved.
    const ctx = { settings: s, account, http, signal } as ReadContext<PodSettings, PodAccount>;
    for (const type of (streams.length ? streams : ['message']) as Array<'message' | 'maillog'>) {
      const session = await open(ctx, type, Date.now() - 60_000, false);
      await session.close();
    }
  },
});
