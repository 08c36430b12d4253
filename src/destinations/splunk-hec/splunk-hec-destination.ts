import { createHash } from 'node:crypto';
import type { Destination, SendResult } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { configError, transientError } from '../../core/errors.ts';
import { retryAfterMs } from '../../engine/http.ts';
import { chunk, eachChunk, encodeBody, HttpDelivery, utf8Bytes, type Verdict } from '../http-delivery.ts';
import { envelopeLine } from '../ndjson.ts';
import type { SplunkHecDestinationConfig } from './index.ts';

/**
 * Splunk HTTP Event Collector, as Splunk documents it (help.splunk.com, Get Data In → "Format events for
 * HTTP Event Collector", "About HTTP Event Collector Indexer Acknowledgment", "Troubleshoot HTTP Event
 * Collector" → possible error codes):
 *
 * - `POST /services/collector/event` takes JSON event objects one after the other (`time` in epoch
 *   seconds, `host`, `source`, `sourcetype`, `index`, `event`); `POST /services/collector/raw` takes
 *   raw text, one event per line, its metadata in the query string. `Authorization: Splunk <token>`.
 * - Answers carry `{"text","code"}`: 200/0 Success; 400/5 No data, 6 Invalid data format, 7 Incorrect
 *   index, 10 Data channel is missing, 11 Invalid data channel, 12 Event field is required, 13 Event
 *   field cannot be blank, 14 ACK is disabled, 15 Error in handling indexed fields; 401/2 Token is
 *   required, 3 Invalid authorization; 403/1 Token disabled, 4 Invalid token; 500/8 Internal server
 *   error; 503/9 Server is busy. For a batch, `invalid-event-number` is the index of the first event
 *   HEC could not take.
 * - Indexer acknowledgement (per token, Splunk Enterprise): every request carries a channel (a GUID,
 *   `X-Splunk-Request-Channel`), each accepted request answers an `ackId`, and `POST
 *   /services/collector/ack?channel=…` with `{"acks":[ids]}` answers `{"acks":{"id":true|false}}`. The
 *   200 alone means only that the data looked valid.
 *
 * Decisions (docs/destinations.md, "splunk-hec"):
 * - Without acknowledgement the 200 acknowledges. With it, every request's ackId must turn true within
 *   `ackTimeoutMs`; otherwise `send` fails as transient and the runtime sends the whole batch again,
 *   with the same envelope ids (Splunk does not de-duplicate: the copy is indexed twice).
 * - An invalid event (codes 6, 12, 13, 15 with `invalid-event-number`) is dead-lettered with Splunk's
 *   text and the rest of the request is sent again without it. Splunk may already have taken the
 *   events before it (assumed: HEC reads a batch in order); they are sent again rather than risk
 *   losing them, so they can appear twice, with the same ids. Incorrect index (7) is a config error:
 *   every event goes to the same index.
 * - 503 (server busy, with or without Retry-After) and 5xx are retried; 401/403 are config errors.
 */
export class SplunkHecDestination implements Destination {
  readonly kind = 'splunk-hec';
  readonly name: string;
  private readonly c: SplunkHecDestinationConfig;
  private readonly delivery: HttpDelivery;
  private readonly base: string;
  readonly channel: string;

  constructor(name: string, config: SplunkHecDestinationConfig) {
    this.name = name;
    this.c = config;
    this.base = config.url.replace(/\/+$/, '').replace(/\/services\/collector(\/(event|raw)(\/1\.0)?)?$/, '');
    this.delivery = new HttpDelivery(name, this.base, config);
    this.channel = config.channel ?? channelFor(name);
  }

  private headers(): Headers {
    const h = new Headers({
      authorization: `Splunk ${this.c.token}`,
      'x-splunk-request-channel': this.channel,
      'content-type': this.c.endpoint === 'raw' ? 'text/plain; charset=utf-8' : 'application/json',
    });
    if (this.c.gzip) h.set('content-encoding', 'gzip');
    return h;
  }

