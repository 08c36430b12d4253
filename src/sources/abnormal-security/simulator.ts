/**
 * Abnormal Security REST API simulator (threats and cases), following Abnormal's published OpenAPI
 * document, SwaggerHub abnormal-security/abx 1.4.3 (https://app.swaggerhub.com/apis-docs/abnormal-security/abx/1.4.3;
 * the document itself: https://api.swaggerhub.com/apis/abnormal-security/abx/1.4.3). Each point names the part
 * of that document it follows:
 *
 * - `GET /v1/threats?filter=receivedTime gte YYYY-MM-DDTHH:MM:SSZ lte YYYY-MM-DDTHH:MM:SSZ&pageSize&pageNumber`
 *   (paths./threats): the filter key must be `receivedTime` or `latestTimeRemediated`, at least one of
 *   `gte`/`lte`, whole-second UTC times; `pageSize` default 100, `pageNumber` 1-indexed; the answer is
 *   `PaginatedThreats` `{threats: [{threatId}], pageNumber, nextPageNumber}`, `nextPageNumber` absent on the
 *   last page; without a filter only the top 100 ids and no page fields. `source` filters
 *   attacks/borderline/spam.
 * - `GET /v1/threats/{threatId}` (ThreatDetails): `{threatId, messages: [ThreatMessage…]}` with
 *   `abxMessageIdStr`, `receivedTime`, `subject`, `fromAddress`, `toAddresses`, `attackType`,
 *   `remediationStatus`, … as in the schema's examples; 404 ThreatDoesNotExistError.
 * - `GET /v1/cases?filter=lastModifiedTime gte … lte …` (paths./cases, "Account Takeover license is required"):
 *   `PaginatedCases` `{cases: [AbnormalCase {caseId, description, severity_level, confidence, last_modified,
 *   first_observed, created}], pageNumber, nextPageNumber}`; `GET /v1/cases/{caseId}` AbnormalCaseDetails
 *   (`caseId`, `case_status`, `severity`, `affectedEmployee`, `firstObserved`, `threatIds`, …).
 * - `Authorization: Bearer <token>` on every call (components.securitySchemes, the global `security`).
 * - Responses: 401 "Access token is missing or invalid", 403 "Access to the resource is forbidden (e.g. IP
 *   not in allowlist)", 404 "Invalid user input when using the filter query parameter", 429 "Request count
 *   exceeds allowed number of concurrent requests" (components.responses).
 * - POST /v1/threats/{id} and /v1/cases/{id} remediate and change case status: routed, so a test that sees
 *   one fails on `writeCalls()`.
 *
 * Decided by the simulator (the document gives no bodies and no numbers): error bodies `{"detail": "…"}` (the API is built
 * with Django REST framework — its operation ids are drf-spectacular's — whose errors take that shape),
 * 429 with `Retry-After` seconds; bounds `gte`/`lte` inclusive; list order by creation (the document
 * promises none); a threat is listed when any of its visible messages matches the filter; an Account
 * Takeover license missing answers 403 on /cases.
 */
import {
  type Clock,
  json,
  person,
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

export interface AbnormalSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Threat campaigns generated up front (default 60), `spacingMs` apart, the last 5 minutes before now. */
  threats?: number;
  /** Cases generated up front (default 20), over the same span. */
  cases?: number;
  spacingMs?: number;
  /** Every second initial threat has a second message this long after its first (default 1 s). */
  secondMessageMs?: number;
  eventBytes?: number;
  token?: string;
  /** false: this client's address is not on the allowlist (403 on everything). */
  allowlisted?: boolean;
  /** false: no Account Takeover license (403 on /cases). */
  accountTakeover?: boolean;
  /** Requests a second before 429 (default: unlimited). */
  rateLimitPerSecond?: number;
}

interface Message {
  t: number;
  vis: number;
  seq: number;
}

interface Threat {
  id: string;
  seq: number;
  messages: Message[];
}

interface Case {
  id: string;
  seq: number;
  t: number;
  vis: number;
  created: number;
}

const sec = (ms: number) => Math.floor(ms / 1000) * 1000;
const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const FILTER =
  /^(\w+)(?:\s+gte\s+(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ))?(?:\s+lte\s+(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ))?$/;

