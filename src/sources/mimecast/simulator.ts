/**
 * Mimecast API 2.0 simulator: OAuth client credentials, the SIEM batch listing with files on a second
 * ("storage") origin, and audit events. Vendor behaviour, with where it is documented:
 *
 * - API 2.0 applications authenticate with OAuth 2.0 client credentials (Mimecast support, "API
 *   Integrations: Managing API 2.0 for Cloud Gateway",
 *   https://mimecastsupport.zendesk.com/hc/en-us/articles/34000360548755-API-Integrations-Managing-API-2-0-for-Cloud-Gateway,
 *   which points to the API 2.0 reference at https://developer.services.mimecast.com): `POST /oauth/token`
 *   (form `grant_type=client_credentials`, `client_id`, `client_secret`) → `{"access_token", "token_type":
 *   "Bearer", "expires_in": 1800}` (a 30-minute token); a wrong client → 401 `invalid_client`.
 * - `GET /siem/v1/batch/events/cg?type&dateRangeStartsAt&dateRangeEndsAt&pageSize&nextPage` →
 *   `{"value": [{"url", "size", "expiry"}], "@nextPage", "isCaughtUp"}`: the API 2.0 reference's "Get SIEM
 *   logs batch" (https://developer.services.mimecast.com; that page could not be read for this review, so
 *   the shape is the one public collectors of the endpoint rely on); pre-signed file URLs on another host,
 *   valid until `expiry`; each file a gzip of JSON lines. Log data is kept 7 days ("Get SIEM Logs", Notes:
 *   "Log data is stored by Mimecast for 7 days only",
 *   https://integrations.mimecast.com/documentation/endpoint-reference/logs-and-statistics/get-siem-logs).
 * - `POST /api/audit/get-audit-events` ("Get Audit Events",
 *   https://integrations.mimecast.com/documentation/endpoint-reference/logs-and-statistics/get-audit-events:
 *   Request Body, Response): `meta.pagination.{pageSize, pageToken}` and `data[0].{startDateTime,
 *   endDateTime}` in ISO 8601 "(e.g. 2011-12-03T10:15:30+0000)" → `{"fail": [], "meta": {"status",
 *   "pagination": {"pageSize", "next"}}, "data": [{"id", "auditType", "user", "eventTime", "eventInfo",
 *   "category"}]}`; `next` "Only returned if there are more results to return".
 * - Status codes ("Response Codes", https://www.mimecast.com/tech-connect/documentation/api-overview/response-code/):
 *   400 malformed, 401 authorization missing or wrong, 403 not permitted, 429 "Quota Exceeded"; failures
 *   are described in the body's `fail` array.
 *
 * Decided by the simulator where the documents we could read are silent: `nextPage` continues after the files
 * already listed, also in later calls; `pageSize` at most 100 (more is 400); signed URLs valid 15 minutes,
 * refused after with 403 and an S3-style XML body; a request to the storage host that carries an
 * Authorization header is recorded as a credential leak (and refused, as S3 refuses a second
 * authentication method); each `fail` entry `{"errors": [{"code", "message", "retryable"}]}`; audit
 * `eventTime` in the request format above, bounds inclusive; a `corrupt` file's bytes are not gzip.
 */
import { gzipSync } from 'node:zlib';
import {
  type Clock,
  type Fault,
  FaultQueue,
  json,
  person,
  type RecordedRequest,
  RequestLog,
  Rng,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
} from '../../sim/kit.ts';

export interface MimecastSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** SIEM log types holding files (default ['receipt']). */
  types?: string[];
  /** Files per type generated up front (default 10), `spacingMs` apart. */
  files?: number;
  /** Records per file (default 20). */
  recordsPerFile?: number;
  audits?: number;
  spacingMs?: number;
  /** Audit events' spacing (default `spacingMs`). */
  auditSpacingMs?: number;
  eventBytes?: number;
  clientId?: string;
  clientSecret?: string;
  /** Indexes (per type, in readiness order) of files whose bytes are not gzip. */
  corrupt?: number[];
  urlTtlMs?: number;
  /** false: the application lacks the SIEM product (403). */
  siem?: boolean;
}

interface LogFile {
  type: string;
  seq: number;
  ready: number;
  records: number;
}

interface Audit {
  t: number;
  vis: number;
  seq: number;
}

