import { z } from 'zod';
import { type CarbonBlackAccount, carbonBlackHost } from '../../accounts/carbon-black.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource } from '../../core/source.ts';
import { jsonBodyField, type Paginator } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Carbon Black Cloud alerts, from the Alerts v7 API. Vendor facts:
 *
 * - developer.carbonblack.com, Alerts API (v7, "released on June 15th, 2023"): `POST
 *   {console}/api/alerts/v7/orgs/{org_key}/alerts/_search` (RBAC `org.alerts` READ) with a JSON body of
 *   `time_range {start, end}`, `criteria`, `sort`, `start` and `rows`; the answer has `results`, `num_found`
 *   and `num_available`. Use case listed: "Poll for Alerts that meet specific criteria to ingest into a SIEM".
 * - developer.carbonblack.com, Guides, "Alert Bulk Export - v7 API", "Exporting Alerts Continuously via the
 *   Alerts API": a cycle "should use a start and end time range for time_range, which searches on the field
 *   backend_timestamp"; "Filtering with only time_range will ensure no duplicate alerts" but misses updates to
 *   CB Analytics alerts, which "can be updated for up to 15 minutes following the original backend_timestamp,
 *   after which time the alert is considered immutable"; keep "a 60 second delay (end = now - 60s) … or if you
 *   want to wait for updates to stop for a CB Analytic alerts, keep a delay of 15 minutes"; "The time_range
 *   filter is always applied and defaults to the last two weeks". The Data Forwarder (to S3) is the
 *   recommended export at scale.
 *
 * How it reads. Each window is `time_range {start, end}` sorted `backend_timestamp` ASC, paged with `start`
 * (the first row, from 1) and `rows`; the position moves after every page. One event per alert: id `id`, time
 * `backend_timestamp`. The lag is the guide's 60 seconds, or 15 minutes with `waitForFinalAlerts` so that CB
 * Analytics alerts are read once final.
 *
 * Audit logs: the Platform Audit Log search, `POST {console}/audit_log/v1/orgs/{org_key}/logs/_search` (RBAC
 * `org.audits` READ; the Carbon Black Cloud SDK's AuditLogQuery): `criteria.create_time {start, end}` (ISO
 * 8601), `sort [{field: "create_time", order: "ASC"}]`, `start` (from row 0) and `rows`; the answer `{num_found,
 * results}`, entries `{actor, actor_ip, create_time, description, flagged, org_key, request_url, verbose}` —
 * logins, policy and connector changes, Live Response and API actions. Entries have no id: the id is the hash
 * of the entry (the same on every re-read). Windows on `create_time`, the position moving after every page. The
 * older v3 audit API (`/integrationServices/v3/auditlogs`) is a queue that consumes what it returns, so it is
 * not used.
 *
 * Assumed (why early access): `start` counts from 1 for alerts (the Carbon Black Cloud SDK's first row; Broadcom's
 * "How To Use API Pagination", https://knowledge.broadcom.com/external/article/289833, shows the same for the
 * v3 device API: start=1 returns rows 1–1000, start=1001 rows 1001–2000) and from 0 for audit logs (the
 * SDK's), `start + rows` is capped at 10,000 for both (a window whose `num_found` is
 * larger is halved before its first page is delivered), time bounds inclusive start / exclusive end, error
 * bodies (`{"error_code", "message"}`), the rate limit (see the account kind) and how long alerts and audit
 * logs stay searchable (no gap warning).
 */

export interface CarbonBlackSettings {
  pageSize: number;
  waitForFinalAlerts: boolean;
  minimumSeverity?: number;
  baseUrl?: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .meta({ title: 'Page size' })
      .describe('Alerts asked for per request (rows)'),
    waitForFinalAlerts: z
      .boolean()
      .default(false)
      .meta({ title: 'Wait for final CB Analytics alerts' })
      .describe(
        'Read each alert 15 minutes after it was created, once CB Analytics alerts no longer change (default: 60 seconds)',
      ),
    minimumSeverity: z
      .number()
      .int()
      .min(1)
      .max(10)
      .optional()
      .meta({ title: 'Minimum severity' })
      .describe('Only alerts of at least this severity (1–10; default: all)'),
  })
  .strict();

/** The deepest row the search pages to (assumed: see above). */
export const MAX_ROWS = 10_000;

const searchUrl = (s: CarbonBlackSettings, a: CarbonBlackAccount) =>
  `${(s.baseUrl ?? carbonBlackHost(a)).replace(/\/+$/, '')}/api/alerts/v7/orgs/${encodeURIComponent(a.orgKey)}/alerts/_search`;

const start = jsonBodyField('start');

const auditUrl = (s: CarbonBlackSettings, a: CarbonBlackAccount) =>
  `${(s.baseUrl ?? carbonBlackHost(a)).replace(/\/+$/, '')}/audit_log/v1/orgs/${encodeURIComponent(a.orgKey)}/logs/_search`;

/**
 * Rows from 1 until `num_found` were read. A page that comes back empty although `num_found` says rows remain is
 * asked again (the loop guard allows an empty page three times, then ends the run to resume from the checkpoint).
 */
const rowsFrom = (first: 0 | 1): Paginator => ({
  next({ request, body, records }) {
    const at = Number(start.get(request) ?? first);
    // Rows still to read: num_found counts them from the first row, whichever number that has.
    const found = Number(body?.num_found) - 1 + first;
    if (records.length === 0) return found >= at ? request : undefined;
    const next = at + records.length;
    return found >= next ? start.set(request, next) : undefined;
  },
});
const byRows = rowsFrom(1);

