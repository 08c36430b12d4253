/**
 * Cloudflare Audit Logs v2 simulator (`GET /client/v4/accounts/{account_id}/logs/audit`), following:
 *
 * - Cloudflare's API as its own SDK states it (cloudflare-typescript `accounts.logs.audit.list`, generated from
 *   Cloudflare's OpenAPI document): `since` ("logs newer than") and `before` ("logs older than"), both
 *   required, RFC 3339 or a date; `direction` asc | desc (sorting order); `limit`; `cursor` from the previous
 *   page's `result_info.cursor`, absent on the last page; entries with `id`, `account`, `action` (`time`,
 *   `type`, `result`, `description`), `actor` (`id`, `context`, `email`, `ip_address`, `token_id`, `token_name`,
 *   `type`), `raw` (`cf_ray_id`, `method`, `status_code`, `uri`, `user_agent`), `resource`, `zone`.
 * - The v4 envelope `{"success", "errors": [{"code", "message"}], "messages", "result", "result_info"}`
 *   (developers.cloudflare.com/fundamentals/api/how-to/make-api-calls).
 * - `Authorization: Bearer <API token>`; 1,200 requests per five minutes, then 429 with `Retry-After`
 *   (developers.cloudflare.com/fundamentals/api/reference/limits); 30 days retrievable (audit-logs page).
 *
 * Assumed: `since` exclusive and `before` exclusive; `limit` default 100, at most 1000 (more is 400); error
 * codes 10000 "Authentication error" (401 for a bad token, 403 for a token without the permission or the
 * account) and 7003 for an unknown account; ties in time ordered by arrival.
 */
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
  type SpacedEvents,
  seedOf,
  spacedEvents,
  stableUuid,
  TimedLog,
} from '../../sim/kit.ts';

export interface CloudflareSimulatorOptions {
  clock?: Clock;
  seed?: number | string;
  events?: number;
  spacingMs?: number;
  eventBytes?: number;
  token?: string;
  accountId?: string;
  /** false: the token lacks Access: Audit Logs Read. */
  permission?: boolean;
  /** Requests per five minutes (default 1,200). */
  rateLimitPer5Min?: number;
}

const envelope = (status: number, code: number, message: string) =>
  json(status, { success: false, errors: [{ code, message }], messages: [], result: null });

export class CloudflareSimulator extends SimHost {
  readonly server: SimServer;
  readonly clock: Clock;
  readonly seed: number;
  readonly token: string;
  readonly accountId: string;
  private readonly o: CloudflareSimulatorOptions & { spacingMs: number };
  private readonly log = new TimedLog();
  private window = { start: -1, count: 0 };
  private loopPages = 0;

  constructor(o: CloudflareSimulatorOptions = {}) {
    super();
    this.clock = o.clock ?? Date.now;
    this.seed = typeof o.seed === 'string' ? seedOf(o.seed) : (o.seed ?? 1);
    this.token = o.token ?? new Rng(this.seed).base64url(40);
    this.accountId = o.accountId ?? new Rng(seedOf(this.seed, 'acct')).hex(32);
    this.o = { spacingMs: 30_000, ...o };
    this.server = new SimServer({
      name: 'api',
      clock: this.clock,
      hooks: {
        errorReply: (_req, status) =>
          status === 401 || status === 403
            ? envelope(status, 10000, 'Authentication error')
            : status === 404
              ? envelope(
                  404,
                  7003,
                  'Could not route to /accounts, perhaps your object identifier is invalid?',
                )
              : envelope(
                  status,
                  status >= 500 ? 10001 : 10400,
                  status >= 500 ? 'Internal Server Error' : 'Bad request',
                ),
        rateLimitReply: () => envelope(429, 10429, 'Too many requests'),
      },
    });
    this.server.route('GET', '/client/v4/accounts/:account/logs/audit', (r) => this.audit(r));
    const n = o.events ?? 100;
    const now = this.clock();
    const first = now - 5 * 60_000 - Math.max(0, n - 1) * this.o.spacingMs;
    for (let i = 0; i < n; i++) this.log.add(first + i * this.o.spacingMs, first + i * this.o.spacingMs);
  }

  writeCalls(): RecordedRequest[] {
    return this.server.writeCalls();
  }

  loopNextCursors(pages = 1): void {
    this.loopPages = pages;
  }

  addEvents(n: number, o: SpacedEvents = {}): string[] {
    return spacedEvents(n, this.clock(), this.o.spacingMs, o).map(([t, vis]) =>
      this.idOf(this.log.add(t, vis)),
    );
  }

  eventIds(): string[] {
    return this.log.ascending().map((s) => this.idOf(s));
  }

  private idOf(seq: number): string {
    return stableUuid(3, seq, this.seed);
  }

