/**
 * Sophos Central simulator: token, whoami, partner tenants and the SIEM integration API. Vendor behaviour,
 * with where Sophos documents it (developer.sophos.com "Getting started", "SIEM integration API"; Sophos's
 * own script github.com/sophos/Sophos-Central-SIEM-Integration, api_client.py):
 *
 * - `POST /api/v2/oauth2/token` `grant_type=client_credentials&client_id&client_secret&scope=token` →
 *   `{access_token, token_type: "bearer", expires_in: 3600, …}`; a wrong credential is 400/401
 *   `invalid_client`.
 * - `GET /whoami/v1` → `{id, idType: tenant|partner|organization, apiHosts: {global, dataRegion}}` (a
 *   tenant's `dataRegion`; partners and organizations have only `global`).
 * - `GET /partner/v1/tenants/{id}` with `X-Partner-ID` (`/organization/v1/tenants/{id}` with
 *   `X-Organization-ID`) → the tenant, with its `apiHost`.
 * - `GET /partner/v1/tenants?pageTotal=true&page=N` (and `/organization/v1/tenants`): the tenants the partner or
 *   organization manages, `{items: [{id, name, dataGeography, dataRegion, billingType, apiHost, status}],
 *   pages: {current, size, total, items, maxSize}}`; `page` from 1, `pageSize` at most 100; `total` and `items`
 *   only with `pageTotal=true` (the documented way every partner script pages the list).
 * - `GET /siem/v1/events` and `/siem/v1/alerts` on the data region with `X-Tenant-ID`: `limit` (at most
 *   1000), `cursor`, or `from_date` (Unix seconds, "within the last 24 hours"; ignored with a cursor) →
 *   `{has_more, next_cursor, items}`; the script saves `next_cursor` after every page and stops when
 *   `has_more` is false. Events carry `id`, `when` (the event's time), `created_at`, `type`, `severity`,
 *   `name`, `location`, `source`, `customer_id`, `endpoint_id`, `endpoint_type`, `user_id`; alerts `id`,
 *   `when`, `created_at`, `severity`, `category`, `type`, `description`, `customer_id`, `data`, `location`,
 *   `threat`.
 * - Errors: `{"error": code, "message": text, "correlationId", "requestId"}`; 401 for a missing or expired
 *   token, 403 for a credential without access, 429 with Retry-After.
 *
 * Assumed where Sophos is silent: a `from_date` older than 24 hours, or a cursor issued more than 24 hours
 * ago, is 400 with the message naming it; items are listed in the order Sophos recorded them (late ones after
 * the cursor); re-asking a cursor answers the same page.
 */
import { randomBytes } from 'node:crypto';
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

export type SophosKind = 'events' | 'alerts';
export const DAY_MS = 86_400_000;

export interface SophosSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  /** Items per kind generated up front (default 40), `spacingMs` apart, the last a minute before now. */
  items?: number;
  spacingMs?: number;
  eventBytes?: number;
  /** Whose credentials these are (default tenant). */
  idType?: 'tenant' | 'partner' | 'organization';
  /** Tenants a partner or organization manages (default 1); items are spread over them. */
  tenants?: number;
  tokenTtlS?: number;
}

interface Item {
  seq: number;
  t: number;
  vis: number;
  /** Index of the tenant the item belongs to. */
  tenant: number;
}

interface Cursor {
  vis: number;
  seq: number;
  issued: number;
}

