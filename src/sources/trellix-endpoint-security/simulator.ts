/**
 * Trellix IAM and ePO – SaaS Events API simulator. Vendor behaviour, with where it is documented
 * (docs.trellix.com):
 *
 * - Token ("Generating an API access token",
 *   https://docs.trellix.com/data-and-email/docs/generating-an-api-access-token): `POST
 *   /auth/realms/IAM/protocol/openid-connect/token` with `grant_type=client_credentials`, `scope` and the client
 *   in HTTP Basic → `{access_token, token_type: "Bearer", expires_in}`. "The access token is valid for 24
 *   hours" ("Steps for gaining access to consume threat events",
 *   https://docs.trellix.com/docs/steps-for-gaining-access-to-consume-threat-events): `expires_in` 86400;
 *   tokens can also be revoked for tests.
 * - Events ("Event operation", https://docs.trellix.com/docs/event-operation; "Request parameters",
 *   https://docs.trellix.com/docs/request-parameters): `GET /eventservice/api/v2/events?type=threats&since&until&sort=asc|desc`
 *   with a token holding `epo.evt.r` ("Allow users to access threat events only"; 403 otherwise); `since`
 *   defaults to 1970-01-01T00:00:00.000Z, `until` to now. The next page is in the `Link` header (`rel="next"`,
 *   carrying `after`), none on the last page ("Process events", same guide).
 * - Answer ("Response codes", https://docs.trellix.com/docs/events-api-response-codes, the sample successful
 *   response): `{"Events": [{"<field>": {"name", "type", "value"}}]}`, timestamps `java.sql.Timestamp` in epoch
 *   milliseconds. Threat event fields as the common event format lists them: autoguid, detectedutc,
 *   receivedutc, agentguid, analyzer, analyzername, analyzerversion, analyzerhostname, analyzeripv4,
 *   analyzerdetectionmethod, sourcehostname, sourceprocessname, targethostname, targetusername,
 *   targetfilename, threatcategory, threateventid, threatseverity, threatname, threattype, threatactiontaken,
 *   threathandled.
 *
 * Decided by the simulator where Trellix is silent: a wrong client answers 401 `invalid_client`, a scope the
 * client lacks 400 `invalid_scope` (RFC 6749 §5.2); `since` inclusive and `until` exclusive on `receivedutc`;
 * `after` an opaque position; page size 100; error bodies `{"errors": [{"status", "title", "detail"}]}`; an
 * empty page (the `empty` fault) answers no events with a `next` link to the same position.
 */
import {
  type Clock,
  json,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  type SpacedEvents,
  seedOf,
  spacedEvents,
  stableUuid,
} from '../../sim/kit.ts';

/** "The access token is valid for 24 hours" (see the header). */
const TOKEN_TTL_S = 86_400;

export interface TrellixSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Scopes the client credentials were granted (default epo.evt.r). */
  granted?: string[];
  pageSize?: number;
}

interface Ev {
  seq: number;
  t: number;
  vis: number;
}

const TOKEN_PATH = '/auth/realms/IAM/protocol/openid-connect/token';
const EVENTS_PATH = '/eventservice/api/v2/events';

