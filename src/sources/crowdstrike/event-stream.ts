import type { CrowdStrikeAccount } from '../../accounts/crowdstrike.ts';
import { gapWarning, transientError } from '../../core/errors.ts';
import type { ReadContext, StreamDef } from '../../core/source.ts';
import { LineFeed } from '../../engine/line-feed.ts';
import { consumerStream, type PartitionedSource, type StreamRecord } from '../../engine/stream-consumer.ts';

/**
 * CrowdStrike Event Streams: a long-lived feed per partition, read by the stream consumer (one owner per
 * partition, its offset committed after delivery). Vendor facts (Event Streams service collection in
 * CrowdStrike's SDK documentation — crimson-falcon docs/EventStreams.md, falconpy "Event Streams" — and the SDKs'
 * streaming clients, gofalcon `falcon.NewStream`):
 *
 * - Discovery, `GET /sensors/entities/datafeed/v2?appId=…&format=json` (scope **Event streams: Read**): one
 *   resource per partition with `dataFeedURL` (its last path segment is the partition), `sessionToken {token,
 *   expiration}`, `refreshActiveSessionURL` and `refreshActiveSessionInterval` (seconds). `appId` is "Label that
 *   identifies your connection. Max: 32 alphanumeric characters"; each running consumer needs its own.
 * - The feed, `GET {dataFeedURL}&offset=N` with `Authorization: Token {sessionToken}` (not the OAuth token): a
 *   response that stays open, one JSON event a line; "The offset value can then be used to skip seen events,
 *   should the stream disconnect. Users are advised to use zero (0) value at start. Each event then contains its
 *   own offset" (`metadata.offset`; `metadata.eventCreationTime` in ms, `eventType`, `customerIDString`).
 * - The session is kept alive with `POST {refreshActiveSessionURL}` (`action_name=refresh_active_stream_session`,
 *   OAuth bearer); the SDKs call it at nine tenths of the interval. It changes no Falcon data (a read-only
 *   call to Tributary's HTTP client).
 *
 * How it reads. The position of a partition is the offset of the last event delivered; a read asks the open feed
 * for the next lines, and (re)connects at `position + 1` when there is no feed, the feed ended (a drop, the
 * session's end) or the consumer asks from elsewhere (a batch read again after a destination outage, a
 * partition taken over). A feed lives at most one session interval; a refused session token or refresh makes the
 * next read discover afresh. Ids are `{partition}:{offset}`, stable across reconnects. Nothing is read ahead of
 * what the consumer asks: the rest waits in the socket.
 */

interface Stream {
  url: string;
  token: string;
  refreshUrl: string;
  intervalMs: number;
  refreshAt: number;
}

interface Open {
  feed: LineFeed;
  /** The offset the feed sends next. */
  next: number;
}

/** At most this long for a read to wait for the first line of a quiet feed. */
const WAIT_MS = 1000;