  /** The events of one request: JSON event objects, or raw lines. */
  private lines(events: Envelope[]): string[] {
    if (this.c.endpoint === 'raw') return events.map(envelopeLine);
    const fixed = `${this.c.index ? `,"index":${JSON.stringify(this.c.index)}` : ''},"sourcetype":${JSON.stringify(this.c.sourcetype)}`;
    // host and source are the same for every event of a collector's stream: encoded once per batch
    let key = '';
    let meta = '';
    return events.map((e) => {
      const ms = Date.parse(e.time);
      const time = Number.isFinite(ms) ? (ms / 1000).toFixed(3) : (Date.now() / 1000).toFixed(3);
      const k = `${e.collector}\u0000${e.source}\u0000${e.stream}`;
      if (k !== key) {
        key = k;
        const host = JSON.stringify(this.c.host ?? e.collector);
        const source = JSON.stringify(this.c.source ?? `${e.source}:${e.stream}`);
        meta = `,"host":${host},"source":${source}${fixed},"event":`;
      }
      return `{"time":${time}${meta}${envelopeLine(e)}}`;
    });
  }

  private url(first: Envelope | undefined): string {
    if (this.c.endpoint !== 'raw') return `${this.base}/services/collector/event`;
    const q = new URLSearchParams({ channel: this.channel, sourcetype: this.c.sourcetype });
    if (this.c.index) q.set('index', this.c.index);
    const source = this.c.source ?? (first ? `${first.source}:${first.stream}` : undefined);
    const host = this.c.host ?? first?.collector;
    if (source) q.set('source', source);
    if (host) q.set('host', host);
    return `${this.base}/services/collector/raw?${q}`;
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<SendResult | undefined> {
    const lines = this.lines(events);
    const items = events.map((event, i) => ({ event, line: lines[i]! }));
    const { chunks } = chunk(items, (i) => utf8Bytes(i.line), {
      maxBytes: this.c.maxBatchBytes,
      maxItems: this.c.maxBatchEvents,
      separator: 1,
    });
    const rejected: Array<{ event: Envelope; reason: string }> = [];
    const acks: number[] = [];
    await eachChunk(chunks, (c) =>
      this.delivery.partial(
        c,
        async (left) => {
          const r = await this.post(left, signal);
          if (!('invalid' in r)) {
            if (r.ackId !== undefined) acks.push(r.ackId);
            return { again: [], retryable: false };
          }
          const bad = left[r.invalid]!;
          rejected.push({ event: bad.event, reason: `Splunk HEC ${r.reason}` });
          return { again: left.filter((x) => x !== bad), retryable: false };
        },
        signal,
      ),
    );
    if (this.c.ack && acks.length) await this.awaitAcks(acks, signal);
    return rejected.length ? { rejected } : undefined;
  }

  /** One request until HEC takes it (its ackId) or names an invalid event (its index in `items`). */
  private async post(items: Array<{ event: Envelope; line: string }>, signal: AbortSignal): Promise<Posted> {
    const body = await encodeBody(items.map((i) => i.line).join('\n'), this.c.gzip);
    const headers = this.headers();
    const url = this.url(items[0]?.event);
    return this.delivery.exchange<Posted>(
      () => ({ url, headers, body }),
      (a) => {
        const reply = a.json<HecReply>() ?? {};
        if (a.status === 200 && (reply.code === undefined || reply.code === 0)) {
          if (this.c.ack && typeof reply.ackId !== 'number')
            throw configError(
              'splunk_ack_disabled',
              `Splunk HEC at ${this.delivery.origin} answered without an ackId: indexer acknowledgement is off for this token.`,
              `Enable indexer acknowledgement on the HEC token, or turn off ack on destination ${this.name}.`,
            );
          return { ok: { ackId: typeof reply.ackId === 'number' ? reply.ackId : undefined } };
        }
        return this.refusal(a.status, reply, items.length, a.headers);
      },
      signal,
    );
  }

  /** What a non-success answer means: retry, an invalid event, or a config error. */
  private refusal(
    status: number,
    reply: HecReply,
    count: number,
    headers: Headers,
  ): Verdict<{ invalid: number; reason: string }> {
    const said = reply.text
      ? `${reply.text}${reply.code !== undefined ? ` (code ${reply.code})` : ''}`
      : undefined;
    if (status === 503 || status === 429 || status >= 500 || status === 408)
      return {
        retry: `HTTP ${status}${said ? `: ${said}` : ''}`,
        retryAfterMs: retryAfterMs(headers.get('retry-after'), Date.now()),
      };
    const n = reply['invalid-event-number'];
    if (
      status === 400 &&
      [6, 12, 13, 15].includes(reply.code ?? -1) &&
      this.c.endpoint === 'event' &&
      typeof n === 'number' &&
      n >= 0 &&
      n < count
    )
      return { ok: { invalid: n, reason: said ?? 'Invalid data format' } };
    const action =
      status === 401 || status === 403
        ? `Check the HEC token of destination ${this.name}: it must exist and be enabled${reply.code === 1 ? ' (it is disabled)' : ''}.`
        : reply.code === 7
          ? `Add index ${this.c.index ?? '(the default)'} to the HEC token's allowed indexes, or fix the index of destination ${this.name}.`
          : reply.code === 14
            ? `Enable indexer acknowledgement on the HEC token, or turn off ack on destination ${this.name}.`
            : status === 413
              ? `Lower maxBatchBytes of destination ${this.name} (Splunk's max_content_length).`
              : status === 404
                ? `Check the URL of destination ${this.name}: HEC must be enabled and listening there.`
                : `Check the settings of destination ${this.name}.`;
    throw this.delivery.rejected(status, action, said);
  }

  /**
   * Polls the acknowledgement endpoint until every ackId is true (HEC reports an id true once; it is
   * remembered here), or `ackTimeoutMs` passes: then a transient error, and the runtime sends the
   * batch again.
   */
  private async awaitAcks(ids: number[], signal: AbortSignal): Promise<void> {
    const pending = new Set(ids);
    const deadline = Date.now() + this.c.ackTimeoutMs;
    const headers = this.headers();
    headers.set('content-type', 'application/json');
    headers.delete('content-encoding');
    const url = `${this.base}/services/collector/ack?${new URLSearchParams({ channel: this.channel })}`;
    for (;;) {
      const body = Buffer.from(JSON.stringify({ acks: [...pending] }));
      const status = await this.delivery.exchange(
        () => ({ url, headers, body }),
        (a) => {
          const reply = a.json<{ acks?: Record<string, boolean> } & HecReply>() ?? {};
          if (a.status === 200 && reply.acks && typeof reply.acks === 'object') return { ok: reply.acks };
          return this.refusal(a.status, reply, 0, a.headers) as Verdict<never>;
        },
        signal,
      );
      for (const [id, done] of Object.entries(status)) if (done === true) pending.delete(Number(id));
      if (!pending.size) return;
      if (Date.now() + this.c.ackPollMs > deadline)
        throw transientError(
          'splunk_ack_timeout',
          `Splunk did not confirm indexing of ${pending.size} request(s) to destination ${this.name} within ${Math.round(this.c.ackTimeoutMs / 1000)} s.`,
          `The batch is sent again with the same event ids. If it persists, check the indexers' health and queues, or raise ackTimeoutMs of destination ${this.name}.`,
        );
      await this.delivery.wait(0, this.c.ackPollMs, signal);
    }
  }

  /**
   * Test: an empty POST to the event endpoint (HEC checks the token first: 401/403, then answers
   * 400 "No data"); with acknowledgement, an empty acknowledgement query, which HEC refuses with
   * code 14 when the token has it off.
   */
  async test(signal: AbortSignal): Promise<void> {
    const once = new HttpDelivery(this.name, this.base, { ...this.c, maxAttempts: 1 });
    const headers = this.headers();
    headers.delete('content-encoding');
    headers.set('content-type', 'application/json');
    const judge = (a: { status: number; json<T>(): T | undefined; headers: Headers }) => {
      const reply = a.json<HecReply>() ?? {};
      if (a.status === 200 || (a.status === 400 && reply.code === 5)) return { ok: true as const };
      return this.refusal(a.status, reply, 0, a.headers) as Verdict<never>;
    };
    await once.exchange(
      () => ({ url: `${this.base}/services/collector/event`, headers, body: Buffer.alloc(0) }),
      judge,
      signal,
    );
    if (this.c.ack)
      await once.exchange(
        () => ({
          url: `${this.base}/services/collector/ack?${new URLSearchParams({ channel: this.channel })}`,
          headers,
          body: Buffer.from('{"acks":[]}'),
        }),
        judge,
        signal,
      );
  }

  async close(): Promise<void> {}
}

type Posted = { ackId?: number } | { invalid: number; reason: string };

interface HecReply {
  text?: string;
  code?: number;
  ackId?: number;
  'invalid-event-number'?: number;
}

/** A GUID derived from the destination's name: the same channel after every restart. */
export function channelFor(name: string): string {
  const h = createHash('sha256').update(`tributary/splunk-hec/${name}`).digest('hex');
  const v = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${v}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