export class SophosSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tenantId: string;
  /** Every tenant's id; the first is `tenantId`. */
  readonly tenantIds: string[];
  readonly partnerId: string;
  private readonly o: SophosSimulatorOptions & { spacingMs: number; tokenTtlMs: number };
  private readonly logs: Record<SophosKind, Item[]> = { events: [], alerts: [] };
  private seq = 0;
  private readonly tokens = new Map<string, number>();
  private tokenCount = 0;
  private readonly cursors = new Map<string, Cursor>();
  private loopPages = 0;

  constructor(o: SophosSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.clientId = stableUuid(7, 1, this.seed);
    this.clientSecret = new Rng(this.seed).hex(48);
    this.tenantId = stableUuid(7, 2, this.seed);
    this.partnerId = stableUuid(7, 3, this.seed);
    this.tenantIds = [
      this.tenantId,
      ...Array.from({ length: Math.max(1, o.tenants ?? 1) - 1 }, (_, i) => stableUuid(7, 10 + i, this.seed)),
    ];
    this.o = { spacingMs: 60_000, ...o, tokenTtlMs: (o.tokenTtlS ?? 3600) * 1000 };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          sophosError(status, status >= 500 ? 'internalServerError' : 'error', `Error ${status}`),
        rateLimitReply: () => sophosError(429, 'tooManyRequests', 'Too many requests'),
      },
    });
    this.server.route('POST', '/api/v2/oauth2/token', (r) => this.token(r));
    this.server.route('GET', '/whoami/v1', (r) => this.authed(r, () => this.whoami()));
    for (const owner of ['partner', 'organization'] as const) {
      this.server.route('GET', `/${owner}/v1/tenants`, (r) =>
        this.authed(r, () => this.tenantList(r, owner)),
      );
      this.server.route('GET', `/${owner}/v1/tenants/:id`, (r) =>
        this.authed(r, () => this.tenant(r, owner)),
      );
    }
    this.server.route('GET', '/siem/v1/:kind', (r) => this.authed(r, () => this.siem(r)));
    // Endpoint actions that change state (isolation, scans): routed so a test that sees one fails.
    this.server.route('POST', '/endpoint/v1/endpoints/:id/isolation', () => json(202, {}));
    const n = o.items ?? 40;
    for (const kind of ['events', 'alerts'] as const)
      for (let t = 0; t < this.tenantIds.length; t++) {
        const share = Math.floor(n / this.tenantIds.length) + (t < n % this.tenantIds.length ? 1 : 0);
        this.addItems(kind, share, { from: this.clock() - 60_000 - (share - 1) * this.o.spacingMs }, t);
      }
  }

  account(): Record<string, string> {
    return {
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      tokenUrl: `${this.url}/api/v2/oauth2/token`,
      globalUrl: this.url,
    };
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls().filter((r) => r.path !== '/api/v2/oauth2/token');
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  tokensIssued(): number {
    return this.tokenCount;
  }

  loopNextCursors(pages = 1): void {
    this.loopPages = pages;
  }

  /** Ids of every item (of one tenant, by its index). */
  ids(kinds: readonly SophosKind[] = ['events', 'alerts'], tenant?: number): string[] {
    return kinds.flatMap((k) =>
      this.logs[k].filter((i) => tenant === undefined || i.tenant === tenant).map((i) => this.itemId(k, i)),
    );
  }

  addItems(kind: SophosKind, n: number, o: SpacedEvents = {}, tenant = 0): string[] {
    const added = spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) => {
      const i = { seq: this.seq++, t, vis, tenant };
      this.logs[kind].push(i);
      return i;
    });
    this.logs[kind].sort((a, b) => a.vis - b.vis || a.seq - b.seq);
    return added.map((i) => this.itemId(kind, i));
  }

  // -------------------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const f = new URLSearchParams(req.body.toString('utf8'));
    if (f.get('client_id') !== this.clientId || f.get('client_secret') !== this.clientSecret)
      return json(400, { error: 'invalid_client', error_description: 'Client authentication failed' });
    if (f.get('grant_type') !== 'client_credentials' || f.get('scope') !== 'token')
      return json(400, {
        error: 'invalid_request',
        error_description: 'grant_type and scope=token required',
      });
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, this.clock() + this.o.tokenTtlMs);
    this.tokenCount++;
    return json(200, {
      access_token: token,
      token_type: 'bearer',
      expires_in: Math.round(this.o.tokenTtlMs / 1000),
      refresh_token: randomBytes(16).toString('hex'),
      message: 'OK',
      errorCode: 'success',
    });
  }

  private authed(req: SimRequest, next: () => SimReply): SimReply {
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const expires = auth ? this.tokens.get(auth[1]) : undefined;
    if (expires === undefined || expires <= this.clock())
      return sophosError(401, 'unauthorized', 'Invalid or expired access token');
    return next();
  }

  private whoami(): SimReply {
    return this.o.idType === 'partner' || this.o.idType === 'organization'
      ? json(200, { id: this.partnerId, idType: this.o.idType, apiHosts: { global: this.url } })
      : json(200, {
          id: this.tenantId,
          idType: 'tenant',
          apiHosts: { global: this.url, dataRegion: this.url },
        });
  }

  private owns(req: SimRequest, owner: 'partner' | 'organization'): boolean {
    return this.o.idType === owner && req.headers[`x-${owner}-id`] === this.partnerId;
  }

  private tenantRecord(t: number): Record<string, unknown> {
    return {
      id: this.tenantIds[t],
      name: t === 0 ? 'Acme Ltd' : `Customer ${t}`,
      dataGeography: 'DE',
      dataRegion: 'eu01',
      billingType: 'term',
      partner: { id: this.partnerId },
      apiHost: this.url,
      status: 'active',
    };
  }

  private tenant(req: SimRequest, owner: 'partner' | 'organization'): SimReply {
    if (!this.owns(req, owner))
      return sophosError(
        403,
        'forbidden',
        `X-${owner === 'partner' ? 'Partner' : 'Organization'}-ID does not match the credential`,
      );
    const t = this.tenantIds.indexOf(req.params.id);
    if (t < 0) return sophosError(404, 'notFound', `Tenant ${req.params.id} not found`);
    return json(200, this.tenantRecord(t));
  }

  private tenantList(req: SimRequest, owner: 'partner' | 'organization'): SimReply {
    if (!this.owns(req, owner))
      return sophosError(
        403,
        'forbidden',
        `X-${owner === 'partner' ? 'Partner' : 'Organization'}-ID does not match the credential`,
      );
    const page = Number(req.query.get('page') ?? 1);
    const size = Number(req.query.get('pageSize') ?? 50);
    if (!Number.isInteger(page) || page < 1) return sophosError(400, 'badRequest', 'page must be 1 or more');
    if (!Number.isInteger(size) || size < 1 || size > 100)
      return sophosError(400, 'badRequest', 'pageSize must be between 1 and 100');
    const all = this.tenantIds.map((_, t) => this.tenantRecord(t));
    const total = Math.max(1, Math.ceil(all.length / size));
    return json(200, {
      pages: {
        current: page,
        size,
        maxSize: 100,
        ...(req.query.get('pageTotal') === 'true' ? { total, items: all.length } : {}),
      },
      items: all.slice((page - 1) * size, page * size),
    });
  }

  private siem(req: SimRequest): SimReply {
    const kind = req.params.kind as SophosKind;
    if (kind !== 'events' && kind !== 'alerts') return sophosError(404, 'notFound', 'No such resource');
    const tenant = this.tenantIds.indexOf(String(req.headers['x-tenant-id']));
    if (tenant < 0 || (tenant > 0 && this.o.idType !== 'partner' && this.o.idType !== 'organization'))
      return sophosError(403, 'forbidden', 'X-Tenant-ID missing or not accessible with this credential');
    const log = this.logs[kind].filter((i) => i.tenant === tenant);
    const q = req.query;
    const now = this.clock();
    const limit = Number(q.get('limit') ?? 200);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return sophosError(400, 'badRequest', 'limit must be between 1 and 1000');
    let from: Cursor;
    const asked = q.get('cursor');
    if (asked) {
      const c = this.cursors.get(asked);
      if (!c) return sophosError(400, 'badRequest', 'Invalid cursor');
      if (c.issued < now - DAY_MS)
        return sophosError(400, 'badRequest', 'Invalid cursor: older than 24 hours');
      from = c;
    } else {
      const fromDate = Number(q.get('from_date') ?? (now - 12 * 3_600_000) / 1000) * 1000;
      if (!Number.isFinite(fromDate))
        return sophosError(400, 'badRequest', 'from_date must be a Unix timestamp');
      if (fromDate < now - DAY_MS)
        return sophosError(400, 'badRequest', 'from_date must be within the last 24 hours');
      const firstAfter = log.findIndex((i) => i.t >= fromDate);
      const before = firstAfter <= 0 ? undefined : log[firstAfter - 1];
      from = before ? { vis: before.vis, seq: before.seq, issued: now } : { vis: -1, seq: -1, issued: now };
    }
    const after = log.filter(
      (i) =>
        i.vis <= now && i.t >= now - DAY_MS && (i.vis > from.vis || (i.vis === from.vis && i.seq > from.seq)),
    );
    const page = req.empty ? [] : after.slice(0, limit);
    const last = page.at(-1);
    let next = this.issue(last ? { vis: last.vis, seq: last.seq, issued: now } : { ...from, issued: now });
    let more = req.empty || after.length > page.length;
    if (this.loopPages > 0 && asked && page.length > 0) {
      // A looping vendor: the same cursor again, and more to come.
      this.loopPages--;
      next = asked;
      more = true;
    }
    return json(200, {
      has_more: more,
      next_cursor: next,
      items: page.map((i) => this.item(kind, i)),
    });
  }

  private issue(c: Cursor): string {
    const id = Buffer.from(`${c.vis}:${c.seq}:${randomBytes(9).toString('hex')}`).toString('base64');
    this.cursors.set(id, c);
    return id;
  }

  private itemId(kind: SophosKind, i: Item): string {
    return stableUuid(kind === 'events' ? 11 : 12, i.seq, this.seed);
  }

  private item(kind: SophosKind, i: Item): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, kind, i.seq));
    const who = person(rng, 'acme.example');
    const host = `${rng.pick(['LAPTOP', 'DESKTOP', 'SRV'])}-${rng.hex(6).toUpperCase()}`;
    const when = new Date(i.t).toISOString();
    const base: Record<string, unknown> = {
      id: this.itemId(kind, i),
      when,
      created_at: new Date(Math.max(i.t, i.vis)).toISOString(),
      customer_id: this.tenantIds[i.tenant],
      severity: rng.pick(['low', 'medium', 'high']),
      location: host,
      endpoint_id: stableUuid(13, rng.int(0, 50), this.seed),
      endpoint_type: rng.pick(['computer', 'server']),
      source_info: { ip: `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}` },
    };
    const item =
      kind === 'events'
        ? {
            ...base,
            type: rng.pick([
              'Event::Endpoint::Threat::Detected',
              'Event::Endpoint::WebControlViolation',
              'Event::Endpoint::UpdateSuccess',
            ]),
            name: `Malware detected: 'EICAR-AV-Test' at 'C:\\Users\\${who.login}\\Downloads\\eicar.com'`,
            source: `ACME\\${who.login}`,
            user_id: stableUuid(14, rng.int(0, 200), this.seed),
            group: 'MALWARE',
          }
        : {
            ...base,
            category: rng.pick(['malware', 'runtimeDetections', 'policy']),
            type: 'Event::Endpoint::Threat::CleanedUp',
            description: `Manual cleanup required: 'Mal/Generic-S' at 'C:\\Users\\${who.login}\\AppData\\x.exe'`,
            threat: 'Mal/Generic-S',
            data: { core_remedy_items: { totalItems: 1 }, endpoint_platform: 'windows' },
          };
    const bytes = this.o.eventBytes;
    if (bytes) {
      const left = bytes - JSON.stringify(item).length;
      if (left > 0) (item as Record<string, unknown>).description = 'x'.repeat(left);
    }
    return item;
  }
}

function sophosError(status: number, error: string, message: string): SimReply {
  return json(status, {
    error,
    message,
    correlationId: randomBytes(16).toString('hex'),
    requestId: randomBytes(16).toString('hex'),
  });
}
