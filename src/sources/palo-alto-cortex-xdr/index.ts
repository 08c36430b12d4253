import { z } from 'zod';
import { type CortexXdrAccount, cortexXdrHost } from '../../accounts/palo-alto-cortex-xdr.ts';
import { defineSource, type ReadContext, type StreamDef } from '../../core/source.ts';
import type { PageRequest, Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Palo Alto Networks Cortex XDR incidents and alerts. Vendor facts (docs-cortex.paloaltonetworks.com, Cortex XDR
 * REST API):
 *
 * - "Get all Incidents" — `POST /public_api/v1/incidents/get_incidents`: "filtered by a list of incident IDs,
 *   modification time, or creation time"; body `{"request_data": {"filters": [{"field", "operator", "value"}],
 *   "search_from", "search_to", "sort": {"field": "modification_time" | "creation_time", "keyword": "asc" |
 *   "desc"}}}`; filters are joined with AND; "The maximum result set size is 100"; "Offset is the zero-based
 *   number of incidents from the start of the result set". Required license: Cortex XDR Prevent or Pro.
 * - "Get Alerts Multi-Events v2" — `POST /public_api/v2/alerts/get_alerts_multi_events/`: the same
 *   `request_data` shape ("Maximum result set size is 100", zero-based offset), one record per alert with its
 *   events.
 * - "Get Audit Management Log" — `POST /public_api/v1/audits/management_logs`: the same `request_data`, filters on
 *   `timestamp` (also `email`, `type`, `sub_type`, `result`), "The maximum result set size is 100"; the answer's
 *   list is `data`, entries `{AUDIT_ID, AUDIT_OWNER_NAME, AUDIT_OWNER_EMAIL, AUDIT_ASSET_NAMES, AUDIT_HOSTNAME,
 *   AUDIT_RESULT, AUDIT_REASON, AUDIT_DESCRIPTION, AUDIT_ENTITY, AUDIT_ENTITY_SUBTYPE, AUDIT_CASE_ID,
 *   AUDIT_INSERT_TIME}` (epoch ms): who did what in the console and API (incident changes, response actions,
 *   logins, policy edits).
 * - Answers are `{"reply": {"total_count", "result_count", "incidents" | "alerts" | "data"}}`; errors `{"reply":
 *   {"err_code", "err_msg", "err_extra"}}`; 401 unauthorized key, 402 not licensed, 403 the key's role lacks
 *   the permission.
 *
 * How it reads. Windows `[start, end)` become `gte start` and `lte end − 1 ms` filters on epoch milliseconds,
 * sorted ascending, paged 100 (at most) at a time with `search_from`/`search_to` until `total_count`.
 * - Incidents change in place (status, assignee, new alerts): windows on `modification_time`, one event per
 *   version, id `{incident_id}@{modification_time}` (keep the newest per `raw.incident_id`). Offsets move while
 *   incidents change, so windows are settled against `total_count` (restPoll `settle`) and the position moves
 *   when a window is complete.
 * - Alerts: windows on `server_creation_time` (when the server recorded the alert: late endpoint uploads are not
 *   lost), one event per alert, id `alert_id`, time `local_insert_ts`.
 * - Management audit logs: windows on `timestamp`, oldest first, id `AUDIT_ID`, time `AUDIT_INSERT_TIME`; entries
 *   do not change.
 *
 * Assumed (why early access): the `server_creation_time` filter and sort on alerts and its echo as
 * `local_insert_ts`; both bounds inclusive; the rate limit (see the account kind); how long incidents and alerts
 * stay listable (no gap warning); the 2-minute lag; that the audit log's `timestamp` filter is its
 * `AUDIT_INSERT_TIME`.
 */

export interface CortexXdrSettings {
  pageSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .meta({ title: 'Page size' })
      .describe('Incidents or alerts asked for per request (Cortex XDR returns at most 100)'),
  })
  .strict();

const api = (s: CortexXdrSettings, a: CortexXdrAccount) =>
  (s.baseUrl ?? cortexXdrHost(a)).replace(/\/+$/, '');

/** `search_from`/`search_to` inside `request_data`, moved on by the page read, until `total_count`. */
const bySearchRange: Paginator = {
  next({ request, body, records }) {
    const rd = JSON.parse(request.body ?? '{}').request_data ?? {};
    const from = Number(rd.search_from ?? 0) + records.length;
    const size = Number(rd.search_to ?? 100) - Number(rd.search_from ?? 0);
    const total = Number(body?.reply?.total_count);
    if (records.length === 0) return total > Number(rd.search_from ?? 0) ? request : undefined;
    if (!(total > from)) return undefined;
    return {
      ...request,
      body: JSON.stringify({ request_data: { ...rd, search_from: from, search_to: from + size } }),
    };
  },
};

export const windowFilters = (field: string, w: Window) => [
  { field, operator: 'gte', value: w.start.getTime() },
  { field, operator: 'lte', value: w.end.getTime() - 1 },
];

function list(o: {
  title: string;
  description: string;
  path: string;
  field: string;
  records: string;
  time: string;
  eventId: (r: any) => string | undefined;
  settle: boolean;
}): StreamDef<CortexXdrSettings, CortexXdrAccount> {
  return restPoll<CortexXdrSettings, CortexXdrAccount>({
    title: o.title,
    description: o.description,
    method: 'POST',
    url: ({ settings: s, account }) => `${api(s, account)}${o.path}`,
    request: (ctx: ReadContext<CortexXdrSettings, CortexXdrAccount>, w): PageRequest => ({
      url: `${api(ctx.settings, ctx.account)}${o.path}`,
      body: JSON.stringify({
        request_data: {
          filters: windowFilters(o.field, w),
          search_from: 0,
          search_to: ctx.settings.pageSize,
          sort: { field: o.field, keyword: 'asc' },
        },
      }),
    }),
    records: (body) => body?.reply?.[o.records],
    paginate: bySearchRange,
    cursor: { time: o.time, lag: '2m', order: o.settle ? 'any' : 'asc', maxWindow: '1d' },
    eventId: o.eventId,
    missingId: `record has no ${o.settle ? 'incident_id or modification_time' : 'alert_id'}`,
    ...(o.settle
      ? {
          settle: {
            count: (body: any) => body?.reply?.total_count,
            gapCode: 'cortex_xdr_window_unstable',
            record: () => 'incident',
            action:
              'Lower the collector’s interval so each window holds fewer pages; the next change of a missed incident delivers it.',
          },
        }
      : {}),
  });
}

const incidents = list({
  title: 'Incidents',
  description: 'Incidents (get_incidents), one event each time an incident changes.',
  path: '/public_api/v1/incidents/get_incidents',
  field: 'modification_time',
  records: 'incidents',
  time: 'modification_time',
  eventId: (r) =>
    r?.incident_id !== undefined && r?.incident_id !== null && typeof r?.modification_time === 'number'
      ? `${r.incident_id}@${r.modification_time}`
      : undefined,
  settle: true,
});

const alerts = list({
  title: 'Alerts',
  description: 'Alerts with their events (get_alerts_multi_events v2), by the time the server recorded them.',
  path: '/public_api/v2/alerts/get_alerts_multi_events',
  field: 'server_creation_time',
  records: 'alerts',
  time: 'local_insert_ts',
  eventId: (r) =>
    r?.alert_id !== undefined && r?.alert_id !== null && r.alert_id !== '' ? String(r.alert_id) : undefined,
  settle: false,
});

const auditLogs = list({
  title: 'Management audit logs',
  description:
    'Who did what in Cortex XDR (audits/management_logs): incident changes, response actions, logins, policy edits.',
  path: '/public_api/v1/audits/management_logs',
  field: 'timestamp',
  records: 'data',
  time: 'AUDIT_INSERT_TIME',
  eventId: (r) =>
    r?.AUDIT_ID !== undefined && r?.AUDIT_ID !== null && r.AUDIT_ID !== '' ? String(r.AUDIT_ID) : undefined,
  settle: false,
});

export default defineSource<CortexXdrSettings, CortexXdrAccount>({
  id: 'palo-alto-cortex-xdr',
  title: 'Palo Alto Networks Cortex XDR',
  account: 'palo-alto-cortex-xdr',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Cortex XDR incidents (every change of status, severity, assignee and alert count), alerts with their endpoint events, and the management audit log: the detections a SOC triages in Cortex XDR, and who acted on them.',
  setupGuide: [
    '1. In Cortex XDR go to **Settings → Configurations → Integrations → API Keys** and click **+ New Key**.',
    '2. Security level **Advanced** (each request is signed with a nonce and a timestamp; Standard also works), role',
    '   **Viewer** (or a custom role that can view incidents and alerts); optionally an expiration date.',
    '3. Copy the **API key** (shown once), then from the table the key **ID**, and **Copy API URL** (the',
    '   `https://api-…` address of the tenant).',
    '4. Create a **Cortex XDR** account in Tributary with the API URL, key ID, key and security level. If the key',
    "   expires, set the account's expiresAt to that date: health warns 14 days before.",
    '',
    'Early access: Palo Alto Networks does not publish the API rate limit per tenant, the retention of incidents',
    'and alerts through the API, or the server-time filter of the alerts call in detail. Tributary paces 2',
    'requests/s per account and waits 2 minutes behind now.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<CortexXdrSettings>,
  streams: { incidents, alerts, 'audit-logs': auditLogs },
  explain({ status }) {
    if (status === 401)
      return {
        code: 'cortex_xdr_unauthorized',
        action:
          "Cortex XDR refused the API key: check the key, its ID and the account's security level (an Advanced key must be signed, a Standard one not), that the key has not expired, and that this host's clock is right (advanced keys carry a timestamp).",
      };
    if (status === 402)
      return {
        code: 'cortex_xdr_not_licensed',
        action:
          'The tenant lacks the license for this API (Cortex XDR Prevent or Pro): disable the stream or ask your Palo Alto Networks account team.',
      };
    if (status === 403)
      return {
        code: 'cortex_xdr_forbidden',
        action:
          "The key's role may not read incidents, alerts or the audit log: generate a key with the Viewer role (or a custom role that views them, with Management Audit Logs view for the audit log).",
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the key (and its signing), the role and the license of each stream collected.
    const now = Date.now();
    const w = { start: new Date(now - 3_600_000), end: new Date(now) };
    const calls: Array<[string, string, string]> = [
      ['incidents', '/public_api/v1/incidents/get_incidents', 'modification_time'],
      ['alerts', '/public_api/v2/alerts/get_alerts_multi_events', 'server_creation_time'],
      ['audit-logs', '/public_api/v1/audits/management_logs', 'timestamp'],
    ];
    for (const [stream, path, field] of calls) {
      if (streams.length > 0 && !streams.includes(stream)) continue;
      await http.requestJson({
        method: 'POST',
        readOnly: true,
        url: `${api(s, account)}${path}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          request_data: { filters: windowFilters(field, w), search_from: 0, search_to: 1 },
        }),
      });
    }
  },
});
