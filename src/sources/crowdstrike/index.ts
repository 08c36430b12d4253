import { z } from 'zod';
import { type CrowdStrikeAccount, crowdstrikeBase } from '../../accounts/crowdstrike.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type RawEvent, type ReadContext } from '../../core/source.ts';
import type { Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';
import { eventStream } from './event-stream.ts';

/**
 * CrowdStrike Falcon alerts, from the Alerts API (developer.crowdstrike.com, API reference → Alerts service
 * collection; the same operations as the published API specification that falconpy's endpoint table
 * `_alerts.py` carries):
 *
 * - `GetQueriesAlertsV2` — `GET /alerts/queries/alerts/v2`: "retrieves all Alerts ids that match a given
 *   query"; `filter` in Falcon Query Language, where `updated_timestamp` "supports range comparisons (>, <,
 *   >=, <=)"; `sort` `<field>|asc`; `limit` ("default: 100; max: 10000") and `offset` ("The first detection to
 *   return"); `include_hidden` (default true). The answer's `resources` are composite alert ids and
 *   `meta.pagination` has `offset`, `limit` and `total`.
 * - `PostEntitiesAlertsV2` — `POST /alerts/entities/alerts/v2` `{"composite_ids": [...]}`: "retrieves all
 *   Alerts given their composite ids" (a read-only query; PATCH on the same path changes alerts and is never
 *   called). Each alert has `composite_id`, `updated_timestamp` (RFC 3339, nanoseconds), `created_timestamp`,
 *   `status`, `severity`, `product`, `tactic`, `technique`, `device`, ….
 * - Scope: Alerts: READ. `PostCombinedAlertsV1` exists for "large amounts of Alerts (>10k) using a pagination
 *   based on an after token"; it is not used: its body and limits are not in the public reference we read.
 *
 * How it reads. Each window lists the ids of alerts whose `updated_timestamp` is in `[start, end)` (sorted
 * `updated_timestamp|asc`), a page of ids at a time, then fetches that page's alerts in one entities call
 * (restPoll `expandPage`). An alert changes in place (status, assignee, comments), so every change is a new
 * version: id `{composite_id}@{updated_timestamp}`, time `updated_timestamp` (keep the newest per
 * `raw.composite_id`). Offsets count into a list that moves while it is paged (an alert updated meanwhile
 * leaves its place), so windows are settled (restPoll `settle`, with `meta.pagination.total`) and the position
 * moves only when a window is complete.
 *
 * Assumed, not in the public reference (why early access): `offset + limit` is capped at 10,000 (the reason
 * the combined operation exists): a window whose first page reports a larger `total` is halved before
 * anything of it is delivered (restPoll `windowTooFull`); the error bodies (`{"meta": …, "errors":
 * [{"code", "message"}]}`, as the SDKs' `msa.ReplyMetaOnly`); how long alerts stay listable (90 days); the
 * lag (2 minutes); at most 1000 ids per entities call (FalconPy issue 1155 reports 1000 as the largest page
 * the query takes).
 *
 * Event Streams (`/sensors/entities/datafeed/v2`, a long-lived feed per partition) is the `event-stream` stream,
 * read by the stream consumer (event-stream.ts); Falcon Data Replicator is S3 + SQS (docs/sources.md).
 */

export interface CrowdStrikeSettings {
  pageSize: number;
  filter?: string;
  appId?: string;
  baseUrl?: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(500)
      .meta({ title: 'Page size' })
      .describe('Alert ids listed per page, and alerts fetched per entities call (at most 1000)'),
    filter: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .optional()
      .meta({ title: 'Extra FQL filter' })
      .describe(
        "Falcon Query Language added to the time filter with +, e.g. product:'epp' or severity:>=50 (default: every alert)",
      ),
    appId: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{1,32}$/, 'expected 1 to 32 letters and digits')
      .optional()
      .meta({ title: 'Event stream app ID' })
      .describe(
        'Event stream: the label of this connection, unique per consumer of your CID (default: tributary and the collector name)',
      ),
  })
  .strict();

const api = (s: CrowdStrikeSettings, a: CrowdStrikeAccount) =>
  (s.baseUrl ?? crowdstrikeBase(a)).replace(/\/+$/, '');