export class TrellixSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  private readonly o: TrellixSimulatorOptions & { spacingMs: number; pageSize: number };
  private readonly events: Ev[] = [];
  private readonly tokens = new Map<string, { at: number; scopes: string[] }>();
  private tokenCount = 0;
  private loopPages = 0;

  constructor(o: TrellixSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    const rng = new Rng(seedOf(this.seed, 'client'));
    this.clientId = rng.base62(20);
    this.clientSecret = rng.base62(32);
    this.o = { spacingMs: 60_000, pageSize: 100, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => trellixError(status),
        rateLimitReply: () => trellixError(429),
      },
    });
    this.server.route('POST', TOKEN_PATH, (r) => this.token(r));
    this.server.route('GET', EVENTS_PATH, (r) => this.list(r));
    const now = this.clock();
    const n = o.events ?? 50;
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (let i = 0; i < n; i++) this.add(first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  /** Every request but a token request (the Events API has no write calls; any other method is one). */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== TOKEN_PATH);
  }

  account(): { url: string; tokenUrl: string; clientId: string; clientSecret: string } {
    return {
      url: this.url,
      tokenUrl: `${this.url}${TOKEN_PATH}`,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
    };
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  revokeTokens(): void {
    this.tokens.clear();
  }

  loopNextLinks(pages = 1): void {
    this.loopPages = pages;
  }

  addEvents(n: number, o: SpacedEvents = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => this.idOf(this.add(t, vis)));
  }

  expectedIds(): string[] {
    return this.events.map((e) => this.idOf(e));
  }

  // -------------------------------------------------------------------------------------------

  private add(t: number, vis: number): Ev {
    const e = { seq: this.events.length, t, vis };
    this.events.push(e);
    return e;
  }

  private idOf(e: Ev): string {
    return stableUuid(21, e.seq, this.seed).toUpperCase();
  }

  private token(req: SimRequest): SimReply {
    const form = new URLSearchParams(req.body.toString('utf8'));
    const basic = String(req.headers.authorization ?? '');
    const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (basic !== expected)
      return json(401, { error: 'invalid_client', error_description: 'Invalid client credentials' });
    if (form.get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const granted = this.o.granted ?? ['epo.evt.r'];
    if (scopes.some((s) => !granted.includes(s)))
      return json(400, { error: 'invalid_scope', error_description: 'Invalid scopes: ' + scopes.join(' ') });
    const token = new Rng(seedOf(this.seed, 'token', ++this.tokenCount)).base62(64);
    this.tokens.set(token, { at: this.clock(), scopes });
    return json(200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: TOKEN_TTL_S,
      scope: scopes.join(' '),
    });
  }

  private list(req: SimRequest): SimReply {
    const m = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''));
    const t = m ? this.tokens.get(m[1]) : undefined;
    if (!t || this.clock() - t.at >= TOKEN_TTL_S * 1000) return trellixError(401);
    if (!t.scopes.includes('epo.evt.r') && !t.scopes.includes('epo.admin')) return trellixError(403);
    const q = req.query;
    if ((q.get('type') ?? 'all') !== 'threats' && q.get('type') !== 'all')
      return trellixError(400, 'type must be threats, incidents or all');
    const since = Date.parse(q.get('since') ?? '1970-01-01T00:00:00.000Z');
    const until = q.has('until') ? Date.parse(q.get('until') as string) : this.clock();
    if (!Number.isFinite(since) || !Number.isFinite(until))
      return trellixError(400, 'since and until must be ISO 8601');
    const desc = q.get('sort') === 'desc';
    const now = this.clock();
    const hits = this.events.filter((e) => e.vis <= now && e.t >= since && e.t < until);
    hits.sort((a, b) => a.t - b.t || a.seq - b.seq);
    if (desc) hits.reverse();
    const after = q.get('after');
    const start = after === null ? 0 : Number(Buffer.from(after, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) return trellixError(400, 'invalid after');
    const page = req.empty ? [] : hits.slice(start, start + this.o.pageSize);
    const headers: Record<string, string> = {};
    const link = (pos: number) => {
      const u = new URL(req.url.toString());
      u.searchParams.set('after', Buffer.from(String(pos)).toString('base64url'));
      return `<${u.toString()}>; rel="next"`;
    };
    if (req.empty) headers.link = link(start);
    else if (start + page.length < hits.length) {
      const looping = this.loopPages > 0 && after !== null;
      if (looping) this.loopPages--;
      headers.link = link(looping ? start : start + page.length);
    }
    return json(200, { Events: page.map((e) => this.record(e)) }, headers);
  }

  private record(e: Ev): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'event', e.seq));
    const host = `ACME-WS-${rng.int(100, 999)}`;
    const threat = rng.pick(THREATS);
    const f = (name: string, type: string, value: unknown) => ({ name, type, value });
    const r: Record<string, unknown> = {
      autoguid: f('autoguid', 'java.lang.String', this.idOf(e)),
      detectedutc: f('detectedutc', 'java.sql.Timestamp', e.t - 2000),
      receivedutc: f('receivedutc', 'java.sql.Timestamp', e.t),
      agentguid: f('agentguid', 'java.lang.String', stableUuid(22, e.seq % 40, this.seed).toUpperCase()),
      analyzer: f('analyzer', 'java.lang.String', 'ENDP_AM_1070'),
      analyzername: f('analyzername', 'java.lang.String', 'Trellix Endpoint Security'),
      analyzerversion: f('analyzerversion', 'java.lang.String', '10.7.0.6421'),
      analyzerhostname: f('analyzerhostname', 'java.lang.String', host),
      analyzeripv4: f('analyzeripv4', 'java.lang.String', `10.5.${rng.int(0, 255)}.${rng.int(1, 254)}`),
      analyzerdetectionmethod: f('analyzerdetectionmethod', 'java.lang.String', threat.method),
      sourcehostname: f('sourcehostname', 'java.lang.String', host),
      sourceprocessname: f('sourceprocessname', 'java.lang.String', threat.process),
      targethostname: f('targethostname', 'java.lang.String', host),
      targetusername: f('targetusername', 'java.lang.String', `ACME\\user${rng.int(1, 300)}`),
      targetfilename: f('targetfilename', 'java.lang.String', threat.file),
      threatcategory: f('threatcategory', 'java.lang.String', threat.category),
      threateventid: f('threateventid', 'java.lang.Integer', threat.eventId),
      threatseverity: f('threatseverity', 'java.lang.String', String(rng.int(1, 4))),
      threatname: f('threatname', 'java.lang.String', threat.name),
      threattype: f('threattype', 'java.lang.String', threat.type),
      threatactiontaken: f('threatactiontaken', 'java.lang.String', threat.action),
      threathandled: f('threathandled', 'java.lang.Boolean', true),
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(r).length;
      if (left > 0) r.padding = f('padding', 'java.lang.String', 'x'.repeat(left));
    }
    return r;
  }
}

function trellixError(status: number, detail?: string): SimReply {
  const title =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests' }[status] ??
    'Internal Server Error';
  return json(
    status,
    { errors: [{ status: String(status), title, detail: detail ?? title }] },
    status === 429 ? { 'retry-after': '1' } : {},
  );
}

const THREATS = [
  {
    name: 'EICAR test file',
    type: 'test',
    category: 'av.detect',
    eventId: 1278,
    method: 'On-Access Scan',
    process: 'C:\\Windows\\explorer.exe',
    file: 'C:\\Users\\bob\\Downloads\\eicar.com',
    action: 'IDS_ALERT_ACT_TAK_DEL',
  },
  {
    name: 'Trojan-FRTU!3A4B5C6D7E8F',
    type: 'trojan',
    category: 'av.detect',
    eventId: 1027,
    method: 'On-Access Scan',
    process: 'C:\\Program Files\\Mozilla Firefox\\firefox.exe',
    file: 'C:\\Users\\amy\\AppData\\Local\\Temp\\setup.exe',
    action: 'IDS_ALERT_ACT_TAK_DEL',
  },
  {
    name: 'ExP:Illegal API Use',
    type: 'exploit',
    category: 'hip.bo',
    eventId: 18054,
    method: 'Exploit Prevention',
    process: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE',
    file: 'C:\\Windows\\System32\\cmd.exe',
    action: 'IDS_ALERT_ACT_TAK_BLO',
  },
] as const;
