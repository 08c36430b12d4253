import type { z } from 'zod';
import type { ContextFields } from './envelope.ts';
import type { ErrorInfo, TributaryError } from './errors.ts';
import { type SecretSpec, secretSpecOf } from './secret-spec.ts';
import type { ConsumerSource } from './stream-source.ts';

/** One record read from a vendor, before the runtime wraps it in the envelope. */
export interface RawEvent {
  raw: unknown;
  /** The vendor's unique id; the runtime hashes the record when absent. */
  id?: string;
  /** The event's own time (UTC ISO-8601); the runtime uses ingest time when absent. */
  time?: string;
  /** A context record's fields (engine/context-snapshot.ts sets them); absent on events. */
  context?: ContextFields;
  /**
   * The id is the event's place, made by the engine (an object's id and the record's number in it): no other
   * event of the run can have it, so the runner does not remember it for its in-run de-duplication.
   */
  positional?: true;
}

export interface DeadLetter {
  raw: unknown;
  reason: string;
}

/**
 * What a stream yields: events, and the checkpoint that is safe to commit once every destination has
 * acknowledged them (and everything yielded before). The runtime commits it; sources never write state.
 */
export interface Batch<C = unknown> {
  events: RawEvent[];
  checkpoint: C;
  deadLetters?: DeadLetter[];
  /** Vendor pages (or files) this batch consumed, for run statistics. */
  pages?: number;
  /**
   * Called by the runner once this batch's checkpoint is committed (every destination acknowledged it and
   * everything before it): the place for an acknowledgement the vendor keeps — deleting a queue message
   * whose objects are all delivered. Not called when the batch is not committed (a crash, an outage); a
   * failure is logged and the run goes on, so the acknowledgement must be safe to repeat or to miss (the
   * vendor redelivers, and the checkpoint says the work is done).
   */
  committed?: () => Promise<void>;
  /**
   * Called by the runner once this batch is delivered and its checkpoint committed (after `committed`):
   * the source may let go of what the batch holds. A reader of a large file empties the batch's events
   * here, which an async generator would otherwise keep alive (the value of its last `yield` stays in a
   * register) until it has read the next batch. Only the runner calls it: other readers of `read` keep
   * the batches as they were given.
   */
  release?: () => void;
}

export interface HttpRequest {
  method?: 'GET' | 'HEAD' | 'POST';
  url: string;
  query?: Record<string, string | number | boolean | undefined | Array<string | number>>;
  headers?: Record<string, string>;
  body?: string;
  /** POST is refused unless the caller states the call only reads (token endpoints, query APIs). */
  readOnly?: boolean;
  /**
   * A POST that changes vendor state, allowed only with the reason the source gives for it; every such
   * call must also be listed in the source's `vendorWrites` (collectors only read: docs/architecture.md, HTTP).
   */
  vendorWrite?: string;
  /** Do not send the account's credentials (signed URLs, public endpoints). */
  noAuth?: boolean;
  /** Return 3xx responses instead of following them. */
  manualRedirect?: boolean;
  /** Statuses the caller handles itself instead of the client's classification. */
  accept?: number[];
  /**
   * What a retry after a failed attempt sends instead (its query merged over this one's): for requests the
   * vendor may already have acted on when the answer was lost — Netskope's iterator `next`, retried as
   * `resend` so that the page it handed out is not skipped.
   */
  retryAs?: { query?: HttpRequest['query'] };
  /** Ends this request early (a long poll a graceful stop need not wait for), besides the client's own signal. */
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  url: string;
  headers: Headers;
  /** The body as a web stream; consume it once, or call text()/json(). */
  body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
  json<T = any>(): Promise<T>;
}

/**
 * Reads a JSON answer some other way than parsing it whole (engine/json-page.ts scans pages of records),
 * inside the same retry loop: `read` gives the value, `json` the part of it that is parsed JSON, where a
 * rate limit told in the body would be (the client's `rateLimitedBody`).
 */
