import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

/**
 * A Splunk HTTP Event Collector, as Splunk documents it (help.splunk.com, Splunk Enterprise, Get Data In,
 * "Collect HTTP event data"):
 *
 * - "Format events for HTTP Event Collector"
 *   (https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector,
 *   "HEC token", "Event metadata"): `Authorization: Splunk <token>`; `/services/collector/event`
 *   (and `/services/collector`) takes JSON event objects back to back, each with `event` and optional
 *   `time`, `host`, `source`, `sourcetype`, `index`, `fields`; `/services/collector/raw` takes raw
 *   text, one event per line, with metadata in the query string.
 * - "Troubleshoot HTTP Event Collector"
 *   (https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/troubleshoot-http-event-collector),
 *   "Possible error codes": 200/0 Success, 401/2 Token is required,
 *   401/3 Invalid authorization, 403/1 Token disabled, 403/4 Invalid token, 400/5 No data, 400/6 Invalid
 *   data format, 400/7 Incorrect index, 400/10 Data channel is missing, 400/11 Invalid data channel,
 *   400/12 Event field is required, 400/13 Event field cannot be blank, 400/14 ACK is disabled, 503/9
 *   Server is busy; batches name the first bad event with `invalid-event-number`.
 * - "About HTTP Event Collector Indexer Acknowledgment"
 *   (https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/about-http-event-collector-indexer-acknowledgment,
 *   "How indexer acknowledgment works"): a token with acknowledgement on needs a
 *   channel (GUID, header `X-Splunk-Request-Channel` or query `channel`) on every request, answers each
 *   accepted request with an `ackId` (counting per channel from 0), and `POST /services/collector/ack`
 *   with `{"acks":[…]}` answers `{"acks":{"id":bool}}`.
 *
 * Decided by the simulator, where the pages are silent: events before an invalid one in a batch are indexed
 * (HEC reads a batch in order); an ackId reported true is released (a later query reports it false, as Splunk keeps
 * only acknowledged requests "pending query"); `Content-Encoding: gzip` bodies are accepted.
 *
 * Faults: `busy` (503 "Server is busy", with or without Retry-After, via the kit's status faults),
 * `invalid(event)` marks events HEC refuses as invalid data, `ackAfterPolls` turns ackIds true late,
 * `loseAcks` leaves them false for ever (the events are received but never indexed).
 */

export interface SplunkHecSimOptions {
  token?: string;
  /** The token has indexer acknowledgement on. */
  ack?: boolean;
  /** Indexes the token may write to; the first is its default index. */
  indexes?: string[];
  /** Keep each event's metadata and body (tests); otherwise ids and counts only (benchmarks). */
  keepEvents?: boolean;
}

export interface HecEvent {
  index: string;
  sourcetype?: string;
  source?: string;
  host?: string;
  time?: number;
  event: unknown;
}

interface Pending {
  events: HecEvent[];
  ids: string[];
  polls: number;
  lost: boolean;
}