export class AbnormalSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly token: string;
  private readonly o: Required<
    Pick<AbnormalSimulatorOptions, 'spacingMs' | 'secondMessageMs' | 'allowlisted' | 'accountTakeover'>
  > &
    AbnormalSimulatorOptions;
  private readonly threatList: Threat[] = [];
  private readonly caseList: Case[] = [];
  private messageSeq = 0;
  private rl = { second: -1, count: 0 };
  private loopPages = 0;

  constructor(o: AbnormalSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.token = o.token ?? `abx_${new Rng(this.seed).base62(40)}`;
    this.o = { spacingMs: 60_000, secondMessageMs: 1000, allowlisted: true, accountTakeover: true, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) => json(status, { detail: DETAIL[status] ?? `Error ${status}.` }),
        rateLimitReply: () => json(429, { detail: DETAIL[429] }),
      },
    });
    this.server.route('GET', '/v1/threats', (r) => this.guard(r, () => this.listThreats(r)));
    this.server.route('GET', '/v1/threats/:id', (r) => this.guard(r, () => this.threat(r)));
    this.server.route('GET', '/v1/cases', (r) => this.guard(r, () => this.listCases(r)));
    this.server.route('GET', '/v1/cases/:id', (r) => this.guard(r, () => this.caseDetails(r)));
    // Remediation and case status changes exist; Tributary must never call them.
    this.server.route('POST', '/v1/threats/:id', () => json(202, { action_id: 'write' }));
    this.server.route('POST', '/v1/cases/:id', () => json(202, { actionId: 'write' }));
    const now = this.clock();
    const threats = o.threats ?? 60;
    const span = this.o.spacingMs;
    const first = now - 5 * 60_000 - Math.max(0, threats - 1) * span;
    for (let i = 0; i < threats; i++) {
      const t = first + i * span;
      const extra = i % 2 === 1 ? [t + this.o.secondMessageMs] : [];
      this.addThreat([t, ...extra], () => t);
    }
    const cases = o.cases ?? 20;
    const caseSpan = cases > 0 ? ((threats || 1) * span) / cases : span;
    for (let i = 0; i < cases; i++) this.addCase(first + i * caseSpan, first + i * caseSpan);
  }

  /** The API host, without /v1 (what the account's `url` or a collector's `baseUrl` holds). */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  /** The next `pages` list answers name their own page as the next one (a looping vendor). */
  loopNextPages(pages = 1): void {
    this.loopPages = pages;
  }

  /** Adds `n` one-message threats; returns their message ids. */
  addThreats(n: number, o: SpacedEvents = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) =>
      this.messageId(this.addThreat([t], () => vis).messages[0]),
    );
  }

  /** Adds `n` cases (or new versions of case `caseId` when given): returns their event ids. */
  addCases(n: number, o: SpacedEvents & { caseId?: string } = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const existing = o.caseId ? this.caseList.find((c) => c.id === o.caseId) : undefined;
      const c = existing ? this.newVersion(existing, t, vis) : this.addCase(t, vis);
      return caseEventId(c.id, iso(c.t));
    });
  }

  /** Every message id (threats) and case version id a complete drain must deliver. */
  expectedIds(streams: string[] = ['threats', 'cases']): string[] {
    const ids: string[] = [];
    if (streams.includes('threats'))
      for (const th of this.threatList) for (const m of th.messages) ids.push(this.messageId(m));
    if (streams.includes('cases'))
      for (const c of this.allCaseVersions()) ids.push(caseEventId(c.id, iso(c.t)));
    return ids;
  }

  // -------------------------------------------------------------------------------------------

  private readonly versions: Case[] = [];

  private allCaseVersions(): Case[] {
    return [...this.versions, ...this.caseList];
  }

  private newVersion(c: Case, t: number, vis: number): Case {
    this.versions.push({ ...c });
    c.t = sec(t);
    c.vis = vis;
    return c;
  }

  private addThreat(times: number[], visible: (t: number) => number): Threat {
    const seq = this.threatList.length;
    const th: Threat = {
      id: stableUuid(1, seq, this.seed),
      seq,
      messages: times.map((t) => ({ t: sec(t), vis: visible(t), seq: this.messageSeq++ })),
    };
    this.threatList.push(th);
    return th;
  }

  private addCase(t: number, vis: number): Case {
    const seq = this.caseList.length;
    const c: Case = { id: String(10_000 + seq), seq, t: sec(t), vis, created: sec(t) - 3_600_000 };
    this.caseList.push(c);
    return c;
  }

  private messageId(m: Message): string {
    // A 19-digit integer as a string (abxMessageIdStr example 4551618356913732000).
    return String(4_551_618_356_913_732_000n + BigInt(m.seq) * 7919n + BigInt(this.seed % 1000));
  }

  private guard(req: SimRequest, next: () => SimReply): SimReply {
    const auth = String(req.headers.authorization ?? '');
    if (auth !== `Bearer ${this.token}`)
      return json(401, { detail: auth ? 'Invalid token.' : 'Authentication credentials were not provided.' });
    if (!this.o.allowlisted) return json(403, { detail: DETAIL[403] });
    if (this.o.rateLimitPerSecond !== undefined) {
      const s = Math.floor(this.clock() / 1000);
      if (s !== this.rl.second) this.rl = { second: s, count: 0 };
      if (++this.rl.count > this.o.rateLimitPerSecond)
        return json(429, { detail: DETAIL[429] }, { 'retry-after': '1' });
    }
    return next();
  }

  /** The filter's range in ms (inclusive), or an error reply. */
  private range(req: SimRequest, keys: string[]): { from: number; to: number } | SimReply | undefined {
    const raw = req.query.get('filter');
    if (raw === null) return undefined;
    const m = FILTER.exec(raw.trim());
    if (!m || !keys.includes(m[1]) || (!m[2] && !m[3]))
      return json(404, {
        detail: `Invalid filter: expected "{${keys.join('|')}} gte YYYY-MM-DDTHH:MM:SSZ lte YYYY-MM-DDTHH:MM:SSZ".`,
      });
    return { from: m[2] ? Date.parse(m[2]) : -Infinity, to: m[3] ? Date.parse(m[3]) : Infinity };
  }

  private page<T>(
    req: SimRequest,
    items: T[],
    filtered: boolean,
  ): { items: T[]; meta: Record<string, number> } {
    if (!filtered) return { items: items.slice(0, 100), meta: {} };
    const size = Number(req.query.get('pageSize') ?? 100);
    const number = Number(req.query.get('pageNumber') ?? 1);
    const start = (number - 1) * size;
    const slice = req.empty ? [] : items.slice(start, start + size);
    const meta: Record<string, number> = { pageNumber: number };
    if (this.loopPages > 0) {
      this.loopPages--;
      meta.nextPageNumber = number;
    } else if (!req.empty && start + size < items.length) meta.nextPageNumber = number + 1;
    else if (req.empty) meta.nextPageNumber = number; // a valid empty page: ask the same page again
    return { items: slice, meta };
  }

  private badPaging(req: SimRequest): SimReply | undefined {
    for (const k of ['pageSize', 'pageNumber']) {
      const v = req.query.get(k);
      if (v !== null && !/^[1-9]\d*$/.test(v)) return json(400, { [k]: ['A valid integer is required.'] });
    }
    return undefined;
  }

  private listThreats(req: SimRequest): SimReply {
    const bad = this.badPaging(req);
    if (bad) return bad;
    const r = this.range(req, ['receivedTime', 'latestTimeRemediated']);
    if (r && 'status' in r) return r;
    const now = this.clock();
    const hits = this.threatList.filter((th) =>
      th.messages.some((m) => m.vis <= now && (!r || (m.t >= r.from && m.t <= r.to))),
    );
    const { items, meta } = this.page(req, hits, r !== undefined);
    return json(200, { threats: items.map((th) => ({ threatId: th.id })), ...meta });
  }

  private threat(req: SimRequest): SimReply {
    const th = this.threatList.find((x) => x.id === req.params.id);
    const now = this.clock();
    if (!th?.messages.some((m) => m.vis <= now)) return json(404, { detail: 'Threat does not exist.' });
    const size = Math.min(Number(req.query.get('pageSize') ?? 100) || 100, 2000);
    const messages = th.messages.filter((m) => m.vis <= now).slice(0, size);
    return json(200, { threatId: th.id, messages: messages.map((m) => this.message(th, m)) });
  }

  private message(th: Threat, m: Message): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'threat', th.seq));
    const sender = person(rng, rng.pick(SENDER_DOMAINS));
    const to = person(rng, 'acme.example');
    const attack = rng.pick(ATTACKS);
    const id = this.messageId(m);
    const msg: Record<string, unknown> = {
      threatId: th.id,
      abxMessageId: Number(id),
      abxMessageIdStr: id,
      abxPortalUrl: `https://portal.abnormalsecurity.com/home/threat-center/remediation-history/${id}`,
      subject: attack.subject,
      fromAddress: sender.email,
      fromName: sender.displayName,
      senderDomain: sender.email.split('@')[1],
      toAddresses: to.email,
      recipientAddress: to.email,
      receivedTime: iso(m.t),
      sentTime: iso(m.t - 2000),
      internetMessageId: `<${rng.hex(8)}.${rng.hex(6)}@${sender.email.split('@')[1]}>`,
      remediationStatus: rng.pick(['Auto Remediated', 'Post Remediated', 'Not Remediated']),
      attackType: attack.type,
      attackStrategy: rng.pick(['Name Impersonation', 'Unknown Sender', 'Spoofed Email']),
      returnPath: sender.email,
      replyToEmails: [],
      ccEmails: [],
      senderIpAddress: `198.51.100.${rng.int(1, 254)}`,
      impersonatedParty: rng.pick(['None / Others', 'VIP', 'Brand']),
      attackVector: attack.vector,
      attachmentNames: attack.vector === 'Attachment' ? ['invoice.pdf'] : [],
      urls: attack.vector === 'Link' ? [`https://${rng.base62(8).toLowerCase()}.example/login`] : [],
      summaryInsights: rng.sample(INSIGHTS, 2),
      remediationTimestamp: iso(m.t + 30_000),
      isRead: false,
      attackedParty: rng.pick(['VIP', 'Employee (other)']),
      autoRemediated: true,
      postRemediated: false,
    };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(msg).length;
      if (left > 0) msg.summaryInsights = [...(msg.summaryInsights as string[]), 'x'.repeat(left)];
    }
    return msg;
  }

  private listCases(req: SimRequest): SimReply {
    if (!this.o.accountTakeover) return json(403, { detail: DETAIL[403] });
    const bad = this.badPaging(req);
    if (bad) return bad;
    const r = this.range(req, ['lastModifiedTime', 'createdTime', 'customerVisibleTime']);
    if (r && 'status' in r) return r;
    const now = this.clock();
    const hits = this.caseList.filter((c) => c.vis <= now && (!r || (c.t >= r.from && c.t <= r.to)));
    const { items, meta } = this.page(req, hits, r !== undefined);
    return json(200, {
      cases: items.map((c) => {
        const rng = new Rng(seedOf(this.seed, 'case', c.seq));
        return {
          caseId: c.id,
          description: 'Potential Account Takeover',
          severity_level: rng.pick(['LOW', 'MEDIUM', 'HIGH']),
          confidence: rng.pick(['LOW', 'MEDIUM', 'HIGH']),
          last_modified: iso(c.t),
          first_observed: iso(c.created),
          created: iso(c.created),
          tenant: 'acme',
        };
      }),
      ...meta,
    });
  }

  private caseDetails(req: SimRequest): SimReply {
    if (!this.o.accountTakeover) return json(403, { detail: DETAIL[403] });
    const c = this.caseList.find((x) => x.id === req.params.id);
    if (!c || c.vis > this.clock()) return json(404, { detail: 'Abnormal Case does not exist.' });
    const rng = new Rng(seedOf(this.seed, 'case', c.seq));
    const who = person(rng, 'acme.example');
    const out: Record<string, unknown> = {
      caseId: c.id,
      case_status: rng.pick([
        'Action Required',
        'Acknowledged (In progress)',
        'Acknowledged (Attack resolved)',
      ]),
      severity: 'Potential Account Takeover',
      affectedEmployee: who.displayName,
      customerVisibleTime: iso(c.created + 60_000),
      firstObserved: iso(c.created),
      threatIds: this.threatList.length ? [this.threatList[c.seq % this.threatList.length].id] : [],
      analysis: 'Suspicious sign-in from an unusual location followed by a new mail rule.',
      remediation_status: rng.pick(['Not remediated', 'remediated']),
      severity_level: rng.pick(['LOW', 'MEDIUM', 'HIGH']),
      confidence: rng.pick(['LOW', 'MEDIUM', 'HIGH']),
      genai_summary: ['Impossible travel between two sign-ins', `Mail rule created by ${who.email}`],
      tenant: 'acme',
    };
    return json(200, out);
  }
}