/** FQL time literal: RFC 3339 UTC with milliseconds, quoted. */
const fqlTime = (d: Date) => `'${d.toISOString()}'`;

export const alertsFilter = (w: Window, extra?: string) =>
  `updated_timestamp:>=${fqlTime(w.start)}+updated_timestamp:<${fqlTime(w.end)}${extra ? `+${extra}` : ''}`;

/** The event id of one version of an alert. */
export const alertVersionId = (alert: any): string | undefined =>
  typeof alert?.composite_id === 'string' && alert.composite_id
    ? `${alert.composite_id}@${typeof alert.updated_timestamp === 'string' ? alert.updated_timestamp : hashId(alert)}`
    : undefined;

/** The alerts of one page of ids, in one entities call. */
async function alertsOf(
  ctx: ReadContext<CrowdStrikeSettings, CrowdStrikeAccount>,
  ids: unknown[],
): Promise<RawEvent[]> {
  const compositeIds = ids.filter((id): id is string => typeof id === 'string' && id !== '');
  if (compositeIds.length === 0) return ids.map((raw) => ({ raw })); // dead-lettered: not ids
  const { body, response } = await ctx.http.requestJson({
    method: 'POST',
    readOnly: true, // PostEntitiesAlertsV2 reads alerts by id; changing them is PATCH
    url: `${api(ctx.settings, ctx.account)}/alerts/entities/alerts/v2`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ composite_ids: compositeIds }),
    accept: [404], // every id gone between the query and this call
  });
  if (response.status === 404) return [];
  const alerts: any[] = Array.isArray(body?.resources) ? body.resources : [];
  return alerts.map((a) => ({
    raw: a,
    id: alertVersionId(a),
    time: typeof a?.updated_timestamp === 'string' ? a.updated_timestamp : undefined,
  }));
}

/** Offset pages until `meta.pagination.total` ids were listed (or an empty page). */
const byTotal: Paginator = {
  next({ request, body, records }) {
    const offset = Number(request.query?.offset ?? 0) + records.length;
    if (records.length === 0 || !(Number(body?.meta?.pagination?.total) > offset)) return undefined;
    return { ...request, query: { ...request.query, offset } };
  },
};

/** The deepest `offset + limit` the alert query pages to (assumed: see above). */
export const MAX_DEPTH = 10_000;

const offsetTooLarge = (message: string) => /offset/i.test(message);

const alerts = restPoll<CrowdStrikeSettings, CrowdStrikeAccount>({
  title: 'Alerts',
  description:
    'Falcon alerts (endpoint detections, identity, cloud, XDR and custom IOA), one event each time an alert changes (Alerts API v2).',
  url: ({ settings: s, account }) => `${api(s, account)}/alerts/queries/alerts/v2`,
  params: ({ settings: s }, w) => ({
    filter: alertsFilter(w, s.filter),
    sort: 'updated_timestamp|asc',
    limit: s.pageSize,
    offset: 0,
  }),
  records: (body) => body?.resources,
  paginate: byTotal,
  cursor: { time: 'updated_timestamp', lag: '2m', order: 'any', maxWindow: '1d' },
  eventId: () => undefined,
  expandPage: (ctx, ids) => alertsOf(ctx, ids),
  settle: {
    count: (body) => body?.meta?.pagination?.total,
    gapCode: 'crowdstrike_window_unstable',
    record: () => 'alert',
    action:
      'Lower the collector’s interval so each window holds fewer pages, or raise pageSize; the next update of a missed alert delivers it.',
  },
  // Assumed cap (see above): a window listing more is halved before its first page is delivered.
  windowTooFull: (body) => Number(body?.meta?.pagination?.total) > MAX_DEPTH,
});

