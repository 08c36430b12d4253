/**
 * Office 365 Management Activity API simulator: `{root}/api/v1.0/{tenant}/activity/feed/…` behind an Entra ID
 * v2.0 token endpoint (src/sim/microsoft.ts, resource `https://manage.office.com`), following Microsoft's
 * documentation:
 *
 * - learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-reference —
 *   content types Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All;
 *   `POST /subscriptions/start?contentType=` (answers `{contentType, status, webhook}`), `GET /subscriptions/list`,
 *   `GET /subscriptions/content?contentType=&startTime=&endTime=` listing `{contentType, contentId, contentUri,
 *   contentCreated, contentExpiration}` "in the order in which the aggregations become available", startTime
 *   inclusive and endTime exclusive on contentCreated, formats `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`,
 *   `YYYY-MM-DDTHH:MM:SS` (UTC), both or neither (neither: the last 24 hours), at most 24 hours apart and
 *   starting at most 7 days back; truncated listings carry a `NextPageUri` header ("List available content" →
 *   "Pagination") with the same startTime and endTime plus `nextPage`, shaped as the reference's sample:
 *   `https://manage.office.com/api/v1/{tenant_id}/activity/feed/subscriptions/content?contentType=…&startTime=…
 *   &endTime=…&nextPage=…` — the `/api/v1/` root (not the `/api/v1.0/` of the requests) and no
 *   PublisherIdentifier, both as the sample shows them; "If startTime and endTime were not specified in the
 *   original request, they will be set to reflect the 24-hour interval that preceded the original request";
 *   `GET {contentUri}` answers the blob, a JSON array of records; a disabled
 *   subscription can neither list nor retrieve; after a (re)start only content from then on is available.
 *   Errors `{"error":{"code":"AFnnnnn","message":…}}`: AF10001 (no ActivityFeed.Read), AF20001/AF20002
 *   (missing/invalid parameter), AF20010 (URL tenant ≠ token tenant), AF20013 (tenant not a GUID), AF20020
 *   (content type), AF20022 (no subscription), AF20023 (subscription disabled), AF20030 (window), AF20031
 *   (nextPage), AF20050/AF20051 (content unknown/expired), AF429 (throttled), AF50000 (internal). Throttling:
 *   a baseline of 2,000 requests per minute per tenant. `PublisherIdentifier` is recorded.
 * - …/office-365-management-activity-api-schema — record shape: `Id` (GUID), `RecordType`, `CreationTime`
 *   (UTC, printed without a zone: `2015-06-29T20:03:19`), `Operation`, `OrganizationId`, `UserType`, `UserKey`,
 *   `Workload`, `ResultStatus`, `ObjectId`, `UserId`, `ClientIP`; DLP's `SensitiveInfoDetectionIsIncluded`
 *   (the sensitive values need the "Read DLP policy events including sensitive data" permission,
 *   ActivityFeed.ReadDlp).
 * - …/troubleshooting-the-office-365-management-activity-api — throttled requests answered
 *   `403 {"error":{"code":"AF429","message":"Too many requests. Method=GetBlob, PublisherId=…"}}`; records
 *   arrive typically 60–90 minutes after the activity (core services), sometimes up to 24 hours.
 * - Observed, not in the reference (github.com/MicrosoftDocs/office-365-management-api/issues/387,
 *   microsoft/coe-starter-kit#2807): starting an enabled subscription answers
 *   `400 {"error":{"code":"AF20024","message":"The subscription is already enabled. No property change."}}`;
 *   in a tenant whose unified audit log was never turned on, /start answers 400 with a code
 *   `StartSubscription [...] failed. Exception` and "Tenant … does not exist" (…/issues/89).
 *
 * Assumed (not documented), decided here: every AF2xxxx error is a 400; a missing or invalid token answers ASP.NET's
 * `401 {"Message":"Authorization has been denied for this request."}`, a token without ActivityFeed.Read
 * `401 AF10001`; the listing returns at most `listPageSize` entries a page (default 200); a blob can be listed
 * some time after its contentCreated (`listingDelayMs`, the reason clients re-list an overlap); an injected
 * `empty` fault answers a listing page `[]` whose NextPageUri asks for the same position again, and does not
 * apply to blobs, which are immutable; the API is served under both `/api/v1.0/` (the documented root) and
 * `/api/v1/` (the root of the documented NextPageUri); query parameter names match in any letter case (ASP.NET
 * Web API binds them case-insensitively), so a link written `endtime=` works as well as `endTime=`; the `&amp;`
 * of the reference's NextPageUri sample is taken as the page's HTML escaping (the header carries plain `&`);
 * NextPageUri is on the host the client addressed (the simulator stands in for manage.office.com).
 */