export function eventStream<S extends { appId?: string }>(o: {
  api: (ctx: ReadContext<S, CrowdStrikeAccount>) => string;
}): StreamDef<S, CrowdStrikeAccount> {
  return consumerStream<S, CrowdStrikeAccount>({
    title: 'Event stream',
    description:
      'Event Streams: detection summaries, authentication and user-activity audit events and more, as they happen (a long-lived feed per partition).',
    consume(ctx): PartitionedSource<number> {
      const appId = appIdOf(ctx.settings.appId, ctx.collector);
      let streams: Map<string, Stream> | undefined;
      const open = new Map<string, Open>();

      async function discover(): Promise<Map<string, Stream>> {
        const { body } = await ctx.http.getJson(`${o.api(ctx)}/sensors/entities/datafeed/v2`, {
          appId,
          format: 'json',
        });
        const found = new Map<string, Stream>();
        for (const r of Array.isArray(body?.resources) ? body.resources : []) {
          const url = typeof r?.dataFeedURL === 'string' ? r.dataFeedURL : undefined;
          const partition = url ? new URL(url).pathname.split('/').at(-1) : undefined;
          const token = r?.sessionToken?.token;
          if (
            !url ||
            !partition ||
            typeof token !== 'string' ||
            typeof r.refreshActiveSessionURL !== 'string'
          )
            continue;
          const intervalMs = Math.max(60, Number(r.refreshActiveSessionInterval) || 1800) * 1000;
          found.set(partition, {
            url,
            token,
            refreshUrl: r.refreshActiveSessionURL,
            intervalMs,
            refreshAt: ctx.now() + intervalMs * 0.9,
          });
        }
        streams = found;
        return found;
      }

      async function close(partition: string): Promise<void> {
        const c = open.get(partition);
        open.delete(partition);
        await c?.feed.close();
      }

      /** The partition's session, refreshed when due; a refused refresh means a new session. */
      async function session(partition: string): Promise<Stream> {
        let s = streams?.get(partition) ?? (await discover()).get(partition);
        if (!s)
          throw transientError(
            'crowdstrike_stream_partition_gone',
            `CrowdStrike no longer lists partition ${partition} of the event stream.`,
            'None: the consumer lists the partitions again.',
          );
        if (ctx.now() >= s.refreshAt) {
          const res = await ctx.http.request({
            method: 'POST',
            // Keeps the session alive; changes no Falcon data (refreshActiveStreamSession).
            readOnly: true,
            url: s.refreshUrl,
            accept: [400, 404],
          });
          await res.body?.cancel();
          if (res.status >= 400) {
            await close(partition);
            s = (await discover()).get(partition) ?? s;
          } else s.refreshAt = ctx.now() + s.intervalMs * 0.9;
        }
        return s;
      }

      async function connect(partition: string, from: number): Promise<Open> {
        await close(partition);
        for (let attempt = 0; ; attempt++) {
          const s = await session(partition);
          const res = await ctx.http.request({
            url: s.url,
            query: { offset: from },
            // The session token, not the OAuth token, and only here.
            noAuth: true,
            headers: { authorization: `Token ${s.token}`, accept: 'application/json' },
            accept: [401],
            // The session token goes to the feed's own host only, never after a redirect.
            manualRedirect: true,
            // A feed lives one session at most; then it is opened again at the offset reached.
            timeoutMs: s.intervalMs,
          });
          if (res.status >= 300 && res.status < 400) {
            await res.body?.cancel();
            throw transientError(
              'crowdstrike_stream_redirected',
              `CrowdStrike's data feed for partition ${partition} answered ${res.status} with a redirect; Tributary does not send the session token after a redirect.`,
              "Check the account's cloud (its API host) and any proxy in between; Tributary tries again shortly.",
            );
          }
          if (res.status !== 401 && res.body) {
            const c = { feed: new LineFeed(res.body), next: from };
            open.set(partition, c);
            return c;
          }
          await res.body?.cancel();
          streams = undefined; // the session ended: discover again
          if (attempt >= 1)
            throw transientError(
              'crowdstrike_stream_session_refused',
              `CrowdStrike refused a fresh session token for partition ${partition} of the event stream.`,
              'Tributary tries again shortly. If it persists, check that no other consumer uses the same appId.',
            );
        }
      }

      return {
        kind: 'partitions',
        async partitions() {
          const found = await discover();
          for (const p of [...open.keys()]) if (!found.has(p)) await close(p);
          return [...found.keys()].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
        },
        async read(partition, position, { max, signal }) {
          const from = position === undefined ? 0 : position + 1;
          let c = open.get(partition);
          if (!c || c.next !== from || c.feed.ended) c = await connect(partition, from);
          else await session(partition); // refreshed when due, while the feed stays open
          const skippedBefore = c.feed.skipped;
          const { lines, ended } = await c.feed.take(max, WAIT_MS, signal);
          if (c.feed.skipped > skippedBefore)
            ctx.warn(
              gapWarning(
                'crowdstrike_stream_event_too_large',
                `An event of more than 8 MB on partition ${partition} of the event stream was skipped (after offset ${position ?? 'the start'}).`,
                'Report it to CrowdStrike with the partition and offset; the events after it are read.',
              ),
            );
          const records: StreamRecord[] = [];
          let last = position;
          for (const line of lines) {
            let raw: any;
            try {
              raw = JSON.parse(line);
            } catch {
              records.push({ raw: line }); // kept whole; the runtime hashes its id
              continue;
            }
            const offset = raw?.metadata?.offset;
            if (!Number.isSafeInteger(offset)) {
              records.push({ raw });
              continue;
            }
            if (offset < from) continue; // sent again from before the offset asked: already delivered
            const at = raw.metadata.eventCreationTime;
            records.push({
              raw,
              id: `${partition}:${offset}`,
              time: Number.isFinite(at) ? new Date(at).toISOString() : undefined,
            });
            last = offset;
          }
          if (last !== undefined) c.next = last + 1;
          if (ended) {
            await close(partition); // the next read opens it again at the offset reached
            const cause = c.feed.error as Error | undefined;
            // A feed ends at its session's length (the timeout) as a matter of course; another end that
            // brought nothing is reported, so a feed that keeps failing shows in the run's errors.
            if (cause && cause.name !== 'TimeoutError' && records.length === 0)
              throw transientError(
                'crowdstrike_stream_dropped',
                `CrowdStrike's data feed for partition ${partition} ended: ${String(cause.message ?? cause).slice(0, 200)}.`,
                'Tributary opens it again at the offset reached; if it repeats, check the network path to the feed host.',
              );
          }
          return { records, position: last };
        },
        async release(partition) {
          await close(partition);
        },
        async close() {
          await Promise.all([...open.keys()].map((p) => close(p)));
        },
      };
    },
  });
}

/** The connection's label: the setting, or one made from the collector (32 letters and digits at most). */
export function appIdOf(setting: string | undefined, collector: string): string {
  if (setting) return setting;
  return `tributary${collector.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 32);
}
