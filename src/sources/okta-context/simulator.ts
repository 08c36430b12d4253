/**
 * Okta directory simulator: users, groups and group members as the Okta Management API serves them,
 * behind an API token (SSWS). Behaviours and where they come from:
 *
 * - developer.okta.com/docs/reference/api/users/ ("List Users", "List Users with a Filter"): `GET
 *   /api/v1/users` with `limit` and `after`; the `Link` header carries `rel="self"` and, while more
 *   users exist, `rel="next"` (the `after` cursor is opaque); without a filter, DEPROVISIONED users are not
 *   listed; `filter=lastUpdated gt "2013-06-01T00:00:00.000Z"` (operators gt/lt, joined by `and`) lists
 *   users changed since, and the user object (`id`, `status`, `created`, `activated`, `statusChanged`,
 *   `lastLogin`, `lastUpdated`, `passwordChanged`, `type`, `profile`, `credentials`, `_links`).
 * - developer.okta.com/docs/reference/api/groups/ ("List Groups", "List Group Members"): `GET
 *   /api/v1/groups` (`limit`, `after`, `filter=lastUpdated gt "…"`), `GET /api/v1/groups/{id}/users`
 *   (`limit`, `after`), Link paging, the group object (`id`, `created`, `lastUpdated`,
 *   `lastMembershipUpdated`, `objectClass`, `type`, `profile.name`, `profile.description`, `_links`).
 * - developer.okta.com/docs/reference/error-codes/: the error body (`errorCode`, `errorSummary`,
 *   `errorLink`, `errorId`, `errorCauses`); E0000011 invalid token (401), E0000006 no permission (403),
 *   E0000007 not found (404), E0000047 rate limit (429), E0000031 invalid search criteria (400).
 * - developer.okta.com/docs/reference/rl-best-practices/: `X-Rate-Limit-Limit`, `-Remaining`, `-Reset`
 *   (UTC epoch seconds) on every answer; Okta's own 429 carries no Retry-After (an injected fault adds one).
 *
 * Assumed where the docs are silent, decided here: lists are in id (creation) order; users created
 * since the simulator started are members of no group; a filtered user
 * list includes DEPROVISIONED users (the change that deprovisioned them); `limit` above the maximum
 * (200 users, 10000 groups, 1000 members) is clamped; an injected `empty` fault answers `[]` with a
 * `next` link to the same position (Okta may hand out a page with no records before the next one).
 */
import { randomBytes } from 'node:crypto';
import { json, type SimReply, type SimRequest, SimServer } from '../../sim/kit.ts';

export interface OktaDirectorySimulatorOptions {
  clock?: () => number;
  users?: number;
  groups?: number;
  /** Records of about this many bytes of JSON. */
  eventBytes?: number;
  /** The most records a page holds, below Okta's maxima (a test knob: pages of a size a test wants). */
  pageSize?: number;
  rateLimitPerMinute?: number;
}

interface User {
  n: number;
  status: 'ACTIVE' | 'SUSPENDED' | 'DEPROVISIONED';
  created: number;
  lastUpdated: number;
  version: number;
}

interface Group {
  n: number;
  created: number;
  lastUpdated: number;
  lastMembershipUpdated: number;
  members: Set<number>;
  deleted?: boolean;
}

const MAX = { users: 200, groups: 10_000, members: 1000 };

export class OktaDirectorySimulator extends SimServer {
  readonly token = `00${randomBytes(20).toString('hex')}`;
  private readonly users: User[] = [];
  private readonly groups: Group[] = [];
  private readonly eventBytes?: number;
  private readonly rateLimit: number;
  private readonly pageSize: number;
  private rl = { window: -1, count: 0 };
  /** The endpoints the token may read (false: 403 E0000006). */
  permissions = { users: true, groups: true };
  /** Next links repeat the current position this many times (a pagination loop). */
  private loops = 0;

