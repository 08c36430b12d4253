/**
 * Microsoft Graph directory simulator for delta queries: `GET /v1.0/users/delta`, `/v1.0/groups/delta`
 * (and plain `/v1.0/users`, `/v1.0/groups` lists) behind an Entra ID v2.0 token endpoint
 * (src/sim/microsoft.ts), following Microsoft's documentation:
 *
 * - learn.microsoft.com/graph/delta-query-overview ("Use delta query to track changes", "State tokens",
 *   "Synchronization reset", "Token duration") — a round is pages linked by `@odata.nextLink` (a page
 *   may be empty and still carry one) ending with `@odata.deltaLink`; never both on one page. The first
 *   round returns the objects that currently exist, in their latest state; later rounds return what
 *   changed since the link was issued, each changed object once in its latest state. Query parameters of
 *   the first request are encoded into the links. `410 Gone` with a Location of the initial query (an
 *   empty `$deltatoken`) asks for a full resynchronisation; directory delta tokens last seven days, then
 *   "a 40X-series error with error codes such as syncStateNotFound" — devblogs.microsoft.com "Duration of
 *   change tracking tokens": BadRequest `syncStateNotFound`, "The sync state generation is not found. The
 *   delta token is expired and data must be synchronized again."
 * - learn.microsoft.com/graph/api/user-delta, group-delta — `$select` (id always returned; without it a
 *   default set), deletions as `{"id", "@removed": {"reason": "changed"|"deleted"}}` (changed = soft
 *   deleted, deleted = permanently). Permissions User.Read.All; GroupMember.Read.All or Group.Read.All.
 * - learn.microsoft.com/graph/api/user-list — `$top` 1 to 999, default 100.
 *
 * Assumed (not documented), decided here: Graph chooses delta page sizes (`pageSize`, default 100); a snapshot lists objects in
 * creation order; changes that become visible late (`visibleDelayMs`) join the first round that starts
 * after they became visible; the 410 body's error code is `resyncRequired`.
 */
import { person, Rng, type SimReply, type SimRequest, seedOf, stableUuid } from '../../sim/kit.ts';
import {
  decodeSkipToken,
  encodeSkipToken,
  GraphSim,
  type GraphSimOptions,
  graphError,
  Padding,
} from '../../sim/microsoft.ts';

export type DirectoryKind = 'users' | 'groups';

interface DirEntity {
  kind: DirectoryKind;
  n: number;
  /** Change sequence of its creation and of its latest visible change. */
  createdSeq: number;
  changeSeq: number;
  version: number;
  removed?: 'changed' | 'deleted';
}

interface Pending {
  at: number;
  apply: () => void;
}

/** A delta or skip token's state: snapshot (`s`) or changes (`d`), the round's bounds and position. */
interface Token {
  m: 's' | 'd';
  /** Changes already delivered before this round (d) / the snapshot's upper bound (s). */
  from: number;
  to: number;
  /** Position inside the round: the last createdSeq (s) or changeSeq (d) delivered. */
  pos: number;
  sel: string;
  /** Sim time the round's delta link was issued, for expiry. */
  at: number;
  gen: number;
}

export interface EntraDirectorySimulatorOptions extends GraphSimOptions {
  users?: number;
  groups?: number;
  /** Objects per delta page (Graph decides; default 100). */
  pageSize?: number;
  /** Records of about this many bytes of JSON. */
  eventBytes?: number;
  /** Delta links older than this answer syncStateNotFound (default 7 days). */
  tokenLifetimeMs?: number;
}

const USER_DEFAULT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const GROUP_DEFAULT = [
  'createdDateTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'mailEnabled',
  'mailNickname',
  'securityEnabled',
  'visibility',
  'id',
];

export class EntraDirectorySimulator extends GraphSim {
  private readonly entities: Record<DirectoryKind, DirEntity[]> = { users: [], groups: [] };
  private seq = 0;
  private pending: Pending[] = [];
  private readonly pageSize: number;
  private readonly eventBytes?: number;
  private readonly tokenLifetime: number;
  /** Tokens of an older generation answer 410 (a synchronization reset). */
  private generation = 0;

  constructor(o: EntraDirectorySimulatorOptions = {}) {
    super(o, {
      permissions: ['User.Read.All', 'GroupMember.Read.All'],
      rateLimit: { requests: 3500, windowMs: 10_000 },
    });
    this.pageSize = o.pageSize ?? 100;
    this.eventBytes = o.eventBytes;
    this.tokenLifetime = o.tokenLifetimeMs ?? 7 * 86_400_000;
    this.add('users', o.users ?? 60);
    this.add('groups', o.groups ?? 20);
    const userPerms = [
      'User.Read.All',
      'User.ReadWrite.All',
      'Directory.Read.All',
      'Directory.ReadWrite.All',
    ];
    const groupPerms = [
      'GroupMember.Read.All',
      'Group.Read.All',
      'Group.ReadWrite.All',
      'Directory.Read.All',
      'Directory.ReadWrite.All',
    ];
    this.get('/v1.0/users/delta', userPerms, (req) => this.delta(req, 'users'));
    this.get('/v1.0/groups/delta', groupPerms, (req) => this.delta(req, 'groups'));
    this.get('/v1.0/users', userPerms, (req) => this.plainList(req, 'users'));
    this.get('/v1.0/groups', groupPerms, (req) => this.plainList(req, 'groups'));
  }