/** The envelope id of one version of a case: its id and the time it was last modified. */
export const caseEventId = (caseId: string, lastModified: string) => `${caseId}@${lastModified}`;

const DETAIL: Record<number, string> = {
  401: 'Invalid token.',
  403: 'You do not have permission to perform this action.',
  404: 'Not found.',
  429: 'Request was throttled. Expected available in 1 second.',
  500: 'A server error occurred.',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const SENDER_DOMAINS = [
  'secure-reply.org',
  'invoice-portal.example',
  'docs-share.example',
  'payroll-hr.example',
];
const INSIGHTS = [
  'Bitcoin Topics',
  'Personal Information Theft',
  'Unusual Sender',
  'Suspicious Link',
  'Invoice Content',
];
const ATTACKS = [
  { type: 'Extortion', vector: 'Text', subject: 'Your account has been compromised' },
  { type: 'Phishing: Credential', vector: 'Link', subject: 'Action required: verify your mailbox' },
  { type: 'Invoice/Payment Fraud (BEC)', vector: 'Attachment', subject: 'Overdue invoice #4471' },
  { type: 'Social Engineering (BEC)', vector: 'Text', subject: 'Quick favour?' },
  { type: 'Malware', vector: 'Attachment', subject: 'Scanned document' },
] as const;
