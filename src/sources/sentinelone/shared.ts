import { z } from 'zod';
import { type SentinelOneAccount, sentinelOneHost } from '../../accounts/sentinelone.ts';
import { defineSource, type SourceDef } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import { getPath, type Window } from '../../engine/time-window.ts';

/**
 * What the three SentinelOne sources share (Management API v2.1 lists). Vendor facts, from SentinelOne's
 * Cortex XSOAR event collector (demisto/content, Packs/SentinelOne/Integrations/SentinelOneEventCollector:
 * `SentinelOneEventCollector.py` and its recorded answers under `test_data/`):
 *
 * - `GET /web/api/v2.1/activities`, `/threats` and `/cloud-detection/alerts` take time filters named
 *   `{field}__gt` (the collector sends `createdAt__gt`), `limit` (the collector allows 1–1000), `sortBy`
 *   (`createdAt`; `alertInfoCreatedAt` for alerts) and `sortOrder=asc`.
 * - Answers are `{"data": [...], "pagination": {"nextCursor": …, "totalItems": N}}`; the next page is asked
 *   with `cursor={nextCursor}` and the same filters; the recorded answers show the last page's `nextCursor`
 *   as `null` (once as the string "null", handled as none).
 * - Records: activities `{id, activityType, activityUuid, createdAt, updatedAt, accountId, siteId, userId,
 *   threatId, data: {...}, primaryDescription, ...}`; threats `{id, threatInfo: {threatId, createdAt,
 *   updatedAt, classification, confidenceLevel, incidentStatus, mitigationStatus, analystVerdict, ...},
 *   agentRealtimeInfo, agentDetectionInfo, indicators, mitigationStatus}`; alerts `{alertInfo: {alertId,
 *   createdAt, updatedAt, reportedAt, eventType, source, incidentStatus, analystVerdict, ...}, ruleInfo,
 *   agentDetectionInfo, agentRealtimeInfo, sourceProcessInfo, targetProcessInfo, ...}`; times are RFC 3339
 *   with microseconds, UTC.
 *
 * Assumed (why early access): the `__gte`/`__lt` forms of the time filters (the same family as `__gt`),
 * `sortBy=updatedAt` on threats, error bodies (`{"errors": [{"code", "detail", "title"}]}`), the rate limit
 * (see the account kind), how long data stays listable (no gap warning), the 2-minute lag.
 */

export interface SentinelOneSettings {
  pageSize: number;
  baseUrl?: string;
}

export const sentinelOneSettings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .meta({ title: 'Page size' })
      .describe('Records asked for per page (SentinelOne allows at most 1000)'),
  })
  .strict();

export const apiRoot = (s: SentinelOneSettings, a: SentinelOneAccount) =>
  `${(s.baseUrl ?? sentinelOneHost(a)).replace(/\/+$/, '')}/web/api/v2.1`;

/** The next-page cursor, or none (`null`, absent, or the string "null" seen in recorded answers). */
export const nextCursor = (body: any): string | undefined => {
  const c = body?.pagination?.nextCursor;
  return typeof c === 'string' && c !== '' && c !== 'null' ? c : undefined;
};

export interface ListFacts {
  /** The list's path under /web/api/v2.1. */
  path: string;
  /** The filter field (`createdAt`, `updatedAt`) sent as `{field}__gte` and `{field}__lt`. */
  filter: string;
  sortBy: string;
  /** The record's time: the window's field. */
  time: string;
  eventId: (record: any) => string | undefined;
  missingId: string;
  title: string;
  description: string;
}

export function sentinelOneList(f: ListFacts) {
  return restPoll<SentinelOneSettings, SentinelOneAccount>({
    title: f.title,
    description: f.description,
    url: ({ settings, account }) => `${apiRoot(settings, account)}${f.path}`,
    params: ({ settings }, w: Window) => ({
      [`${f.filter}__gte`]: w.start.toISOString(),
      [`${f.filter}__lt`]: w.end.toISOString(),
      sortBy: f.sortBy,
      sortOrder: 'asc',
      limit: settings.pageSize,
    }),
    records: (body) => body?.data,
    paginate: paginate.cursor({ param: 'cursor', from: nextCursor }),
    cursor: { time: f.time, lag: '2m', order: 'asc', maxWindow: '1d' },
    eventId: f.eventId,
    missingId: f.missingId,
  });
}

/** `{id}@{updatedAt}`: one event per version of a record that changes in place. */
export const versionId = (idPath: string, updatedPath: string) => (r: any) => {
  const id = getPath(r, idPath);
  const updated = getPath(r, updatedPath);
  return (typeof id === 'string' || typeof id === 'number') && id !== '' && typeof updated === 'string'
    ? `${id}@${updated}`
    : undefined;
};

const SETUP = [
  '1. In the SentinelOne console (Admin or Account scope) go to **Settings → Users → Service Users** and click',
  "   **Create New Service User** (or use a console user's **API token** from My User → Actions → Generate API token).",
  '2. Give it the **Viewer** role at the scope to read (account or site) and choose how long the token lasts. Copy the',
  '   **API token** (shown once) and note its **expiry date**.',
  '3. Create a **SentinelOne** account in Tributary with the console URL (e.g. `https://usea1-acme.sentinelone.net`),',
  "   the token, and the account's **expiresAt** set to the token's expiry: health warns 14 days before it ends.",
  '   User tokens last six months; generate a new one and update the account before then.',
];

export function sentinelOneSource(o: {
  id: string;
  title: string;
  description: string;
  stream: string;
  list: ListFacts;
  what: string;
  extraGuide?: string[];
}): SourceDef<SentinelOneSettings, SentinelOneAccount> {
  const list = sentinelOneList(o.list);
  return defineSource<SentinelOneSettings, SentinelOneAccount>({
    id: o.id,
    title: o.title,
    account: 'sentinelone',
    stability: 'early-access',
    family: 'rest-time-window',
    description: o.description,
    setupGuide: [
      ...SETUP,
      ...(o.extraGuide ?? []),
      '',
      'Early access: SentinelOne publishes its API reference inside the console only. The time filters, sort',
      'fields, error bodies and rate limits were taken from public integrations; Tributary paces 4 requests/s per',
      'account (429 and Retry-After honoured) and waits 2 minutes behind now for late records.',
    ].join('\n'),
    settings: sentinelOneSettings as unknown as z.ZodType<SentinelOneSettings>,
    streams: { [o.stream]: list },
    explain({ status, message }) {
      if (status === 401)
        return {
          code: 'sentinelone_invalid_token',
          action:
            'SentinelOne refused the API token: it is wrong, revoked or expired (user tokens last six months). Generate a new one for the (service) user and update the account, with its expiresAt.',
        };
      if (status === 403)
        return {
          code: 'sentinelone_forbidden',
          action: `The token's user may not read ${o.what}: give it the Viewer role (or higher) at the account or site scope to collect.`,
        };
      if (status === 400)
        return {
          code: 'sentinelone_bad_request',
          action: `SentinelOne refused the query${message ? ` (${message})` : ''}: check the console URL (the management console, not a regional alias); if it is right, report this with the logs.`,
        };
      return undefined;
    },
    async test({ settings, account, http }) {
      // Proves the token and the right to read this list.
      const now = Date.now();
      await http.getJson(`${apiRoot(settings, account)}${o.list.path}`, {
        [`${o.list.filter}__gte`]: new Date(now - 3_600_000).toISOString(),
        [`${o.list.filter}__lt`]: new Date(now).toISOString(),
        limit: 1,
      });
    },
  });
}