import { Readable } from 'node:stream';
import {
  type Clock,
  ipv4,
  json,
  person,
  type RecordedRequest,
  Rng,
  SimHost,
  type SimReply,
  type SimRequest,
  SimServer,
  seedOf,
  stableUuid,
} from '../../sim/kit.ts';
import { EntraIdentitySim, Padding, TOKEN_PATH } from '../../sim/microsoft.ts';
import { CONTENT_TYPES, type ContentType } from './index.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

interface Blob {
  contentType: ContentType;
  seq: number;
  contentId: string;
  /** contentCreated: when the blob became available. */
  created: number;
  /** When the listing shows it (≥ created). */
  listedAt: number;
  events: number;
  /** Index of its first record among all records of its content type (record ids derive from it). */
  firstEvent: number;
  eventsFrom: number;
  eventSpacing: number;
}

interface Subscription {
  status: 'enabled' | 'disabled';
  /** Content created before this is not available to the subscription (a restart starts afresh). */
  since: number;
}

export interface ManagementActivitySimOptions {
  clock?: Clock;
  seed?: number | string;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string | null;
  certificatePem?: string;
  /** The token resource the API accepts (default `https://manage.office.com`). */
  resource?: string;
  /** Application permissions granted with admin consent (default ActivityFeed.Read and ActivityFeed.ReadDlp). */
  permissions?: string[];
  /** Subscriptions that exist up front (default: every content type, enabled). */
  subscriptions?: Partial<Record<ContentType, 'enabled' | 'disabled'>>;
  /** false: unified audit logging was never turned on in the tenant. */
  auditEnabled?: boolean;
  /** Blobs generated up front per content type (default 3 each of the four Audit types). */
  blobs?: Partial<Record<ContentType, number>>;
  eventsPerBlob?: number;
  /** Records of about this many bytes of JSON. */
  eventBytes?: number;
  listPageSize?: number;
  /** Requests per minute per tenant (and per PublisherIdentifier pool) before AF429. */
  requestsPerMinute?: number;
  /** The status of AF429 answers: 403 as the troubleshooting page shows it, or 429. */
  throttleStatus?: 403 | 429;
  /**
   * The origin written into NextPageUri and contentUri (default: the one the client addressed).
   * `https://manage.office.com` is Microsoft seen through a proxy given as the collector's baseUrl.
   */
  linkOrigin?: string;
  host?: string;
  port?: number;
}

export class ManagementActivitySimulator extends SimHost {
  readonly server: SimServer;
  readonly identity: EntraIdentitySim;
  readonly clock: Clock;
  readonly seed: number;
  permissions: Set<string>;
  auditEnabled: boolean;
  readonly subscriptions = new Map<ContentType, Subscription>();
  /** Every PublisherIdentifier sent (`undefined` when a request had none). */
  readonly publisherIds: Array<string | undefined> = [];
  private readonly resource: string;
  private readonly blobs: Blob[] = [];
  private readonly byId = new Map<string, Blob>();
  private readonly eventCounts = new Map<ContentType, number>();
  private readonly eventBytes?: number;
  private readonly listPageSize: number;
  private readonly requestsPerMinute: number;
  private readonly throttleStatus: 403 | 429;
  private readonly linkOrigin?: string;
  private readonly throttle = new Map<string, { minute: number; count: number }>();
  private seq = 0;
  private loopPages = 0;