  /** Creates `n` objects, visible `visibleDelayMs` from now (default at once); returns their ids. */
  add(kind: DirectoryKind, n: number, o: { visibleDelayMs?: number } = {}): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const e: DirEntity = { kind, n: this.entities[kind].length, createdSeq: -1, changeSeq: -1, version: 0 };
      this.entities[kind].push(e);
      ids.push(this.idOf(e));
      this.schedule(o.visibleDelayMs ?? 0, () => {
        e.createdSeq = e.changeSeq = ++this.seq;
      });
    }
    return ids;
  }

  /** Changes object `n` (its job title and department move on). */
  update(kind: DirectoryKind, n: number, o: { visibleDelayMs?: number } = {}): string {
    const e = this.entities[kind][n];
    this.schedule(o.visibleDelayMs ?? 0, () => {
      e.version++;
      e.changeSeq = ++this.seq;
    });
    return this.idOf(e);
  }

  /** Deletes object `n`: `soft` (reason "changed", restorable) or permanently (reason "deleted"). */
  remove(kind: DirectoryKind, n: number, o: { soft?: boolean } = {}): string {
    const e = this.entities[kind][n];
    this.schedule(0, () => {
      e.removed = o.soft ? 'changed' : 'deleted';
      e.changeSeq = ++this.seq;
    });
    return this.idOf(e);
  }

  /** Invalidates every delta and skip token issued so far: they answer 410 Gone. */
  resetSync(): void {
    this.generation++;
  }

  /** Ids of the objects that exist (a full drain delivers each once). */
  eventIds(kinds: DirectoryKind[] = ['users', 'groups']): string[] {
    return kinds.flatMap((k) => this.entities[k].filter((e) => !e.removed).map((e) => this.idOf(e)));
  }

  idOf(e: Pick<DirEntity, 'kind' | 'n'>): string {
    return stableUuid(e.kind === 'users' ? 11 : 12, e.n, seedOf(this.seed, 'dir'));
  }

  private schedule(delayMs: number, apply: () => void): void {
    const at = this.clock() + delayMs;
    if (delayMs <= 0 && this.pending.length === 0) apply();
    else this.pending.push({ at, apply });
  }

  /** Applies the changes that became visible, in the order they became visible. */
  private catchUp(): void {
    if (!this.pending.length) return;
    const now = this.clock();
    const due = this.pending.filter((p) => p.at <= now).sort((a, b) => a.at - b.at);
    this.pending = this.pending.filter((p) => p.at > now);
    for (const p of due) p.apply();
  }

  private delta(req: SimRequest, kind: DirectoryKind): SimReply {
    this.catchUp();
    const q = req.query;
    const now = this.clock();
    const raw = q.get('$skiptoken') ?? q.get('$deltatoken');
    let token: Token;
    if (raw === null || raw === '') {
      const sel = q.get('$select') ?? '';
      token = { m: 's', from: 0, to: this.seq, pos: 0, sel, at: now, gen: this.generation };
    } else {
      const t = decodeSkipToken<Token>(raw);
      if (!t || typeof t.to !== 'number') return graphError(req, 400, 'BadRequest', 'Invalid state token.');
      if (t.gen !== this.generation) {
        const initial = `${req.origin}${req.path}?$deltatoken=`;
        return graphError(
          req,
          410,
          'resyncRequired',
          'Resync required. Replace any local cached copies of the directory objects with the results of a full sync.',
          { location: initial },
        );
      }
      if (q.has('$deltatoken') && now - t.at > this.tokenLifetime)
        return graphError(
          req,
          400,
          'syncStateNotFound',
          'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
        );
      token = q.has('$deltatoken')
        ? { m: 'd', from: t.to, to: this.seq, pos: t.to, sel: t.sel, at: now, gen: t.gen }
        : t;
    }
    const fields = token.sel ? new Set(['id', ...token.sel.split(',').map((f) => f.trim())]) : undefined;
    const all = this.entities[kind];
    let page: DirEntity[];
    let more: boolean;
    if (req.empty) {
      page = [];
      more = true;
    } else if (token.m === 's') {
      const live = all.filter(
        (e) => !e.removed && e.createdSeq > 0 && e.createdSeq <= token.to && e.createdSeq > token.pos,
      );
      live.sort((a, b) => a.createdSeq - b.createdSeq);
      page = live.slice(0, this.pageSize);
      more = live.length > page.length;
    } else {
      const changed = all.filter(
        (e) => e.changeSeq > token.pos && e.changeSeq <= token.to && e.createdSeq > 0,
      );
      changed.sort((a, b) => a.changeSeq - b.changeSeq);
      page = changed.slice(0, this.pageSize);
      more = changed.length > page.length;
    }
    const last = page[page.length - 1];
    const pos = last ? (token.m === 's' ? last.createdSeq : last.changeSeq) : token.pos;
    const values = page.map((e) => this.render(e, fields));
    const base = `${req.origin}${req.path}`;
    if (more) {
      const next = `${base}?$skiptoken=${encodeSkipToken({ ...token, pos })}`;
      return this.collection(req, kind, values, next);
    }
    // The round is complete: its delta link asks for the changes after its upper bound.
    const deltaToken = encodeSkipToken({ ...token, m: 'd', pos: token.to, at: now });
    return this.collection(
      req,
      kind,
      values,
      undefined,
      `,"@odata.deltaLink":${JSON.stringify(`${base}?$deltatoken=${deltaToken}`)}`,
    );
  }

  private plainList(req: SimRequest, kind: DirectoryKind): SimReply {
    this.catchUp();
    const top = Number(req.query.get('$top') ?? 100);
    if (!Number.isInteger(top) || top < 1 || top > 999)
      return graphError(
        req,
        400,
        'Request_BadRequest',
        `Invalid page size specified: '${req.query.get('$top')}'. Must be between 1 and 999 inclusive.`,
      );
    const sel = req.query.get('$select');
    const fields = sel ? new Set(['id', ...sel.split(',')]) : undefined;
    const live = this.entities[kind].filter((e) => !e.removed && e.createdSeq > 0).slice(0, top);
    return this.collection(
      req,
      kind,
      live.map((e) => this.render(e, fields)),
    );
  }

  private render(e: DirEntity, fields: Set<string> | undefined): string {
    const id = this.idOf(e);
    if (e.removed) return JSON.stringify({ id, '@removed': { reason: e.removed } });
    const rng = new Rng(seedOf(this.seed, e.kind, e.n));
    const full: Record<string, unknown> = e.kind === 'users' ? user(rng, e.version) : group(rng, e.n);
    full.id = id;
    const keep = fields ?? new Set(e.kind === 'users' ? USER_DEFAULT : GROUP_DEFAULT);
    const out: Record<string, unknown> = {};
    for (const k of keep) if (k in full) out[k] = full[k];
    if (this.eventBytes) out.proxyAddresses = [];
    const json = JSON.stringify(out);
    return this.eventBytes ? PROXY_PADDING.fill(json, 'proxyAddresses', this.eventBytes) : json;
  }
}