const reply = (
  status: number,
  text: string,
  code: number,
  extra: Record<string, unknown> = {},
  headers = {},
) => json(status, { text, code, ...extra }, headers);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SplunkHecSimulator {
  readonly server = new SimServer({ name: 'splunk-hec' });
  token: string;
  ack: boolean;
  disabled = false;
  readonly indexes: string[];
  /** Events HEC refuses as "Invalid data format" (code 6). */
  invalid: (event: unknown) => boolean = () => false;
  /** Polls an ackId stays false before turning true. */
  ackAfterPolls = 0;
  /** Requests accepted from now on never get their ackId true (and their events are never indexed). */
  loseAcks = false;
  /** Indexed events (with ack: once their ackId turned true). */
  readonly events: HecEvent[] = [];
  /** Envelope ids of indexed events, in order, repeats included. */
  readonly ids: string[] = [];
  /** Envelope ids of every event received, acknowledged or not. */
  readonly received: string[] = [];
  bytes = 0;
  private readonly keep: boolean;
  private readonly channels = new Map<string, { next: number; pending: Map<number, Pending> }>();
  /** Ack queries answered. */
  ackQueries = 0;

  constructor(o: SplunkHecSimOptions = {}) {
    this.token = o.token ?? randomUUID();
    this.ack = o.ack ?? false;
    this.indexes = o.indexes ?? ['main'];
    this.keep = o.keepEvents ?? true;
    this.server.hooks = {
      errorReply: (_req, status) =>
        status === 503
          ? reply(503, 'Server is busy', 9)
          : status === 404
            ? reply(404, 'The requested URL was not found on this server.', 404)
            : reply(status, status >= 500 ? 'Internal server error' : 'Bad request', status >= 500 ? 8 : 6),
    };
    for (const path of ['/services/collector', '/services/collector/event', '/services/collector/event/1.0'])
      this.server.route('POST', path, (req) => this.ingest(req, 'event'));
    this.server.route('POST', '/services/collector/raw', (req) => this.ingest(req, 'raw'));
    this.server.route('POST', '/services/collector/ack', (req) => this.acks(req));
    this.server.route('GET', '/services/collector/health', () => reply(200, 'HEC is healthy', 17));
  }

  get url(): string {
    return this.server.url;
  }
  start(): Promise<string> {
    return this.server.start();
  }
  stop(): Promise<void> {
    return this.server.stop();
  }
  /** 503 "Server is busy" for the next `times` requests, with Retry-After when given. */
  busy(times = 1, retryAfter?: number): void {
    this.server.inject({
      kind: 'status',
      status: 503,
      times,
      path: /^\/services\/collector(\/event|\/raw)?/,
      body: { text: 'Server is busy', code: 9 },
      headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
    });
  }

  /** Requests whose ackId has not turned true yet (lost ones included). */
  pendingAcks(): number {
    let n = 0;
    for (const c of this.channels.values()) n += c.pending.size;
    return n;
  }

  private auth(req: SimRequest): SimReply | undefined {
    const h = req.headers.authorization;
    if (!h) return reply(401, 'Token is required', 2);
    const m = /^Splunk\s+(\S+)$/.exec(String(h));
    if (!m) return reply(401, 'Invalid authorization', 3);
    if (m[1] !== this.token) return reply(403, 'Invalid token', 4);
    if (this.disabled) return reply(403, 'Token disabled', 1);
    return undefined;
  }

  private channelOf(req: SimRequest): { id?: string; refusal?: SimReply } {
    const id =
      (req.headers['x-splunk-request-channel'] as string | undefined) ??
      req.query.get('channel') ??
      undefined;
    if (!this.ack) return { id };
    if (!id) return { refusal: reply(400, 'Data channel is missing', 10) };
    if (!GUID.test(id)) return { refusal: reply(400, 'Invalid data channel', 11) };
    return { id };
  }

  private body(req: SimRequest): string {
    const raw = req.headers['content-encoding'] === 'gzip' ? gunzipSync(req.body) : req.body;
    this.bytes += raw.byteLength;
    return raw.toString('utf8');
  }

  private ingest(req: SimRequest, endpoint: 'event' | 'raw'): SimReply {
    const refused = this.auth(req);
    if (refused) return refused;
    const channel = this.channelOf(req);
    if (channel.refusal) return channel.refusal;
    const text = this.body(req);
    const events: HecEvent[] = [];
    let invalidAt: { n: number; text: string; code: number } | undefined;
    if (endpoint === 'raw') {
      const index = req.query.get('index') ?? this.indexes[0]!;
      if (!this.indexes.includes(index))
        return reply(400, 'Incorrect index', 7, { 'invalid-event-number': 0 });
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let event: unknown = line;
        try {
          event = JSON.parse(line);
        } catch {
          /* raw text stays text */
        }
        events.push({
          index,
          sourcetype: req.query.get('sourcetype') ?? undefined,
          source: req.query.get('source') ?? undefined,
          host: req.query.get('host') ?? undefined,
          event,
        });
      }
    } else {
      const objects = splitObjects(text);
      if (objects === undefined) return reply(400, 'Invalid data format', 6, { 'invalid-event-number': 0 });
      for (const [n, o] of objects.entries()) {
        if (o === undefined || typeof o !== 'object' || o === null) {
          invalidAt = { n, text: 'Invalid data format', code: 6 };
          break;
        }
        const e = o as Record<string, unknown>;
        if (!('event' in e)) {
          invalidAt = { n, text: 'Event field is required', code: 12 };
          break;
        }
        if (e.event === '' || e.event === null) {
          invalidAt = { n, text: 'Event field cannot be blank', code: 13 };
          break;
        }
        const index = typeof e.index === 'string' ? e.index : this.indexes[0]!;
        if (!this.indexes.includes(index)) {
          invalidAt = { n, text: 'Incorrect index', code: 7 };
          break;
        }
        if (this.invalid(e.event)) {
          invalidAt = { n, text: 'Invalid data format', code: 6 };
          break;
        }
        events.push({
          index,
          sourcetype: e.sourcetype as string | undefined,
          source: e.source as string | undefined,
          host: e.host as string | undefined,
          time: typeof e.time === 'number' ? e.time : e.time === undefined ? undefined : Number(e.time),
          event: e.event,
        });
      }
    }
    if (!events.length && !invalidAt) return reply(400, 'No data', 5);
    const ids = events.map((e) => String((e.event as { id?: unknown })?.id ?? ''));
    this.received.push(...ids);
    // Events before an invalid one are taken (assumed, see the module comment).
    if (invalidAt) {
      this.index(events, ids);
      return reply(400, invalidAt.text, invalidAt.code, { 'invalid-event-number': invalidAt.n });
    }
    if (!this.ack) {
      this.index(events, ids);
      return reply(200, 'Success', 0);
    }
    let c = this.channels.get(channel.id!);
    if (!c) this.channels.set(channel.id!, (c = { next: 0, pending: new Map() }));
    const ackId = c.next++;
    c.pending.set(ackId, { events, ids, polls: 0, lost: this.loseAcks });
    return reply(200, 'Success', 0, { ackId });
  }

  private index(events: HecEvent[], ids: string[]): void {
    this.ids.push(...ids);
    if (this.keep) this.events.push(...events);
  }

  private acks(req: SimRequest): SimReply {
    const refused = this.auth(req);
    if (refused) return refused;
    if (!this.ack) return reply(400, 'ACK is disabled', 14);
    const channel = this.channelOf(req);
    if (channel.refusal) return channel.refusal;
    let asked: unknown;
    try {
      asked = JSON.parse(this.body(req)).acks;
    } catch {
      return reply(400, 'Invalid data format', 6);
    }
    if (!Array.isArray(asked)) return reply(400, 'Invalid data format', 6);
    this.ackQueries++;
    const c = this.channels.get(channel.id!);
    const out: Record<string, boolean> = {};
    for (const id of asked) {
      const p = c?.pending.get(Number(id));
      if (!p || p.lost || p.polls++ < this.ackAfterPolls) {
        out[String(id)] = false;
        continue;
      }
      c!.pending.delete(Number(id)); // released once reported (assumed)
      this.index(p.events, p.ids);
      out[String(id)] = true;
    }
    return json(200, { acks: out });
  }
}

/** Splits back-to-back JSON values (HEC's batch format); undefined when the text is not such a list. */
function splitObjects(text: string): unknown[] | undefined {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}') {
      if (--depth === 0) {
        try {
          out.push(JSON.parse(text.slice(start, i + 1)));
        } catch {
          out.push(undefined);
        }
      }
    } else if (depth === 0 && !/\s/.test(ch!)) return out.length ? [...out, undefined] : undefined;
  }
  return out;
}