  constructor(o: ManagementActivitySimOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.resource = o.resource ?? 'https://manage.office.com';
    this.permissions = new Set(o.permissions ?? ['ActivityFeed.Read', 'ActivityFeed.ReadDlp']);
    this.auditEnabled = o.auditEnabled ?? true;
    this.eventBytes = o.eventBytes;
    this.listPageSize = o.listPageSize ?? 200;
    this.requestsPerMinute = o.requestsPerMinute ?? 2000;
    this.throttleStatus = o.throttleStatus ?? 403;
    this.linkOrigin = o.linkOrigin;
    this.server = new SimServer({
      name: 'manage',
      clock: this.clock,
      host: o.host,
      port: o.port,
      hooks: {
        errorReply: (req, status) => statusReply(req, status),
        rateLimitReply: (req) =>
          afError(429, 'AF429', `Too many requests. Method=${method(req)}, PublisherId=${publisher(req)}`),
      },
    });
    this.identity = new EntraIdentitySim(this.server, {
      tenantId: o.tenantId,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      certificatePem: o.certificatePem,
      resources: [this.resource],
      clock: this.clock,
    });
    for (const t of CONTENT_TYPES) {
      const status = o.subscriptions ? o.subscriptions[t] : 'enabled';
      if (status) this.subscriptions.set(t, { status, since: Number.NEGATIVE_INFINITY });
    }
    const now = this.clock();
    const counts: Partial<Record<ContentType, number>> = o.blobs ?? {
      'Audit.AzureActiveDirectory': 3,
      'Audit.Exchange': 3,
      'Audit.SharePoint': 3,
      'Audit.General': 3,
    };
    for (const [type, n] of Object.entries(counts) as Array<[ContentType, number]>) {
      for (let i = 0; i < n; i++) {
        this.addBlob(type, {
          created: now - 55 * MINUTE + (i * 50 * MINUTE) / Math.max(1, n),
          events: o.eventsPerBlob ?? 20,
        });
      }
    }

    for (const version of ['v1.0', 'v1']) {
      const feed = `/api/${version}/:tenant/activity/feed`;
      this.server.route('POST', `${feed}/subscriptions/start`, (req) =>
        this.guarded(req, 'StartSubscription', () => this.startSubscription(req)),
      );
      this.server.route('GET', `${feed}/subscriptions/list`, (req) =>
        this.guarded(req, 'ListSubscriptions', () =>
          json(
            200,
            [...this.subscriptions].map(([contentType, s]) => ({
              contentType,
              status: s.status,
              webhook: null,
            })),
          ),
        ),
      );
      this.server.route('GET', `${feed}/subscriptions/content`, (req) =>
        this.guarded(req, 'ListContent', () => this.list(req)),
      );
      this.server.route('GET', `${feed}/audit/:contentId`, (req) =>
        this.guarded(req, 'GetBlob', () => this.blob(req)),
      );
    }
  }

  get tenantId(): string {
    return this.identity.tenantId;
  }
  get clientId(): string {
    return this.identity.clientId;
  }
  get clientSecret(): string {
    return this.identity.clientSecret ?? '';
  }