const failBody = (status: number, code: string, message: string) =>
  json(status, {
    meta: { status },
    data: [],
    fail: [{ errors: [{ code, message, retryable: status >= 500 }] }],
  });

export class MimecastSimulator {
  readonly api: SimServer;
  readonly files: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  private readonly o: MimecastSimulatorOptions & {
    spacingMs: number;
    recordsPerFile: number;
    urlTtlMs: number;
  };
  private readonly logFiles: LogFile[] = [];
  private readonly audits: Audit[] = [];
  private readonly tokens = new Set<string>();
  private issued = 0;
  private readonly leaks: RecordedRequest[] = [];
  private loopListings = 0;

  constructor(o: MimecastSimulatorOptions = {}) {
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.clientId = o.clientId ?? `mc-${new Rng(this.seed).hex(16)}`;
    this.clientSecret = o.clientSecret ?? new Rng(seedOf(this.seed, 's')).base62(40);
    this.o = { spacingMs: 60_000, recordsPerFile: 20, urlTtlMs: 15 * 60_000, ...o };
    const faults = new FaultQueue();
    const requests = new RequestLog();
    const hooks = {
      errorReply: (_r: SimRequest, status: number) => failBody(status, `err_${status}`, `HTTP ${status}`),
      rateLimitReply: () => failBody(429, 'err_rate_limited', 'Rate limit exceeded'),
    };
    this.api = new SimServer({ name: 'api', clock: this.clock, faults, requests, hooks });
    this.files = new SimServer({ name: 'files', clock: this.clock, faults, requests });
    this.api.route('POST', '/oauth/token', (r) => this.token(r));
    this.api.route('GET', '/siem/v1/batch/events/cg', (r) => this.authorized(r, () => this.batch(r)));
    this.api.route('POST', '/api/audit/get-audit-events', (r) => this.authorized(r, () => this.audit(r)));
    this.files.route('GET', '/files/:type/:name', (r) => this.file(r));
    const n = o.files ?? 10;
    for (const type of o.types ?? ['receipt']) {
      const first = this.clock() - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
      for (let i = 0; i < n; i++) this.addFile(type, first + i * this.o.spacingMs);
    }
    const a = o.audits ?? 10;
    const aSpacing = o.auditSpacingMs ?? this.o.spacingMs;
    const firstAudit = Math.floor((this.clock() - 10 * 60_000 - Math.max(0, a - 1) * aSpacing) / 1000) * 1000;
    for (let i = 0; i < a; i++) this.audits.push({ t: firstAudit + i * aSpacing, vis: 0, seq: i });
  }

  /** The API gateway (the account's `url`). */
  get url(): string {
    return this.api.url;
  }

  async start(): Promise<string> {
    await this.api.start();
    await this.files.start();
    return this.url;
  }

  async stop(): Promise<void> {
    await this.api.stop();
    await this.files.stop();
  }

  inject(fault: Fault): void {
    this.api.inject(fault);
  }

  requests(): RecordedRequest[] {
    return this.api.requests.all();
  }

  /** Writes: every POST but the token request and the audit query (both read-only by Mimecast's API). */
  writeCalls(): RecordedRequest[] {
    return this.api.requests
      .all()
      .filter(
        (r) =>
          r.method !== 'GET' &&
          r.method !== 'HEAD' &&
          r.path !== '/oauth/token' &&
          r.path !== '/api/audit/get-audit-events',
      );
  }

  /** Requests to the storage host that carried an Authorization header. */
  credentialLeaks(): RecordedRequest[] {
    return [...this.leaks];
  }

  loopNextPages(listings = 1): void {
    this.loopListings = listings;
  }

  /** Adds `n` files of `type`, ready at the spaced times (or late, with visibleDelayMs). */
  addFiles(type: string, n: number, o: SpacedEvents = {}): void {
    for (const [, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o)) this.addFile(type, vis);
  }

  addAudits(n: number, o: SpacedEvents = {}): void {
    for (const [t, vis] of spacedEvents(n, this.clock(), this.o.spacingMs, o))
      this.audits.push({ t: Math.floor(t / 1000) * 1000, vis, seq: this.audits.length });
  }

  /** Every record line of every readable file of `type`, parsed. */
  records(type: string): Array<Record<string, unknown>> {
    return this.sorted(type)
      .filter((_, i) => !(this.o.corrupt ?? []).includes(i))
      .flatMap((f) => this.lines(f).map((l) => JSON.parse(l)));
  }