const auditLogs = restPoll<CarbonBlackSettings, CarbonBlackAccount>({
  title: 'Audit logs',
  description:
    'Who did what in Carbon Black Cloud (Platform Audit Log): logins, policy and connector changes, Live Response and API actions.',
  method: 'POST',
  request: ({ settings: s, account }, w) => ({
    url: auditUrl(s, account),
    body: JSON.stringify({
      criteria: { create_time: { start: w.start.toISOString(), end: w.end.toISOString() } },
      sort: [{ field: 'create_time', order: 'ASC' }],
      rows: s.pageSize,
      start: 0,
    }),
  }),
  url: ({ settings: s, account }) => auditUrl(s, account),
  records: (body) => body?.results,
  paginate: rowsFrom(0),
  cursor: { time: 'create_time', lag: '1m', order: 'asc', maxWindow: '1d' },
  eventId: (r) => (r && typeof r === 'object' ? hashId(r) : undefined),
  windowTooFull: (body) => Number(body?.num_found) > MAX_ROWS,
});

const alerts = restPoll<CarbonBlackSettings, CarbonBlackAccount>({
  title: 'Alerts',
  description:
    'CB Analytics, Watchlist, Device Control, host-based firewall, intrusion detection and container runtime alerts (Alerts v7), by backend time.',
  method: 'POST',
  request: ({ settings: s, account }, w) => ({
    url: searchUrl(s, account),
    body: JSON.stringify({
      time_range: { start: w.start.toISOString(), end: w.end.toISOString() },
      ...(s.minimumSeverity ? { criteria: { minimum_severity: s.minimumSeverity } } : {}),
      sort: [{ field: 'backend_timestamp', order: 'ASC' }],
      rows: s.pageSize,
      start: 1,
    }),
  }),
  url: ({ settings: s, account }) => searchUrl(s, account),
  records: (body) => body?.results,
  paginate: byRows,
  cursor: { time: 'backend_timestamp', lag: '1m', order: 'asc', maxWindow: '1d' },
  lagSetting: (s) => (s.waitForFinalAlerts ? '15m' : undefined),
  eventId: (r) => (typeof r?.id === 'string' && r.id ? r.id : undefined),
  missingId: 'alert has no id',
  windowTooFull: (body) => Number(body?.num_found) > MAX_ROWS,
});

export default defineSource<CarbonBlackSettings, CarbonBlackAccount>({
  id: 'carbon-black',
  title: 'Carbon Black Cloud',
  account: 'carbon-black',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Carbon Black Cloud alerts (CB Analytics (NGAV/EDR), Watchlist, Device Control, host-based firewall, intrusion detection and container runtime, with device, process, MITRE technique and workflow status) and the audit log.',
  setupGuide: [
    '1. In the Carbon Black Cloud console go to **Settings → API Access → Access Levels** and **Add Access Level**:',
    '   name it (e.g. `tributary-alerts`) and allow **Alerts → General Information → org.alerts: READ** and, for the',
    '   audit log, **Audit Logs → org.audits: READ** only.',
    '2. **Settings → API Access → API Keys → Add API Key**: Access Level Type **Custom**, the access level above.',
    '   Copy the **API ID** and the **API Secret Key**, and the **Org Key** shown above the list.',
    '3. Create a **Carbon Black Cloud** account in Tributary with the console URL you sign in at (the Dashboard',
    '   URL, e.g. `https://defense.conferdeploy.net`), the org key, the API ID and the secret.',
    '4. CB Analytics alerts keep changing for 15 minutes after they are raised: set **Wait for final CB Analytics',
    '   alerts** to read each alert once it is final (15 minutes later than the default 60 seconds).',
    '',
    'For very large organizations Carbon Black recommends its Data Forwarder (alerts to S3) over the API.',
    '',
    'Early access: Carbon Black does not publish the API rate limit, error bodies or the row cap of the search',
    'in numbers; Tributary paces 5 requests/s per account and halves a window holding more than 10,000 alerts.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<CarbonBlackSettings>,
  streams: { alerts, 'audit-logs': auditLogs },
  explain({ status, message }) {
    if (status === 401)
      return {
        code: 'carbon_black_invalid_key',
        action:
          'Carbon Black Cloud refused the API key: check the API ID and API Secret Key (Settings → API Access → API Keys) and that the account’s URL is the console you sign in at.',
      };
    if (status === 403)
      return {
        code: 'carbon_black_forbidden',
        action:
          "The API key's access level lacks org.alerts READ (alerts) or org.audits READ (audit logs), or the org key belongs to another organization: edit the Custom access level (Settings → API Access → Access Levels) and check the org key.",
      };
    if (status === 404)
      return {
        code: 'carbon_black_not_found',
        action:
          "Check the account's org key and console URL (the Dashboard URL of your Carbon Black Cloud region).",
      };
    if (status === 400)
      return {
        code: 'carbon_black_bad_request',
        action: `Carbon Black Cloud refused the search${message ? ` (${message})` : ''}: check the collector's settings; if they are right, report this with the logs.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the key, its org.alerts / org.audits READ permission and the org key.
    const now = Date.now();
    const range = { start: new Date(now - 3_600_000).toISOString(), end: new Date(now).toISOString() };
    const post = (url: string, body: unknown) =>
      http.requestJson({
        method: 'POST',
        readOnly: true,
        url,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    if (streams.length === 0 || streams.includes('alerts'))
      await post(searchUrl(s, account), { time_range: range, rows: 1, start: 1 });
    if (streams.length === 0 || streams.includes('audit-logs'))
      await post(auditUrl(s, account), { criteria: { create_time: range }, rows: 1, start: 0 });
  },
});
