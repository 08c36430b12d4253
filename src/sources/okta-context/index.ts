import { z } from 'zod';
import type { OktaAccount } from '../../accounts/okta.ts';
import { parseDuration } from '../../core/duration.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { contextStream, refreshSetting } from '../../engine/context-snapshot.ts';
import { readNestedList } from '../../engine/nested-list.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Okta users, groups and group memberships as context records (docs/architecture.md, "Context records").
 * Vendor facts:
 *
 * - developer.okta.com/docs/reference/api/users/ ("List Users", "List Users with a Filter"): `GET
 *   /api/v1/users` with `limit` (at most 200) and Link-header paging (`rel="next"`, an opaque `after`);
 *   without a filter every user but DEPROVISIONED ones; `filter=lastUpdated gt "2013-06-01T00:00:00.000Z"`
 *   (gt/lt joined by `and`) lists the users changed since. A deactivated user's `status` is DEPROVISIONED.
 * - developer.okta.com/docs/reference/api/groups/ ("List Groups", "List Group Members"): `GET
 *   /api/v1/groups` (`filter=lastUpdated gt "…"`), `GET /api/v1/groups/{groupId}/users`, Link paging.
 * - developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/ (scopes): a service app needs
 *   `okta.users.read` and `okta.groups.read`; an API token acts with its creator's admin role (Read-Only
 *   Administrator reads users and groups).
 * - developer.okta.com/docs/reference/rl-global-mgmt/ (Management rate limits, per org and minute, by
 *   plan): `/api/v1/users` and `/api/v1/groups` have their own buckets; the X-Rate-Limit-* headers
 *   refine the account's budget at run time. Error codes: developer.okta.com/docs/reference/error-codes/.
 *
 * Unconfirmed, hence early access: whether a `lastUpdated` filter lists DEPROVISIONED users (the List
 * Users page says only that an unfiltered list leaves them out); the largest `limit` of groups and group
 * members (200 is used, within every documented maximum).
 *
 * Decisions: a refresh lists every user / group / membership; deltas between refreshes read
 * `lastUpdated` windows (the engine's time window: lag, overlap, boundary ids) and deliver DEPROVISIONED
 * users as `op: delete`. Memberships have no delta API (membership changes are System Log events): they
 * are refreshed only, so a removed membership disappears at the next refresh's end-of-snapshot marker, as
 * do deleted users and groups. Membership records are `{groupId, user}` with id `groupId:userId`.
 */

const settings = z
  .object({
    refreshEvery: refreshSetting('24h'),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const base = (s: Settings, a: OktaAccount) => (s.baseUrl ?? a.url).replace(/\/+$/, '');
const PAGE = 200;
const refreshEvery = (s: Settings) => parseDuration(s.refreshEvery ?? '24h');
const idOf = (r: any) => (typeof r?.id === 'string' && r.id ? r.id : undefined);
const list = (body: unknown) => body as unknown[];

/** A full list of `path`, Link-paged; and the same list filtered on `lastUpdated` for a time window. */
function entityList(path: string, title: string, description: string) {
  const full = restPoll<Settings, OktaAccount>({
    title,
    url: ({ settings: s, account }) => `${base(s, account)}${path}`,
    params: () => ({ limit: PAGE }),
    records: list,
    paginate: paginate.linkHeader(),
    cursor: { kind: 'opaque', time: 'lastUpdated' },
    eventId: idOf,
  });
  const delta = restPoll<Settings, OktaAccount>({
    title,
    url: ({ settings: s, account }) => `${base(s, account)}${path}`,
    params: (_ctx, window) => ({
      limit: PAGE,
      filter: `lastUpdated gt "${window.start.toISOString()}" and lastUpdated lt "${window.end.toISOString()}"`,
    }),
    records: list,
    paginate: paginate.linkHeader(),
    cursor: { time: 'lastUpdated', order: 'any', lag: '1m', minOverlap: '1s' },
    eventId: idOf,
  });
  return { title, description, full: full.read, delta: delta.read };
}

export default defineSource<Settings, OktaAccount>({
  id: 'okta-context',
  title: 'Okta Context',
  account: 'okta',
  stability: 'early-access',
  family: 'context',
  description:
    'Okta users, groups and group memberships as context records: a full refresh on a schedule, changes in between, deprovisioned users as deletions.',
  setupGuide: [
    'Uses an **Okta** account; the one of the Okta System Log collector works when it may read users and groups.',
    '',
    '**API token**: the token of an admin with the **Read-Only Administrator** role (Security → API → Tokens → Create Token) reads users and groups.',
    '',
    '**OAuth service app**: Okta Admin Console → **Applications → Applications** → the API Services app → **Okta API Scopes** →',
    '**Grant** `okta.users.read` and `okta.groups.read`; on the account set **Scopes** to `okta.users.read`, `okta.groups.read`',
    '(add `okta.logs.read` when the account also serves the System Log collector: every scope asked for must be granted).',
    'The app also needs an admin role that can read users and groups (**Admin roles** tab: Read-Only Administrator).',
    '',
    'Every **Full refresh every** (default 24 hours) the collector reads all users, groups and memberships and ends each stream with an',
    'end-of-snapshot marker; between refreshes it reads users and groups changed since (`lastUpdated`), deprovisioned users as deletions.',
    'Memberships change only at refreshes. Early access: Okta does not document whether a `lastUpdated` filter lists deprovisioned users;',
    'if it does not, they leave the table at the next refresh.',
  ].join('\n'),
  settings,
  streams: {
    users: contextStream<Settings, OktaAccount>({
      ...entityList(
        '/api/v1/users',
        'Users',
        'Every user (not deprovisioned), then users changed since; deprovisioned users as deletions.',
      ),
      entity: 'user',
      op: (r) => (r?.status === 'DEPROVISIONED' ? 'delete' : 'upsert'),
      refreshEvery,
    }),
    groups: contextStream<Settings, OktaAccount>({
      ...entityList(
        '/api/v1/groups',
        'Groups',
        'Every group, then groups changed since; deleted groups leave at the next refresh.',
      ),
      entity: 'group',
      refreshEvery,
    }),
    'group-members': contextStream<Settings, OktaAccount>({
      title: 'Group memberships',
      description: 'Every member of every group ({groupId, user}), read at each refresh.',
      entity: 'membership',
      refreshEvery,
      full: (ctx) =>
        readNestedList(
          {
            parents: () => ({
              url: `${base(ctx.settings, ctx.account)}/api/v1/groups`,
              query: { limit: PAGE },
            }),
            parentRecords: list,
            parentPages: paginate.linkHeader(),
            children: (_c, group) => ({
              url: `${base(ctx.settings, ctx.account)}/api/v1/groups/${encodeURIComponent(group.id)}/users`,
              query: { limit: PAGE },
            }),
            childRecords: list,
            childPages: paginate.linkHeader(),
            record: (group, user) => ({ id: `${group.id}:${user.id}`, raw: { groupId: group.id, user } }),
          },
          ctx,
        ),
    }),
  },
  explain({ status, message }) {
    if (status === 401)
      return {
        code: 'okta_invalid_token',
        action:
          "Okta rejected the credentials (E0000011): create a new API token as a Read-Only Administrator, or check the service app's key and clientId, and update the account.",
      };
    if (status === 403)
      return {
        code: 'okta_missing_permission',
        action:
          "Okta denied reading users or groups (E0000006 or insufficient_scope): grant the service app okta.users.read and okta.groups.read (Okta API Scopes tab) and list them in the account's Scopes, and give it (or the API token's admin) the Read-Only Administrator role.",
      };
    if (status === 404)
      return {
        code: 'okta_not_found',
        action: `Check the Okta org URL on the account (e.g. https://acme.okta.com). Okta said: ${message}`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    const enabled = streams.length ? streams : ['users', 'groups', 'group-members'];
    if (enabled.includes('users')) await http.getJson(`${base(s, account)}/api/v1/users`, { limit: 1 });
    if (enabled.some((x) => x !== 'users'))
      await http.getJson(`${base(s, account)}/api/v1/groups`, { limit: 1 });
  },
});
