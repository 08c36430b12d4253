import { z } from 'zod';
import type { MicrosoftAccount } from '../../accounts/microsoft.ts';
import { parseDuration } from '../../core/duration.ts';
import type { TributaryError } from '../../core/errors.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { contextStream, refreshSetting } from '../../engine/context-snapshot.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import { graphBase, graphExplain, graphPages, graphRecords } from '../microsoft-graph.ts';

/**
 * Microsoft Entra ID users and groups as context records, through Microsoft Graph delta queries.
 * Vendor facts:
 *
 * - learn.microsoft.com/graph/delta-query-overview: `GET /users/delta` (or `/groups/delta`) answers pages
 *   linked by `@odata.nextLink` ("even if the current response contains an empty result") until a page
 *   carries `@odata.deltaLink`, which asks for the changes since; query parameters go in the first request
 *   only and are encoded into the links; the first round returns every current object ("Resources deleted
 *   before the initial delta query aren't returned"); replays are possible; `410 Gone` with a Location of
 *   an empty `$deltatoken` means "the application must restart with a full synchronization"; tokens of
 *   directory objects last seven days, after which "a 40X-series error with error codes such as
 *   syncStateNotFound" (devblogs "Duration of change tracking tokens": 400 syncStateNotFound).
 * - learn.microsoft.com/graph/api/user-delta and group-delta: `$select` (the id is always returned), a
 *   deleted object comes back as `{"id": …, "@removed": {"reason": "changed" | "deleted"}}` — `changed`
 *   when it was soft-deleted (restorable for 30 days), `deleted` when permanently deleted. Application
 *   permissions: User.Read.All (users), GroupMember.Read.All (groups; Group.Read.All also works).
 * - learn.microsoft.com/graph/throttling-limits, identity and access: 3,500 to 8,000 resource units per
 *   10 seconds per app and tenant, 429 with Retry-After.
 *
 * Decisions: context records (engine/context-snapshot.ts, docs/architecture.md "Context records"): a
 * refresh is a delta round started without a token (the full state), ended by an end-of-snapshot marker;
 * the runs between follow the round's delta link (`continues`). The engine's delta-link cursor
 * (engine/delta-cursor.ts) keeps the next page or the delta link verbatim, so a crash resumes at the
 * uncommitted page. Envelope ids are the object ids, stable per entity, so destinations upsert; an object
 * with `@removed` (either reason: it is gone from the directory) is `op: delete`, delivered as Graph sends
 * it. An expired or reset link (410, or `syncStateNotFound`/`resyncRequired`) restarts a full round with a
 * gap warning. Records carry no change time: `time` is the ingest time.
 */

const property = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_@.]*$/, 'expected a Graph property name such as displayName');

const settings = z
  .object({
    userProperties: z
      .array(property)
      .min(1)
      .optional()
      .describe(
        "User properties to track ($select), e.g. accountEnabled, department; default: Graph's default set",
      )
      .meta({ title: 'User properties' }),
    groupProperties: z
      .array(property)
      .min(1)
      .optional()
      .describe(
        "Group properties to track ($select), e.g. displayName, mail, members; default: Graph's default set",
      )
      .meta({ title: 'Group properties' }),
    refreshEvery: refreshSetting('7d'),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const expired = (err: TributaryError) => err.code === 'graph_delta_expired';

/** A Graph delta stream as context: a token-less round is the refresh, its delta link the changes after it. */
const graphContext = (entity: string, stream: ReturnType<typeof restPoll<Settings, MicrosoftAccount>>) =>
  contextStream<Settings, MicrosoftAccount>({
    title: stream.title,
    description: stream.description,
    entity,
    op: (r) => (r && typeof r === 'object' && '@removed' in r ? 'delete' : 'upsert'),
    refreshEvery: (s) => parseDuration(s.refreshEvery ?? '7d'),
    full: stream.read,
    delta: stream.read,
    continues: true,
  });

export default defineSource<Settings, MicrosoftAccount>({
  id: 'microsoft-entra-id-context',
  title: 'Microsoft Entra ID Context',
  account: 'microsoft',
  stability: 'ga',
  family: 'context',
  description:
    'Microsoft Entra ID users and groups as context records (one per entity, upserted): a full snapshot, then changes and deletions through Graph delta queries.',
  setupGuide: [
    'You need a Microsoft Entra administrator who can grant tenant-wide admin consent.',
    '1. Microsoft Entra admin center → **App registrations** → **New registration** (single tenant), or reuse the app of another Microsoft collector.',
    '   Copy the **Application (client) ID** and the **Directory (tenant) ID**; create a **client secret** (its *Value*) or upload a certificate.',
    '2. **API permissions** → **Add a permission** → **Microsoft Graph** → **Application permissions**: `User.Read.All` (users) and',
    '   `GroupMember.Read.All` (groups), then **Grant admin consent for <your tenant>**.',
    '3. Create a **Microsoft** account in Tributary (tenant ID, client ID, secret or private key + certificate, cloud).',
    'The first run reads every user and group (a full refresh, ended by an end-of-snapshot marker); later runs read what changed, and the',
    'full state is read again every **Full refresh every** (default 7 days). Run it at least weekly: Graph forgets change links after 7 days,',
    'after which Tributary reads a full snapshot again.',
  ].join('\n'),
  settings,
  streams: {
    users: graphContext(
      'user',
      restPoll<Settings, MicrosoftAccount>({
        title: 'Users',
        description: 'Every user, then created, changed and deleted users (/users/delta).',
        url: ({ settings: s, account }) => `${graphBase(s, account)}/users/delta`,
        params: ({ settings: s }) => ({ $select: s.userProperties?.join(',') }),
        records: graphRecords,
        paginate: graphPages,
        cursor: { kind: 'delta', deltaLink: '@odata.deltaLink', expired },
        eventId: (r) => (typeof r?.id === 'string' && r.id ? r.id : undefined),
      }),
    ),
    groups: graphContext(
      'group',
      restPoll<Settings, MicrosoftAccount>({
        title: 'Groups',
        description: 'Every group, then created, changed and deleted groups (/groups/delta).',
        url: ({ settings: s, account }) => `${graphBase(s, account)}/groups/delta`,
        params: ({ settings: s }) => ({ $select: s.groupProperties?.join(',') }),
        records: graphRecords,
        paginate: graphPages,
        cursor: { kind: 'delta', deltaLink: '@odata.deltaLink', expired },
        eventId: (r) => (typeof r?.id === 'string' && r.id ? r.id : undefined),
      }),
    ),
  },
  explain: graphExplain([
    { path: /\/users/i, permission: 'User.Read.All' },
    { path: /\/groups/i, permission: 'GroupMember.Read.All' },
  ]),
  async test({ settings: s, account, http, streams }) {
    const enabled = streams.length ? streams : ['users', 'groups'];
    const base = graphBase(s, account);
    if (enabled.includes('users')) await http.getJson(`${base}/users`, { $top: 1, $select: 'id' });
    if (enabled.includes('groups')) await http.getJson(`${base}/groups`, { $top: 1, $select: 'id' });
  },
});