  constructor(o: OktaDirectorySimulatorOptions = {}) {
    super({ clock: o.clock });
    this.eventBytes = o.eventBytes;
    this.rateLimit = o.rateLimitPerMinute ?? 600;
    this.pageSize = o.pageSize ?? Number.POSITIVE_INFINITY;
    this.hooks = {
      errorReply: (_req, status) => this.statusError(status),
      rateLimitReply: (_req, retryAfter) => {
        const reply = this.error(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
        reply.headers = {
          ...reply.headers,
          'x-rate-limit-limit': String(this.rateLimit),
          'x-rate-limit-remaining': '0',
          'x-rate-limit-reset': String(Math.ceil(this.clock() / 1000) + retryAfter),
        };
        return reply;
      },
      decorate: (_req, reply) => this.decorate(reply),
    };
    const now = this.clock();
    const users = o.users ?? 50;
    for (let i = 0; i < users; i++) this.addUser(now - 3_600_000 + Math.floor((i * 3_000_000) / users));
    const groups = o.groups ?? 5;
    for (let g = 0; g < groups; g++) {
      const members = new Set<number>();
      for (let i = 0; i < users; i++) if (i % groups === g) members.add(i);
      this.groups.push({
        n: g,
        created: now - 7_200_000,
        lastUpdated: now - 7_200_000,
        lastMembershipUpdated: now - 7_200_000,
        members,
      });
    }
    this.route('GET', '/api/v1/users', (req) => this.guard(req, 'users', () => this.listUsers(req)));
    this.route('GET', '/api/v1/groups', (req) => this.guard(req, 'groups', () => this.listGroups(req)));
    this.route('GET', '/api/v1/groups/:id/users', (req) =>
      this.guard(req, 'groups', () => this.listMembers(req)),
    );
  }

  loopNextLinks(times: number): void {
    this.loops = times;
  }

  /** Creates users (at `at`, default now); returns their ids. */
  addUsers(n: number, at = this.clock()): string[] {
    return Array.from({ length: n }, () => this.userId(this.addUser(at)));
  }

  /** Changes a user's profile (its lastUpdated moves to now). */
  updateUser(n: number): string {
    const u = this.users[n];
    u.version++;
    u.lastUpdated = this.clock();
    return this.userId(u);
  }

  /** Deactivates a user: status DEPROVISIONED, no longer listed without a filter, no longer a member. */
  deprovision(n: number): string {
    const u = this.users[n];
    u.status = 'DEPROVISIONED';
    u.lastUpdated = this.clock();
    for (const g of this.groups) g.members.delete(n);
    return this.userId(u);
  }

  /** Removes a group (Okta deletes it: it is listed no more, under any filter). */
  deleteGroup(n: number): string {
    this.groups[n].deleted = true;
    return this.groupId(this.groups[n]);
  }

  /** Ids of the users listed without a filter. */
  userIds(): string[] {
    return this.users.filter((u) => u.status !== 'DEPROVISIONED').map((u) => this.userId(u));
  }
  groupIds(): string[] {
    return this.groups.filter((g) => !g.deleted).map((g) => this.groupId(g));
  }
  /** `groupId:userId` of every membership of a listed group. */
  membershipIds(): string[] {
    return this.groups
      .filter((g) => !g.deleted)
      .flatMap((g) =>
        [...g.members].sort((a, b) => a - b).map((u) => `${this.groupId(g)}:${this.userId(this.users[u])}`),
      );
  }

  userId(u: Pick<User, 'n'>): string {
    return `00u${String(u.n).padStart(17, '0')}`;
  }
  groupId(g: Pick<Group, 'n'>): string {
    return `00g${String(g.n).padStart(17, '0')}`;
  }

  private addUser(at: number): User {
    const u: User = { n: this.users.length, status: 'ACTIVE', created: at, lastUpdated: at, version: 0 };
    this.users.push(u);
    return u;
  }

  private guard(req: SimRequest, what: 'users' | 'groups', serve: () => SimReply): SimReply {
    const w = Math.floor(this.clock() / 60_000);
    if (w !== this.rl.window) this.rl = { window: w, count: 0 };
    if (++this.rl.count > this.rateLimit)
      return this.error(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
    if (String(req.headers.authorization ?? '') !== `SSWS ${this.token}`)
      return this.error(401, 'E0000011', 'Invalid token provided');
    if (!this.permissions[what])
      return this.error(403, 'E0000006', 'You do not have permission to perform the requested action');
    return serve();
  }

  private listUsers(req: SimRequest): SimReply {
    const filter = this.filter(req);
    if (filter === null) return this.error(400, 'E0000031', 'Invalid search criteria.');
    const all = this.users.filter((u) =>
      filter ? u.lastUpdated > filter.gt && u.lastUpdated < filter.lt : u.status !== 'DEPROVISIONED',
    );
    return this.page(
      req,
      all,
      MAX.users,
      (u) => this.userId(u),
      (u) => this.userJson(req, u),
    );
  }

  private listGroups(req: SimRequest): SimReply {
    const filter = this.filter(req);
    if (filter === null) return this.error(400, 'E0000031', 'Invalid search criteria.');
    const all = this.groups.filter(
      (g) => !g.deleted && (!filter || (g.lastUpdated > filter.gt && g.lastUpdated < filter.lt)),
    );
    return this.page(
      req,
      all,
      MAX.groups,
      (g) => this.groupId(g),
      (g) => this.groupJson(req, g),
    );
  }

  private listMembers(req: SimRequest): SimReply {
    const g = this.groups.find((x) => this.groupId(x) === req.params.id && !x.deleted);
    if (!g) return this.error(404, 'E0000007', `Not found: Resource not found: ${req.params.id} (UserGroup)`);
    const members = [...g.members].sort((a, b) => a - b).map((n) => this.users[n]);
    return this.page(
      req,
      members,
      MAX.members,
      (u) => this.userId(u),
      (u) => this.userJson(req, u),
    );
  }

  /** `lastUpdated gt "…" [and lastUpdated lt "…"]`; undefined without a filter, null when invalid. */
  private filter(req: SimRequest): { gt: number; lt: number } | undefined | null {
    const f = req.query.get('filter');
    if (f === null) return undefined;
    const m = /^lastUpdated gt "([^"]+)"(?: and lastUpdated lt "([^"]+)")?$/.exec(f.trim());
    if (!m) return null;
    const gt = Date.parse(m[1]);
    const lt = m[2] ? Date.parse(m[2]) : Number.POSITIVE_INFINITY;
    return Number.isNaN(gt) || Number.isNaN(lt) ? null : { gt, lt };
  }

  private page<T>(
    req: SimRequest,
    all: T[],
    max: number,
    idOf: (x: T) => string,
    render: (x: T) => unknown,
  ): SimReply {
    const limit = Math.min(max, this.pageSize, Math.max(1, Number(req.query.get('limit') ?? max) || max));
    const after = req.query.get('after');
    const from = after ? all.findIndex((x) => idOf(x) > after) : 0;
    const start = from < 0 ? all.length : from;
    const link = (a: string) => {
      const u = new URL(req.path, req.origin);
      for (const [k, v] of req.query) if (k !== 'after') u.searchParams.append(k, v);
      u.searchParams.set('after', a);
      return `<${u}>; rel="next"`;
    };
    const self = `<${req.origin}${req.path}${req.query.size ? `?${req.query}` : ''}>; rel="self"`;
    if (req.empty) return json(200, [], { link: [self, link(after ?? '')].join(', ') });
    const slice = all.slice(start, start + limit);
    const links = [self];
    if (this.loops > 0 && after) {
      this.loops--;
      links.push(link(after));
    } else if (start + limit < all.length) links.push(link(idOf(slice.at(-1)!)));
    return json(200, slice.map(render), { link: links.join(', ') });
  }

  private userJson(req: SimRequest, u: User) {
    const id = this.userId(u);
    const iso = (t: number) => new Date(t).toISOString();
    return {
      id,
      status: u.status,
      created: iso(u.created),
      activated: iso(u.created),
      statusChanged: iso(u.lastUpdated),
      lastLogin: null,
      lastUpdated: iso(u.lastUpdated),
      passwordChanged: iso(u.created),
      type: { id: 'oty1a2b3c4d5e6f7g8h9' },
      profile: {
        firstName: `Given${u.n}`,
        lastName: `Family${u.n}`,
        mobilePhone: null,
        secondEmail: null,
        login: `user${u.n}@example.com`,
        email: `user${u.n}@example.com`,
        title: `Engineer v${u.version}`,
        ...(this.eventBytes ? { notes: 'x'.repeat(Math.max(0, this.eventBytes - 700)) } : {}),
      },
      credentials: { provider: { type: 'OKTA', name: 'OKTA' } },
      _links: { self: { href: `${req.origin}/api/v1/users/${id}` } },
    };
  }

  private groupJson(req: SimRequest, g: Group) {
    const id = this.groupId(g);
    const iso = (t: number) => new Date(t).toISOString();
    return {
      id,
      created: iso(g.created),
      lastUpdated: iso(g.lastUpdated),
      lastMembershipUpdated: iso(g.lastMembershipUpdated),
      objectClass: ['okta:user_group'],
      type: 'OKTA_GROUP',
      profile: { name: `Group ${g.n}`, description: `Members of team ${g.n}` },
      _links: {
        self: { href: `${req.origin}/api/v1/groups/${id}` },
        users: { href: `${req.origin}/api/v1/groups/${id}/users` },
      },
    };
  }

  private decorate(reply: SimReply): void {
    const h = (reply.headers ??= {});
    if (h['x-rate-limit-limit'] === undefined) {
      const w = Math.floor(this.clock() / 60_000);
      h['x-rate-limit-limit'] = String(this.rateLimit);
      h['x-rate-limit-remaining'] = String(
        Math.max(0, this.rateLimit - (w === this.rl.window ? this.rl.count : 0)),
      );
      h['x-rate-limit-reset'] = String((w + 1) * 60);
    }
  }

  private error(status: number, code: string, summary: string): SimReply {
    return json(status, {
      errorCode: code,
      errorSummary: summary,
      errorLink: code,
      errorId: `oae${randomBytes(11).toString('hex')}`,
      errorCauses: [],
    });
  }

  private statusError(status: number): SimReply {
    if (status === 401) return this.error(401, 'E0000011', 'Invalid token provided');
    if (status === 403)
      return this.error(403, 'E0000006', 'You do not have permission to perform the requested action');
    if (status === 404) return this.error(404, 'E0000007', 'Not found: Resource not found: (Path)');
    if (status === 429)
      return this.error(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
    if (status >= 500) return this.error(status, 'E0000009', 'Internal Server Error');
    return this.error(status, 'E0000001', `Api validation failed (HTTP ${status})`);
  }
}