const DEPARTMENTS = ['Finance', 'Engineering', 'Sales', 'Legal', 'Operations', 'Security'];
const TITLES = ['Analyst', 'Engineer', 'Manager', 'Director', 'Specialist'];

function user(rng: Rng, version: number): Record<string, unknown> {
  const p = person(rng, 'contoso.com');
  return {
    businessPhones: [`+1 425 555 ${String(rng.int(0, 9999)).padStart(4, '0')}`],
    displayName: p.displayName,
    givenName: p.first,
    jobTitle: `${TITLES[(rng.int(0, 4) + version) % TITLES.length]}`,
    mail: p.email,
    mobilePhone: null,
    officeLocation: `${rng.int(1, 40)}/${rng.int(1000, 3999)}`,
    preferredLanguage: rng.pick(['en-US', 'de-DE', 'fr-FR', 'ja-JP']),
    surname: p.last,
    userPrincipalName: p.email,
    accountEnabled: true,
    department: DEPARTMENTS[(rng.int(0, 5) + version) % DEPARTMENTS.length],
    employeeId: String(rng.int(10000, 99999)),
    onPremisesSamAccountName: p.login.slice(0, 20),
    userType: 'Member',
  };
}

function group(rng: Rng, n: number): Record<string, unknown> {
  const name = `${rng.pick(DEPARTMENTS)} ${rng.pick(['Team', 'Admins', 'Readers', 'Project'])} ${n}`;
  const nick = name.replace(/\W/g, '').toLowerCase();
  const unified = rng.bool(0.5);
  return {
    createdDateTime: new Date(Date.UTC(2024, 0, 1) + n * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    description: `${name} members`,
    displayName: name,
    groupTypes: unified ? ['Unified'] : [],
    mail: unified ? `${nick}@contoso.com` : null,
    mailEnabled: unified,
    mailNickname: nick,
    securityEnabled: !unified,
    visibility: unified ? 'Private' : null,
  };
}

const pool = new Rng('entra-directory-padding');
const PROXY_PADDING = new Padding(
  Array.from({ length: 32 }, (_, i) => `smtp:alias${i}.${pool.base62(40)}@contoso.onmicrosoft.com`),
);