  auditRecords(): Array<Record<string, unknown>> {
    return this.audits.map((a) => this.auditRecord(a));
  }

  // -------------------------------------------------------------------------------------------

  private addFile(type: string, ready: number): void {
    this.logFiles.push({ type, seq: this.logFiles.length, ready, records: this.o.recordsPerFile });
  }

  private sorted(type: string): LogFile[] {
    return this.logFiles.filter((f) => f.type === type).sort((a, b) => a.ready - b.ready || a.seq - b.seq);
  }

  /** Every access token issued so far is refused from now on (as after its `expires_in`). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** How many access tokens were issued. */
  tokensIssued(): number {
    return this.issued;
  }

  private token(req: SimRequest): SimReply {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials')
      return json(400, {
        error: 'unsupported_grant_type',
        error_description: 'grant_type must be client_credentials',
      });
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret)
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    const token = new Rng(seedOf(this.seed, 'token', this.issued++)).base62(48);
    this.tokens.add(token);
    return json(200, { access_token: token, token_type: 'Bearer', expires_in: 1800 });
  }

  private authorized(req: SimRequest, next: () => SimReply): SimReply {
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ') || !this.tokens.has(auth.slice(7)))
      return failBody(401, 'err_invalid_token', 'The access token is invalid or has expired');
    return next();
  }

  private batch(req: SimRequest): SimReply {
    if (this.o.siem === false)
      return failBody(403, 'err_forbidden', 'The application may not access SIEM logs');
    const q = req.query;
    const type = q.get('type') ?? '';
    const pageSize = Number(q.get('pageSize') ?? 100);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
      return failBody(400, 'err_validation', 'pageSize must be between 1 and 100');
    const now = this.clock();
    const ready = this.sorted(type).filter((f) => f.ready <= now && f.ready >= now - 7 * 86_400_000);
    let from = 0;
    const token = q.get('nextPage');
    if (token) {
      const m = /^pos:(\d+):(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
      if (!m) return failBody(400, 'err_validation', 'Invalid nextPage');
      const [r, s] = [Number(m[1]), Number(m[2])];
      from = ready.findIndex((f) => f.ready > r || (f.ready === r && f.seq > s));
      if (from < 0) from = ready.length;
    } else {
      const start = Date.parse(`${q.get('dateRangeStartsAt')}T00:00:00Z`);
      const end = Date.parse(`${q.get('dateRangeEndsAt')}T23:59:59.999Z`);
      if (!Number.isFinite(start) || !Number.isFinite(end))
        return failBody(
          400,
          'err_validation',
          'dateRangeStartsAt and dateRangeEndsAt are required (YYYY-MM-DD)',
        );
      if (start < now - 8 * 86_400_000)
        return failBody(400, 'err_validation', 'dateRangeStartsAt is older than 7 days');
      from = ready.findIndex((f) => f.ready >= start);
      if (from < 0) from = ready.length;
    }
    const page = req.empty ? [] : ready.slice(from, from + pageSize);
    const last = page.at(-1) ?? (from > 0 ? ready[from - 1] : undefined);
    let next = last ? Buffer.from(`pos:${last.ready}:${last.seq}`).toString('base64url') : (token ?? '');
    if (this.loopListings > 0 && token) {
      this.loopListings--;
      next = token;
    }
    const caughtUp = !req.empty && from + page.length >= ready.length;
    return json(200, {
      value: page.map((f) => this.listed(req, f)),
      '@nextPage': next,
      isCaughtUp: caughtUp,
    });
  }

  private listed(req: SimRequest, f: LogFile) {
    const expiry = this.clock() + this.o.urlTtlMs;
    const sig = new Rng(seedOf(this.seed, 'sig', f.seq, expiry)).hex(32);
    const name = `${f.type.replace(/ /g, '_')}_${f.seq}.json.gz`;
    void req;
    return {
      url: `${this.files.url}/files/${encodeURIComponent(f.type)}/${name}?X-Amz-Expires=${expiry}&X-Amz-Signature=${sig}`,
      size: this.bytes(f).byteLength,
      expiry: new Date(expiry).toISOString(),
    };
  }

  private file(req: SimRequest): SimReply {
    if (req.headers.authorization) {
      this.leaks.push({
        server: 'files',
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        at: req.at,
      });
      return {
        status: 400,
        headers: { 'content-type': 'application/xml' },
        body: '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>',
      };
    }
    const expires = Number(req.query.get('X-Amz-Expires'));
    if (!Number.isFinite(expires) || this.clock() > expires)
      return {
        status: 403,
        headers: { 'content-type': 'application/xml' },
        body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
      };
    const m = /_(\d+)\.json\.gz$/.exec(req.params.name);
    const f = m ? this.logFiles[Number(m[1])] : undefined;
    if (!f)
      return {
        status: 404,
        headers: { 'content-type': 'application/xml' },
        body: '<Error><Code>NoSuchKey</Code></Error>',
      };
    return { status: 200, headers: { 'content-type': 'application/gzip' }, body: this.bytes(f) };
  }

  private bytes(f: LogFile): Buffer {
    const index = this.sorted(f.type).indexOf(f);
    if ((this.o.corrupt ?? []).includes(index)) return Buffer.from(`not gzip: ${'x'.repeat(64)}`);
    return gzipSync(`${this.lines(f).join('\n')}\n`);
  }

  private lines(f: LogFile): string[] {
    return Array.from({ length: f.records }, (_, i) => {
      const rng = new Rng(seedOf(this.seed, f.type, f.seq, i));
      const sender = person(rng, rng.pick(['partner.example', 'vendor.example', 'gmail.example']));
      const rcpt = person(rng, 'acme.example');
      const r: Record<string, unknown> = {
        timestamp: f.ready - 60_000 + i * 100,
        aggregateId: rng.base62(22),
        processingId: rng.base62(40),
        accountId: 'CDE22A102',
        type: f.type,
        subtype: rng.pick(['Allow', 'Hold', 'Reject', 'Bounce']),
        senderEnvelope: sender.email,
        senderIp: `203.0.113.${rng.int(1, 254)}`,
        recipients: rcpt.email,
        subject: rng.pick(['Invoice', 'Meeting notes', 'Password reset', 'Your parcel']),
        direction: rng.pick(['Inbound', 'Outbound', 'Internal']),
        tlsVersion: 'TLSv1.3',
        spamScore: rng.int(0, 10),
      };
      if (this.o.eventBytes) {
        const left = this.o.eventBytes - JSON.stringify(r).length;
        if (left > 0) r.headers = 'x'.repeat(left);
      }
      return JSON.stringify(r);
    });
  }

  private audit(req: SimRequest): SimReply {
    let body: any;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return failBody(400, 'err_validation', 'Request body is not JSON');
    }
    const range = body?.data?.[0];
    const parse = (s: unknown) =>
      typeof s === 'string' ? Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) : Number.NaN;
    const from = parse(range?.startDateTime);
    const to = parse(range?.endDateTime);
    if (!Number.isFinite(from) || !Number.isFinite(to))
      return failBody(400, 'err_validation', 'startDateTime and endDateTime are required');
    const size = Number(body?.meta?.pagination?.pageSize ?? 25);
    const offset = body?.meta?.pagination?.pageToken
      ? Number(Buffer.from(body.meta.pagination.pageToken, 'base64url').toString())
      : 0;
    const now = this.clock();
    const all = this.audits.filter((a) => a.vis <= now && a.t >= from && a.t <= to);
    const page = req.empty ? [] : all.slice(offset, offset + size);
    const more = req.empty || offset + page.length < all.length;
    return json(200, {
      meta: {
        status: 200,
        pagination: {
          pageSize: size,
          ...(more ? { next: Buffer.from(String(offset + page.length)).toString('base64url') } : {}),
        },
      },
      data: page.map((a) => this.auditRecord(a)),
      fail: [],
    });
  }

  private auditRecord(a: Audit): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'audit', a.seq));
    const admin = person(rng, 'acme.example');
    return {
      id: `eNo1jkEOgjAURP${rng.base62(40)}`,
      auditType: rng.pick([
        'Logon Authentication Failed',
        'Policy Updated',
        'Application Created',
        'Held Message Released',
      ]),
      user: admin.email,
      eventTime: `${new Date(a.t).toISOString().slice(0, 19)}+0000`,
      eventInfo:
        'Updated policy Anti-Spoofing, Date: 2026-11-25, Time: 10:00:00 GMT, IP: 198.51.100.7, Application: Administration Console',
      category: rng.pick(['account_logs', 'policy_logs', 'mail_retention_logs']),
    };
  }
}