  private audit(req: SimRequest): SimReply {
    const now = this.clock();
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return envelope(401, 10000, 'Authentication error');
    const limit5 = this.o.rateLimitPer5Min ?? 1200;
    const w = Math.floor(now / 300_000);
    if (w !== this.window.start) this.window = { start: w, count: 0 };
    if (++this.window.count > limit5)
      return {
        ...envelope(429, 10429, 'Too many requests'),
        headers: {
          'content-type': 'application/json',
          'retry-after': String(Math.ceil(((w + 1) * 300_000 - now) / 1000)),
        },
      };
    if (req.params.account !== this.accountId)
      return envelope(404, 7003, 'Could not route to /accounts, perhaps your object identifier is invalid?');
    if (this.o.permission === false) return envelope(403, 10000, 'Authentication error');
    const q = req.query;
    const since = Date.parse(q.get('since') ?? '');
    const before = Date.parse(q.get('before') ?? '');
    if (!Number.isFinite(since) || !Number.isFinite(before))
      return envelope(400, 10400, 'since and before are required RFC 3339 timestamps');
    if (since < now - 30 * 86_400_000) return envelope(400, 10400, 'since must be within the last 30 days');
    const limit = Number(q.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return envelope(400, 10400, 'limit must be 1 to 1000');
    const desc = q.get('direction') === 'desc';
    const cursor = q.get('cursor');
    let after = -1;
    if (cursor) {
      const m = /^pos:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
      if (!m) return envelope(400, 10400, 'invalid cursor');
      after = Number(m[1]);
    }
    const order = this.log.ascending().filter((s) => {
      const t = this.log.t[s];
      return this.log.vis[s] <= now && t > since && t < before;
    });
    if (desc) order.reverse();
    const from = after < 0 ? 0 : order.indexOf(after) + 1;
    const page = req.empty ? [] : order.slice(from, from + limit);
    let next: string | undefined;
    if (this.loopPages > 0) {
      this.loopPages--;
      next = cursor ?? Buffer.from(`pos:${order[0] ?? 0}`).toString('base64url');
    } else if (req.empty) next = cursor ?? undefined;
    else if (from + limit < order.length)
      next = Buffer.from(`pos:${page[page.length - 1]}`).toString('base64url');
    const result = page.map((s) => this.entry(s));
    return json(200, {
      success: true,
      errors: [],
      messages: [],
      result,
      result_info: next ? { count: result.length, cursor: next } : { count: result.length },
    });
  }

  private entry(seq: number): Record<string, unknown> {
    const rng = new Rng(seedOf(this.seed, 'cf', seq));
    const who = person(rng, 'acme.example');
    const a = rng.pick(ACTIONS);
    const zone = rng.bool(0.6)
      ? { id: rng.hex(32), name: rng.pick(['acme.example', 'shop.acme.example']) }
      : undefined;
    const e: Record<string, unknown> = {
      id: this.idOf(seq),
      account: { id: this.accountId, name: 'Acme Corp' },
      action: {
        description: a.description,
        result: rng.bool(0.95) ? 'success' : 'failure',
        time: new Date(this.log.t[seq]).toISOString(),
        type: a.type,
      },
      actor: {
        id: rng.hex(32),
        context: rng.pick(['dash', 'api_token'] as const),
        email: who.email,
        ip_address: ipv4(rng),
        token_id: rng.hex(32),
        token_name: 'terraform',
        type: 'user',
      },
      raw: {
        cf_ray_id: `${rng.hex(16)}-SJC`,
        method: a.method,
        status_code: 200,
        uri: `/accounts/${this.accountId}/${a.product}`,
        user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15',
      },
      resource: {
        id: rng.hex(32),
        product: a.product,
        request: {},
        response: {},
        scope: zone ? 'zones' : 'accounts',
        type: a.resource,
      },
      zone,
    };
    if (this.o.eventBytes) {
      const left = this.o.eventBytes - JSON.stringify(e).length;
      if (left > 0) (e.resource as Record<string, unknown>).request = { note: 'x'.repeat(left) };
    }
    return e;
  }
}

const ACTIONS = [
  {
    type: 'update',
    method: 'PATCH',
    product: 'dns_records',
    resource: 'dns.record',
    description: 'DNS record updated',
  },
  {
    type: 'create',
    method: 'POST',
    product: 'access/apps',
    resource: 'access.application',
    description: 'Access application created',
  },
  {
    type: 'delete',
    method: 'DELETE',
    product: 'firewall/rules',
    resource: 'firewall.rule',
    description: 'Firewall rule deleted',
  },
  {
    type: 'update',
    method: 'PUT',
    product: 'members',
    resource: 'account.member',
    description: 'Member role changed',
  },
  { type: 'view', method: 'GET', product: 'tokens', resource: 'api.token', description: 'API token rolled' },
] as const;