export interface JsonReader<T> {
  read(response: HttpResponse): Promise<T>;
  json(value: T): unknown;
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
  /** GET and parse JSON in one go. */
  getJson<T = any>(
    url: string,
    query?: HttpRequest['query'],
    headers?: Record<string, string>,
  ): Promise<{ body: T; response: HttpResponse }>;
  /**
   * Any request (a read-only POST query) with its JSON answer parsed inside the retry loop, so a body
   * cut off mid-stream is retried like a network error.
   */
  requestJson<T = any>(
    req: HttpRequest,
    reader?: JsonReader<T>,
  ): Promise<{ body: T; response: HttpResponse }>;
  /**
   * Any request with its whole body read inside the retry loop (a file fetched whole: a body cut off
   * mid-stream is retried like a network error), refused past `maxBytes`.
   */
  requestBytes(req: HttpRequest, maxBytes: number): Promise<{ bytes: Buffer; response: HttpResponse }>;
  /**
   * The account's credentials for a connection this client does not make itself (a WebSocket upgrade to
   * `wss://…`), after the same checks as a request: the egress policy, and the origins the account's
   * credentials may go to (`wss:`/`ws:` checked as `https:`/`http:`). `refresh` after a refusal, as on a 401.
   */
  authorizeConnection(url: URL, refresh?: boolean): Promise<Headers>;
  /**
   * The HTTPS agent for a connection an SDK makes itself to `url` (Azure Storage), when the client was given
   * extra certificate authorities for that origin (`tlsTrust`: a test emulator's certificate made at test
   * time); undefined otherwise (the process's trust store, with verification always on).
   */
  httpsAgent?(url: URL): import('node:https').Agent | undefined;
  /**
   * The checks of `authorizeConnection` without asking the account for credentials: for an SDK that signs
   * with a credential of its own (an Entra token for Azure Storage), before it connects to `url`.
   */
  checkConnection?(url: URL): void;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Options common to every collector that decide where a first run starts and how windows behave. */
export interface WindowOptions {
  /** First run: start this many ms before now (ignored when `start` is set). */
  lookbackMs: number;
  /** First run: an absolute start time (ISO). */
  start?: string;
  /** Collector override of the stream's lag. */
  lagMs?: number;
  /** Collector override of the overlap re-read behind the watermark. */
  overlapMs?: number;
  /** The vendor's retention (from the source definition): older positions are moved up with a gap warning. */
  retention?: string;
}

/** What the HTTP client knows of a failed vendor response, for a source's `explain`. */
export interface VendorErrorContext {
  status: number;
  /** The vendor's own error message, extracted from the body (may be empty). */
  message: string;
  body: string;
  url: URL;
  /** The response headers (`WWW-Authenticate` tells an OAuth refusal from another). */
  headers?: Headers;
}

export interface ReadContext<S = any, A = any, C = any> {
  collector: string;
  stream: string;
  settings: S;
  account: A;
  /** The last committed checkpoint of this stream, or undefined on a first run / after a reset. */
  checkpoint: C | undefined;
  http: HttpClient;
  window: WindowOptions;
  signal: AbortSignal;
  log: Logger;
  now(): number;
  /** Report a gap or other warning without failing the run. */
  warn(err: TributaryError): void;
}

export interface StreamDef<S = any, A = any, C = any> {
  title: string;
  description?: string;
  read(ctx: ReadContext<S, A, C>): AsyncIterable<Batch<C>>;
  /**
   * The vendor holds the position and moves it when asked for the next page (Netskope's iterators): the
   * runner asks `read` for the next batch only after the previous one was delivered and committed, instead
   * of reading ahead. A crash then leaves at most the one page in flight to be asked again.
   */
  sequential?: boolean;
  /**
   * Batches read ahead of the one being delivered (default 4). A stream whose batches are parts of a
   * large file it parses itself (an artifact already downloaded: no vendor latency to hide) sets 0: the
   * next part is read once this one is delivered and committed, so that one part is alive at a time and
   * its records die in V8's young generation instead of filling the old one (README, Performance,
   * salesforce-eventlog).
   */
  readAhead?: number;
  /**
   * A long-running stream (Event Hubs, Pub/Sub, SQS): what the stream consumer reads
   * (engine/stream-consumer.ts). Bounded runs skip such a stream; the schedulers keep a consumer running
   * while the collector is enabled, and its `read` is never called (`consumerStream` gives one that yields nothing).
   */
  consume?(ctx: ReadContext<S, A, undefined>): ConsumerSource;
  /**
   * Context streams (engine/context-snapshot.ts, docs/architecture.md "Context records"): how the records
   * dead-lettered during a refresh (invalid at the source, or refused by a destination) are counted in the
   * checkpoint, so that the refresh's end-of-snapshot marker is withheld when any were, across runs too.
   * The runner delivers a batch holding a marker on its own, after every batch before it was committed.
   */
  snapshots?: SnapshotLedger<C>;
}

/** What the runner asks of a context stream's checkpoints about dead letters (StreamDef.snapshots). */
export interface SnapshotLedger<C = any> {
  /** The checkpoint to commit with a batch of which `deadLetters` records became dead letters, given the last committed one. */
  count(next: C, last: C | undefined, deadLetters: number): C;
  /** The records of refresh `snapshot` dead-lettered so far, according to the last committed checkpoint. */
  deadLetters(last: C | undefined, snapshot: string): number;
}

export type Stability = 'ga' | 'early-access';
export type Family =
  | 'rest-time-window'
  | 'rest-cursor'
  | 'files'
  | 'context'
  | 'queue'
  | 'object-storage'
  | 'query'
  | 'push';

/** How a push body is split into records: see engine/ingest/body.ts. */
export type BodyFormat = 'auto' | 'json' | 'raw';

/** What a push collector's settings say about its ingest endpoint; the engine enforces it. */
export interface IngestOptions {
  /** `json`: an object, an array of records, NDJSON or stacked JSON; `raw`: one event per line (a string); `auto`: json when the body starts with { or [. */
  format: BodyFormat;
  /** The stream stamped on every event the collector receives. */
  stream: string;
  /** Request body size limit as sent (compressed), in bytes. */
  maxBodyBytes: number;
  /** Body size limit after decompression, in bytes. */
  maxDecompressedBytes: number;
  /** Records (events and dead letters) one request may carry; more → 413, nothing delivered. */
  maxRecords: number;
  /** Deepest nesting of one JSON record; a deeper record is a dead letter. */
  maxDepth: number;
  /** Characters of one record's text; a longer record is a dead letter keeping its start. */
  maxRecordChars: number;
  /** Above this rate the endpoint answers 429 with Retry-After. */
  maxEventsPerSecond?: number;
  /**
   * Requests must carry an HMAC-SHA256 of the body in this header; the secret is the collector's
   * write-only setting, kept sealed beside its ingest tokens.
   */
  signatureHeader?: string;
}

/**
 * The receiving side of a push source (family `push`), in place of pull streams: vendors POST to the
 * collector's `/ingest/{collector}` endpoint and the engine (engine/ingest) authenticates, decodes,
 * envelopes, delivers and only then acknowledges. A source states the vendor facts: the record shape.
 */
export interface ReceiveDef<S = any> {
  options(settings: S): IngestOptions;
  /** The vendor's unique id of a record, or undefined: the record is hashed (docs/architecture.md, "The envelope"). */
  eventId(record: unknown, settings: S): string | undefined;
  /** The record's own time in any form `toIsoTime` reads, or undefined: ingest time. */
  eventTime(record: unknown, settings: S): unknown;
  /**
   * The top-level keys of a record that `eventId` and `eventTime` read, when they read nothing else. A
   * body of JSON objects is then scanned instead of parsed (engine/ingest/body.ts, `readRecords`), and
   * they are given an object holding only those keys.
   */
  fields?(settings: S): string[];
}

export interface TestContext<S = any, A = any> {
  settings: S;
  account: A;
  http: HttpClient;
  signal: AbortSignal;
  streams: string[];
}

export interface SourceDef<S = any, A = any> {
  id: string;
  title: string;
  /** The account kind whose credentials this source uses; '' for push sources (senders present the collector's ingest token). */
  account: string;
  stability: Stability;
  family: Family;
  description: string;
  /** Vendor-side prerequisites, shown before the form (Markdown). */
  setupGuide: string;
  /** The source's settings; the runtime adds `baseUrl`. */
  settings: z.ZodType<S>;
  /** Pull streams; a push source has none and `receive` instead. */
  streams: Record<string, StreamDef<S, A>>;
  /** Push sources only: what their ingest endpoint receives. The scheduler never runs them. */
  receive?: ReceiveDef<S>;
  /** Streams enabled when the collector names none (default: all). */
  defaultStreams?: (settings: S) => string[];
  /**
   * The settings and the streams checked together, once each is valid on its own, and what older
   * configs kept in the settings moved to the streams (`streamsInSettings`): the definition to store,
   * or issues as `path: message` with paths from the collector (`streams`, `settings.includeX`).
   */
  normalize?: (d: {
    settings: S;
    streams?: string[];
  }) => { settings: S; streams?: string[] } | { issues: string[] };
  /** Vendor retention: a checkpoint older than this is moved forward with a gap warning. */
  retention?: string;
  /**
   * The calls that change vendor state, each with why the source cannot work without it. Collectors only
   * read (docs/architecture.md, HTTP); a vendor that must be told to start producing data (the Office 365 Management
   * Activity API's subscriptions) is the exception, declared here and in the setup guide.
   */
  vendorWrites?: string[];
  /** Vendor-specific wording for error responses: recommended actions that name the vendor's settings. */
  explain?: (ctx: VendorErrorContext) => Partial<ErrorInfo> | undefined;
  /**
   * A vendor's rate-limit answer in another status than 429 (GitHub answers 403): returns the wait to use
   * when the response names none, or undefined when it is not a rate limit. Retried like a 429.
   */
  rateLimited?: (ctx: VendorErrorContext, headers: Headers) => { defaultWaitMs: number } | undefined;
  /**
   * A rate limit told in a successful answer's JSON body (GraphQL APIs answer 200 with `errors`: Cato's "rate
   * limit for operation"): returns the wait, or undefined when the body is a normal answer. Retried like a 429.
   */
  rateLimitedBody?: (body: unknown) => { waitMs: number; message: string } | undefined;
  /** Test Connection: resolves when credentials and permissions work, throws a TributaryError otherwise. */
  test(ctx: TestContext<S, A>): Promise<void>;
  /**
   * Every account kind the source accepts, when it takes more than one (the generic REST API collector:
   * `none`, `api-key`, `bearer`, `basic`, `oauth2-client-credentials`); `account` is the one offered first.
   */
  accounts?: string[];
  /**
   * Preview: reads ONE page of the first window a new collector would read and returns what it would
   * emit, without committing a position or writing to destinations (sources whose settings describe the
   * request, where seeing the result before installing is how the settings get right).
   */
  preview?(ctx: PreviewContext<S, A>): Promise<PreviewPage>;
}

export interface PreviewContext<S = any, A = any> {
  settings: S;
  account: A;
  http: HttpClient;
  signal: AbortSignal;
  /** The collector's first-run options (lookback or start, lag, overlap). */
  window: WindowOptions;
  now(): number;
}

/** One page as the collector would read it, before the runtime wraps its events in envelopes. */
export interface PreviewPage {
  stream: string;
  /** The request sent (no credentials: those are added by the account); absent when there was nothing to ask. */
  request?: { method: string; url: string; body?: string };
  /** The time window the request asked for. */
  window?: { start: string; end: string };
  /** How many records were found at the records path. */
  records: number;
  events: RawEvent[];
  /** The request for the next page the pagination found (URL, and the cursor/offset/page it carries), or null. */
  next: { url: string; body?: string; token?: string | number } | null;
  /** What would go wrong or surprise: no records at the path, times not parseable, ids missing (hashed). */
  warnings: string[];
}

/** The account kinds `source` accepts. */
export const accountKindsOf = (source: Pick<SourceDef, 'account' | 'accounts'>): string[] =>
  source.accounts ?? [source.account];

/** The kinds `source` accepts, for messages: "okta", or "api-key, bearer or none". */
export function accountKindsText(source: Pick<SourceDef, 'account' | 'accounts'>): string {
  const kinds = accountKindsOf(source);
  return kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)}` : kinds[0];
}

/**
 * Sources whose settings once chose the streams (ChatGPT Enterprise `eventTypes`, Google Workspace
 * `applications`, Microsoft 365 `contentTypes`, Gemini Enterprise `logs`): the collector's streams are
 * the one place now, as for every source. The setting is still read: a definition that gives it (an
 * older config file) is stored with it as its streams — refused when it also names other streams —
 * and a collector saved before that collects what it lists.
 */
export function streamsInSettings<S>(key: keyof S & string, defaults: readonly string[]) {
  const listed = (s: S) => (s as Record<string, unknown>)[key] as string[] | undefined;
  return {
    defaultStreams: (s: S) => listed(s) ?? [...defaults],
    normalize: (d: { settings: S; streams?: string[] }) => {
      const old = listed(d.settings);
      if (old === undefined) return d;
      const { [key]: _, ...settings } = d.settings as Record<string, unknown>;
      if (d.streams && [...new Set(d.streams)].sort().join() !== [...new Set(old)].sort().join())
        return {
          issues: [
            `settings.${key}: the older way to choose the streams, and it names others than streams: keep streams only`,
          ],
        };
      return { settings: settings as S, streams: d.streams ?? [...old] };
    },
  };
}

/** The streams a collector collects: those it names, else its source's defaults, else all. */
export function streamsOf(source: SourceDef, settings: unknown, streams?: string[]): string[] {
  return streams ?? source.defaultStreams?.(settings as never) ?? Object.keys(source.streams);
}

export function defineSource<S, A>(def: SourceDef<S, A>): SourceDef<S, A> {
  return def;
}

/** A push source: it receives events on an ingest endpoint and is never polled. */
export const isPushSource = (s: SourceDef | undefined): s is SourceDef & { receive: ReceiveDef } =>
  s?.family === 'push' && s.receive !== undefined;

/** A kind of account: its fields (secrets marked) and how it authenticates requests. */
export interface AccountKind<A = any> {
  id: string;
  title: string;
  fields: z.ZodType<A>;
  /**
   * Field names that are secrets (encrypted at rest, write-only through the API, never logged): the
   * fields its schema marks `SECRET`, with the fields marked `ORIGIN` (core/secret-spec.ts).
   */
  secrets: string[];
  spec: SecretSpec;
  /**
   * The vendor's origins that the credentials, and tokens obtained with them, may be sent to, from the
   * account's fields (`https://acme.okta.com`, patterns such as `https://*.googleapis.com`). Nothing else
   * receives them, unless the account lists more origins, saved together with its secret. Generic kinds
   * have none of their own.
   */
  origins?(account: A): string[];
  /**
   * True when this account acts with the host's own identity rather than credentials of its own (an `aws`
   * account without an access key, on a host that lends its role): only an administrator may create, change,
   * test or preview such an account, since it holds no secret that guards where its credentials go.
   */
  usesHostIdentity?(account: A): boolean;
  /**
   * Adds credentials to an outgoing request. `refresh` is true after a 401, to force a new token; `url`
   * is the request's target and `method` (default GET) and `body` complete it for kinds that sign
   * requests (AWS SigV4, Duo); token requests made with `http` must set `noAuth` (see engine/oauth.ts).
   * A vendor that wants the credentials inside the JSON body (LastPass's `cid` and `provhash`) gets them
   * from the returned `body`, which is sent instead of the request's on this attempt only: the request,
   * and the checkpoint that keeps it, never hold them.
   */
  authorize(
    account: A,
    headers: Headers,
    opts: { refresh: boolean; http: HttpClient; url: URL; method?: string; body?: string },
    // biome-ignore lint/suspicious/noConfusingVoidType: most kinds only set headers and return nothing (async, void)
  ): Promise<void | { body?: string }>;
  /** Requests per second allowed to the vendor for one account (the shared token bucket). */
  rateLimit?: { perSecond: number; burst: number };
  /**
   * An answer other than 401 that means the credentials expired (AWS answers `ExpiredToken` in a 400 or
   * 403): the request is authorized again once with `refresh`, as after a 401.
   */
  credentialsExpired?(ctx: VendorErrorContext): boolean;
  /**
   * A vendor limit on one endpoint per credential, beside `rateLimit` (Duo's log endpoints: about one
   * request a minute each): the bucket a request to `url` draws from, named by `key` within the account,
   * or undefined when the endpoint has no limit of its own.
   */
  endpointRateLimit?(url: URL): { key: string; perSecond: number; burst: number } | undefined;
}

export function defineAccountKind<A>(def: Omit<AccountKind<A>, 'secrets' | 'spec'>): AccountKind<A> {
  const spec = secretSpecOf(def.fields);
  return { ...def, secrets: spec.secrets, spec };
}