  /** Requests that change the tenant (subscriptions/start); token requests only read and are not counted. */
  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => !(r.method === 'POST' && TOKEN_PATH.test(r.path)));
  }

  /** The next `pages` listings carry a NextPageUri identical to the request (a misbehaving vendor). */
  loopNextPages(pages = 1): void {
    this.loopPages = pages;
  }

  /**
   * Adds a content blob of `events` records: available (contentCreated) at `created`, listed from
   * `created + listingDelayMs`; its records happened before it, `spacingMs` apart. Returns its contentId.
   */
  addBlob(
    contentType: ContentType,
    o: { created?: number; events: number; listingDelayMs?: number; eventsFrom?: number; spacingMs?: number },
  ): string {
    const created = Math.floor(o.created ?? this.clock());
    const seq = this.seq++;
    const spacing = o.spacingMs ?? 1000;
    const first = this.eventCounts.get(contentType) ?? 0;
    this.eventCounts.set(contentType, first + o.events);
    const stamp = new Date(created).toISOString().replace(/\D/g, '').slice(0, 17);
    const slug = contentType.replace('.', '_');
    const contentId = `${stamp}${String(seq).padStart(6, '0')}$${stamp}${String(seq).padStart(6, '0')}$${slug.toLowerCase()}$${slug}$emea0025`;
    const blob: Blob = {
      contentType,
      seq,
      contentId,
      created,
      listedAt: created + (o.listingDelayMs ?? 0),
      events: o.events,
      firstEvent: first,
      eventsFrom: o.eventsFrom ?? created - 2 * MINUTE - o.events * spacing,
      eventSpacing: spacing,
    };
    this.blobs.push(blob);
    this.byId.set(contentId, blob);
    return contentId;
  }

  /** Ids of every record of the content types' blobs (listed yet or not), blob by blob. */
  eventIds(types: readonly ContentType[] = CONTENT_TYPES): string[] {
    return this.blobs
      .filter((b) => types.includes(b.contentType))
      .flatMap((b) => Array.from({ length: b.events }, (_, i) => this.idOf(b.contentType, b.firstEvent + i)));
  }

  /** Every record of a blob, as the API returns it. */
  records(contentId: string, readDlp = true): any[] {
    const b = this.byId.get(contentId);
    if (!b) return [];
    return Array.from({ length: b.events }, (_, i) => JSON.parse(this.render(b, i, readDlp)));
  }

  contentIds(type?: ContentType): string[] {
    return this.blobs.filter((b) => !type || b.contentType === type).map((b) => b.contentId);
  }

  idOf(type: ContentType, n: number): string {
    return stableUuid(10 + CONTENT_TYPES.indexOf(type), n, this.seed);
  }

  // -------------------------------------------------------------------------------------------

  /** Bearer token for the API, the URL's tenant, ActivityFeed.Read, the throttle; then the handler. */
  private guarded(req: SimRequest, op: string, handler: () => SimReply): SimReply {
    const pub = param(req, 'PublisherIdentifier') ?? undefined;
    this.publisherIds.push(pub);
    if (this.identity.check(req, this.resource))
      return json(401, { Message: 'Authorization has been denied for this request.' });
    const tenant = req.params.tenant;
    if (!GUID.test(tenant))
      return afError(400, 'AF20013', `The tenant ID passed in the URL (${tenant}) is not a valid GUID.`);
    if (tenant.toLowerCase() !== this.tenantId.toLowerCase())
      return afError(
        400,
        'AF20010',
        `The tenant ID passed in the URL (${tenant}) does not match the tenant ID passed in the access token (${this.tenantId}).`,
      );
    if (!this.permissions.has('ActivityFeed.Read'))
      return afError(
        401,
        'AF10001',
        `The permission set (${[...this.permissions].join(' ')}) sent in the request does not include the expected permission.`,
      );
    const minute = Math.floor(this.clock() / MINUTE);
    const pool = pub ?? ZERO_GUID;
    const t = this.throttle.get(pool);
    const count = t && t.minute === minute ? t.count + 1 : 1;
    this.throttle.set(pool, { minute, count });
    if (count > this.requestsPerMinute)
      return afError(this.throttleStatus, 'AF429', `Too many requests. Method=${op}, PublisherId=${pool}`);
    return handler();
  }

  private contentType(req: SimRequest): ContentType | SimReply {
    const raw = param(req, 'contentType');
    if (raw === null) return afError(400, 'AF20001', 'Missing parameter: contentType.');
    if (!(CONTENT_TYPES as readonly string[]).includes(raw))
      return afError(400, 'AF20020', 'The specified content type is not valid.');
    return raw as ContentType;
  }

  private startSubscription(req: SimRequest): SimReply {
    const type = this.contentType(req);
    if (typeof type !== 'string') return type;
    if (!this.auditEnabled) {
      const pub = param(req, 'PublisherIdentifier') ?? ZERO_GUID;
      return json(400, {
        error: {
          code: `StartSubscription [CorrId=${stableUuid(1, this.seq, 9)}][TenantId=${this.tenantId},ContentType=${type},ApplicationId=${this.clientId},PublisherId=${pub}][AppId=${this.clientId}] failed. Exception`,
          message: `Microsoft.Office.Compliance.Audit.DataServiceException: Tenant ${this.tenantId} does not exist.\r\n   at Microsoft.Office.Compliance.Audit.API.AzureManager.GetSubscriptionTableClientForTenant(Guid tenantID, Boolean throwIfTenantNull)`,
        },
      });
    }
    const existing = this.subscriptions.get(type);
    if (existing?.status === 'enabled')
      return afError(400, 'AF20024', 'The subscription is already enabled. No property change.');
    this.subscriptions.set(type, { status: 'enabled', since: this.clock() });
    return json(200, { contentType: type, status: 'enabled', webhook: null });
  }

  private subscribed(type: ContentType): Subscription | SimReply {
    const s = this.subscriptions.get(type);
    if (!s || !this.auditEnabled)
      return afError(400, 'AF20022', 'No subscription found for the specified content type.');
    if (s.status !== 'enabled') return afError(400, 'AF20023', 'The subscription was disabled.');
    return s;
  }

  private list(req: SimRequest): SimReply {
    const type = this.contentType(req);
    if (typeof type !== 'string') return type;
    const sub = this.subscribed(type);
    if (!('since' in sub)) return sub;
    const now = this.clock();
    const rawStart = param(req, 'startTime');
    const rawEnd = param(req, 'endTime');
    const windowError = () =>
      afError(
        400,
        'AF20030',
        'Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.',
      );
    let start = now - DAY;
    let end = now;
    if ((rawStart === null) !== (rawEnd === null)) return windowError();
    if (rawStart !== null && rawEnd !== null) {
      const s = parseApiTime(rawStart);
      if (s === undefined)
        return afError(400, 'AF20002', 'Invalid parameter type: startTime. Expected type: datetime');
      const e = parseApiTime(rawEnd);
      if (e === undefined)
        return afError(400, 'AF20002', 'Invalid parameter type: endTime. Expected type: datetime');
      if (e < s || e - s > DAY || s < now - 7 * DAY) return windowError();
      start = s;
      end = e;
    }
    const rawNext = param(req, 'nextPage');
    let after: { t: number; s: number } | undefined;
    if (rawNext !== null) {
      const m = /^(\d{13})R(\d{9})$/.exec(rawNext);
      if (!m) return afError(400, 'AF20031', `Invalid nextPage Input: ${rawNext}.`);
      after = { t: Number(m[1]), s: Number(m[2]) };
    }
    // As the reference's sample: the /api/v1/ root, contentType, the window as given (or, without one, the
    // 24 hours that preceded the original request), nextPage; no PublisherIdentifier.
    const nextUri = (cursor: { t: number; s: number }) => {
      const q = new URLSearchParams({
        contentType: type,
        startTime: rawStart ?? formatApiTime(start),
        endTime: rawEnd ?? formatApiTime(end),
        nextPage: `${String(cursor.t).padStart(13, '0')}R${String(cursor.s).padStart(9, '0')}`,
      });
      return `${this.linkOrigin ?? req.origin}/api/v1/${req.params.tenant}/activity/feed/subscriptions/content?${q.toString()}`;
    };
    let next: string | undefined;
    let page: Blob[] = [];
    if (req.empty) {
      next = nextUri(after ?? { t: 0, s: 0 }); // nothing this time, the same position again
    } else {
      const matching = this.blobs
        .filter(
          (b) =>
            b.contentType === type &&
            b.created >= start &&
            b.created < end &&
            b.created >= sub.since &&
            b.listedAt <= now &&
            b.created + 7 * DAY > now &&
            (!after || b.created > after.t || (b.created === after.t && b.seq > after.s)),
        )
        .sort((a, b) => a.created - b.created || a.seq - b.seq);
      page = matching.slice(0, this.listPageSize);
      const last = page.at(-1);
      if (matching.length > page.length && last) next = nextUri({ t: last.created, s: last.seq });
    }
    if (this.loopPages > 0) {
      this.loopPages--;
      next = `${req.origin}${req.path}${req.url.search}`;
    }
    const body = page.map((b) => ({
      contentUri: `${this.linkOrigin ?? req.origin}/api/v1.0/${req.params.tenant}/activity/feed/audit/${b.contentId}`,
      contentId: b.contentId,
      contentType: b.contentType,
      contentCreated: new Date(b.created).toISOString(),
      contentExpiration: new Date(b.created + 7 * DAY).toISOString(),
    }));
    return json(200, body, next ? { NextPageUri: next } : {});
  }

  private blob(req: SimRequest): SimReply {
    const b = this.byId.get(req.params.contentId);
    if (!b) return afError(400, 'AF20050', `The specified content (${req.params.contentId}) does not exist.`);
    const sub = this.subscribed(b.contentType);
    if (!('since' in sub)) return sub;
    if (b.created + 7 * DAY <= this.clock())
      return afError(
        400,
        'AF20051',
        `Content requested with the key ${req.params.contentId} has already expired. Content older than 7 days cannot be retrieved.`,
      );
    const readDlp = this.permissions.has('ActivityFeed.ReadDlp');
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: () => Readable.from(this.chunks(b, readDlp), { objectMode: false }),
    };
  }

  /** A blob's JSON array in pieces of about 64 KB, rendered as it is sent. */
  private *chunks(b: Blob, readDlp: boolean): Generator<string> {
    let buf = '[';
    for (let i = 0; i < b.events; i++) {
      buf += `${i ? ',' : ''}${this.render(b, i, readDlp)}`;
      if (buf.length >= 64 * 1024) {
        yield buf;
        buf = '';
      }
    }
    yield `${buf}]`;
  }

  /** Record `i` of a blob: deterministic, so a blob reads the same every time. */
  private render(b: Blob, i: number, readDlp: boolean): string {
    const n = b.firstEvent + i;
    const rng = new Rng(seedOf(this.seed, b.contentType, n));
    const record = RECORDS[b.contentType](rng, {
      Id: this.idOf(b.contentType, n),
      CreationTime: new Date(b.eventsFrom + i * b.eventSpacing).toISOString().slice(0, 19),
      OrganizationId: this.tenantId,
      readDlp,
    });
    const [field, padding] = PADDING[b.contentType];
    return padding.fill(JSON.stringify(record), field, this.eventBytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

function afError(status: number, code: string, message: string): SimReply {
  return json(status, { error: { code, message } });
}

function statusReply(req: SimRequest, status: number): SimReply {
  switch (status) {
    case 401:
    case 403:
      return json(status, { Message: 'Authorization has been denied for this request.' });
    case 404:
      return json(404, {
        Message: `No HTTP resource was found that matches the request URI '${req.url.href}'.`,
      });
    case 429:
      return afError(429, 'AF429', `Too many requests. Method=${method(req)}, PublisherId=${publisher(req)}`);
    default:
      return status >= 500
        ? afError(status, 'AF50000', 'An internal error occurred. Retry the request.')
        : afError(status, 'AF20001', 'Missing parameter: contentType.');
  }
}

const method = (req: SimRequest) =>
  req.path.includes('/audit/')
    ? 'GetBlob'
    : req.path.endsWith('/content')
      ? 'ListContent'
      : req.path.endsWith('/start')
        ? 'StartSubscription'
        : 'ListSubscriptions';
const publisher = (req: SimRequest) => param(req, 'PublisherIdentifier') ?? ZERO_GUID;

/** A query parameter by name in any letter case (assumed: ASP.NET Web API binds them case-insensitively). */
function param(req: SimRequest, name: string): string | null {
  const want = name.toLowerCase();
  for (const [k, v] of req.query) if (k.toLowerCase() === want) return v;
  return null;
}

/** The reference's datetime formats (UTC): YYYY-MM-DD, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS. */
function parseApiTime(s: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d)(?::(\d\d))?)?$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2] ?? '00:00'}:${m[3] ?? '00'}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