export default defineSource<CrowdStrikeSettings, CrowdStrikeAccount>({
  id: 'crowdstrike',
  title: 'CrowdStrike Falcon',
  account: 'crowdstrike',
  stability: 'early-access',
  family: 'rest-time-window',
  retention: '90d',
  description:
    'CrowdStrike Falcon alerts: endpoint, identity, cloud and custom-IOA detections with their status, severity, MITRE tactic and technique, host and process, every time they change.',
  setupGuide: [
    '1. In the Falcon console go to **Support and resources → API clients and keys** (role: Falcon Administrator)',
    '   and click **Create API client**. Name it (e.g. `tributary`) and give it the scope **Alerts: Read** only.',
    '2. Copy the **Client ID** and the **Secret** (shown once) and note the **Base URL** shown with them: it names',
    '   the cloud (api.crowdstrike.com = us-1, api.us-2… = us-2, api.eu-1… = eu-1, api.laggar.gcw… = us-gov-1).',
    '3. Create a **CrowdStrike Falcon** account in Tributary with the client ID, secret and cloud. Flight Control',
    '   parents reading a child tenant also set its **member CID**.',
    "4. Optional: an **extra FQL filter** (e.g. `product:'epp'`) narrows the alerts collected.",
    '',
    '5. Optional: the **event-stream** stream (Event Streams: detection summaries, authentication and user-activity',
    '   audit events as they happen) needs the scope **Event streams: Read** too. Each collector connects with its own',
    '   app ID (default: tributary and the collector name); two consumers must not share one.',
    '',
    'Falcon Data Replicator (raw sensor telemetry) is delivered to S3 with SQS notifications: read it with the',
    '**aws-s3** source (its bucket and queue), not this one.',
    '',
    'Early access: CrowdStrike does not publish its rate limits, error bodies, alert retention or the offset cap of',
    'the alert query in its public reference. Tributary paces 10 requests/s per account (CrowdStrike answers tell',
    'the real budget in X-RateLimit headers), halves a window that the query refuses as too deep, and waits',
    '2 minutes behind now for late updates.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<CrowdStrikeSettings>,
  streams: {
    alerts,
    'event-stream': eventStream<CrowdStrikeSettings>({ api: (ctx) => api(ctx.settings, ctx.account) }),
  },
  defaultStreams: () => ['alerts'],
  explain({ status, message, url, headers }) {
    const onToken = url.pathname.endsWith('/oauth2/token');
    if (status === 401 && !onToken)
      return {
        code: 'crowdstrike_unauthorized',
        action:
          'CrowdStrike refused a fresh access token: check that the API client still exists (Support and resources → API clients and keys) and that the account points at its cloud.',
      };
    if (status === 403 && !onToken)
      return {
        code: 'crowdstrike_scope_missing',
        action: url.pathname.includes('/datafeed')
          ? 'The API client lacks the Event streams: Read scope: edit it in the Falcon console (Support and resources → API clients and keys) and add Event streams → Read.'
          : 'The API client lacks the Alerts: Read scope: edit it in the Falcon console (Support and resources → API clients and keys) and add Alerts → Read.',
      };
    if (status === 429) {
      const at = Number(headers?.get('x-ratelimit-retryafter'));
      return {
        code: 'crowdstrike_rate_limited',
        action: 'CrowdStrike limits API calls per tenant; Tributary waits as told and goes on.',
        ...(Number.isFinite(at) && at > 1e9 ? { retryAfter: Math.max(0, at - Date.now() / 1000) } : {}),
      };
    }
    if (status === 400 && offsetTooLarge(message))
      return {
        type: 'transient',
        code: 'crowdstrike_window_too_deep',
        action:
          'More alerts changed in one window while it was read than one query pages through; the next run reads it in halves.',
      };
    if (status === 400)
      return {
        code: 'crowdstrike_bad_filter',
        action: `CrowdStrike refused the query${message ? ` (${message})` : ''}: check the collector's extra FQL filter.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the client (token) and the Alerts: Read scope, and the extra filter's syntax; with the event
    // stream, its Event streams: Read scope (discovery lists the partitions; no feed is opened).
    const now = Date.now();
    if (streams.length === 0 || streams.includes('alerts'))
      await http.getJson(`${api(s, account)}/alerts/queries/alerts/v2`, {
        filter: alertsFilter({ start: new Date(now - 3_600_000), end: new Date(now) }, s.filter),
        limit: 1,
      });
    if (streams.includes('event-stream'))
      await http.getJson(`${api(s, account)}/sensors/entities/datafeed/v2`, {
        appId: s.appId ?? 'tributarytest',
        format: 'json',
      });
  },
});