const formatApiTime = (ms: number) => new Date(ms).toISOString().slice(0, 19);

// ---------------------------------------------------------------------------------------------
// Records (Office 365 Management Activity API schema)

interface Common {
  Id: string;
  CreationTime: string;
  OrganizationId: string;
  readDlp: boolean;
}

const domain = 'contoso.onmicrosoft.com';

function base(rng: Rng, c: Common, recordType: number, operation: string, workload: string) {
  const p = person(rng, domain);
  return {
    CreationTime: c.CreationTime,
    Id: c.Id,
    Operation: operation,
    OrganizationId: c.OrganizationId,
    RecordType: recordType,
    ResultStatus: rng.bool(0.93) ? 'Succeeded' : 'Failed',
    UserKey: `${rng.int(100000, 999999)}${rng.hex(10).toUpperCase()}`,
    UserType: rng.weighted([
      [0, 8],
      [2, 1],
      [4, 1],
    ] as const),
    Version: 1,
    Workload: workload,
    ClientIP: ipv4(rng),
    ObjectId: p.email,
    UserId: p.email,
  };
}

const RECORDS: Record<ContentType, (rng: Rng, c: Common) => Record<string, unknown>> = {
  'Audit.AzureActiveDirectory': (rng, c) => {
    const logon = rng.bool(0.7);
    const r = base(
      rng,
      c,
      logon ? 15 : 8,
      logon ? 'UserLoggedIn' : rng.pick(['Add user.', 'Update user.', 'Add member to role.']),
      'AzureActiveDirectory',
    );
    return {
      ...r,
      AzureActiveDirectoryEventType: logon ? 1 : 0,
      ExtendedProperties: [
        {
          Name: 'UserAgent',
          Value:
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
        },
        { Name: 'RequestType', Value: 'OAuth2:Authorize' },
        { Name: 'ResultStatusDetail', Value: r.ResultStatus === 'Succeeded' ? 'Redirect' : 'UserError' },
      ],
      ModifiedProperties: [],
      Actor: [
        { ID: stableUuid(4, rng.int(0, 100000), 3), Type: 0 },
        { ID: r.UserId, Type: 5 },
      ],
      ActorContextId: c.OrganizationId,
      ActorIpAddress: r.ClientIP,
      InterSystemsId: rng.uuid(),
      IntraSystemId: rng.uuid(),
      Target: [{ ID: stableUuid(5, rng.int(0, 200), 3), Type: 0 }],
      TargetContextId: c.OrganizationId,
      ApplicationId: stableUuid(6, rng.int(0, 50), 3),
      ErrorNumber: r.ResultStatus === 'Succeeded' ? '0' : rng.pick(['50126', '50074', '53003']),
    };
  },
  'Audit.Exchange': (rng, c) => {
    const admin = rng.bool(0.3);
    const r = base(
      rng,
      c,
      admin ? 1 : 50,
      admin ? rng.pick(['Set-Mailbox', 'New-InboxRule', 'Add-MailboxPermission']) : 'MailItemsAccessed',
      'Exchange',
    );
    return admin
      ? {
          ...r,
          ResultStatus: 'True',
          ObjectId: `EURPR05A001.prod.outlook.com/Microsoft Exchange Hosted Organizations/${domain}/${r.UserId}`,
          Parameters: [
            { Name: 'Identity', Value: r.UserId },
            { Name: 'ForwardingSmtpAddress', Value: `smtp:${person(rng, 'example.net').email}` },
          ],
          ExternalAccess: false,
          OrganizationName: domain,
          OriginatingServer: `AM6PR05MB${rng.int(1000, 9999)} (15.20.7472.000)`,
        }
      : {
          ...r,
          Parameters: [],
          ClientInfoString: 'Client=OWA;Action=ViaProxy',
          ExternalAccess: false,
          LogonType: 0,
          MailboxGuid: rng.uuid(),
          MailboxOwnerUPN: r.UserId,
          OperationProperties: [
            { Name: 'MailAccessType', Value: 'Bind' },
            { Name: 'IsThrottled', Value: 'False' },
          ],
          OperationCount: rng.int(1, 12),
        };
  },
  'Audit.SharePoint': (rng, c) => {
    const r = base(
      rng,
      c,
      6,
      rng.pick(['FileAccessed', 'FileDownloaded', 'FileModified', 'FileUploaded']),
      rng.pick(['SharePoint', 'OneDrive']),
    );
    const file = `${rng.pick(['Q3 forecast', 'Board deck', 'Payroll', 'Design spec'])} ${rng.int(1, 99)}.${rng.pick(['xlsx', 'docx', 'pptx', 'pdf'])}`;
    const site = `https://contoso.sharepoint.com/sites/${rng.pick(['finance', 'hr', 'engineering', 'sales'])}`;
    return {
      ...r,
      ObjectId: `${site}/Shared Documents/${file}`,
      ModifiedProperties: [],
      Site: rng.uuid(),
      ItemType: 'File',
      ListId: rng.uuid(),
      ListItemUniqueId: rng.uuid(),
      WebId: rng.uuid(),
      EventSource: 'SharePoint',
      SourceFileExtension: file.split('.').pop(),
      SiteUrl: `${site}/`,
      SourceFileName: file,
      SourceRelativeUrl: 'Shared Documents',
      UserAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    };
  },
  'Audit.General': (rng, c) => {
    const r = base(
      rng,
      c,
      25,
      rng.pick(['MemberAdded', 'TeamCreated', 'ChannelAdded', 'MeetingDetail']),
      'MicrosoftTeams',
    );
    return {
      ...r,
      Members: [{ DisplayName: person(rng).displayName, Role: 1, UPN: person(rng, domain).email }],
      TeamName: rng.pick(['Security Operations', 'Finance', 'Project Atlas']),
      TeamGuid: `19:${rng.hex(32)}@thread.tacv2`,
      CommunicationType: 'Team',
      AADGroupId: rng.uuid(),
    };
  },
  'DLP.All': (rng, c) => {
    const r = base(rng, c, rng.pick([11, 13]), 'DLPRuleMatch', rng.pick(['SharePoint', 'Exchange']));
    const detection = {
      Confidence: 85,
      Count: rng.int(1, 20),
      SensitiveType: '50842eb7-edc8-4019-85dd-5a5c1f2bb085',
      SensitiveInformationDetections: c.readDlp
        ? {
            DetectedValues: [{ Name: 'Credit Card Number', Value: '4111 1111 1111 1111' }],
            ResultsTruncated: false,
          }
        : undefined,
    };
    return {
      ...r,
      IncidentId: rng.uuid(),
      PolicyDetails: [
        {
          PolicyId: rng.uuid(),
          PolicyName: 'U.S. Financial Data',
          Rules: [
            {
              RuleId: rng.uuid(),
              RuleName: 'Low volume of content detected U.S. Financial',
              Severity: 'Low',
              RuleMode: 'Enable',
              Actions: ['NotifyUser'],
              ConditionsMatched: { SensitiveInformation: [detection] },
            },
          ],
        },
      ],
      SensitiveInfoDetectionIsIncluded: c.readDlp,
      SharePointMetaData: {
        From: r.UserId,
        FileName: 'customers.xlsx',
        SiteCollectionUrl: 'https://contoso.sharepoint.com/sites/finance',
      },
    };
  },
};

// Realistic detail entries that pad records to a requested size (benchmarks, the huge-page check).
const pool = new Rng('o365-management-padding');
const nameValues = (prefix: string) =>
  Array.from({ length: 16 }, (_, i) => ({ Name: `${prefix}${i}`, Value: pool.base64url(200) }));
const PADDING: Record<ContentType, [string, Padding]> = {
  'Audit.AzureActiveDirectory': ['ExtendedProperties', new Padding(nameValues('AdditionalDetail'))],
  'Audit.Exchange': ['Parameters', new Padding(nameValues('Parameter'))],
  'Audit.SharePoint': [
    'ModifiedProperties',
    new Padding(
      Array.from({ length: 16 }, (_, i) => ({
        Name: `Column${i}`,
        NewValue: pool.base64url(180),
        OldValue: '',
      })),
    ),
  ],
  'Audit.General': [
    'Members',
    new Padding(
      Array.from({ length: 16 }, (_, i) => ({
        DisplayName: `Member ${i} ${pool.base62(150)}`,
        Role: 1,
        UPN: `m${i}@${domain}`,
      })),
    ),
  ],
  'DLP.All': [
    'PolicyDetails',
    new Padding(
      Array.from({ length: 16 }, () => ({ PolicyId: pool.uuid(), PolicyName: pool.base62(180), Rules: [] })),
    ),
  ],
};
