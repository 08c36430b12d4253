import { z } from 'zod';
import {
  type CiscoSecureEndpointAccount,
  ciscoSecureEndpointUrl,
} from '../../accounts/cisco-secure-endpoint.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Cisco Secure Endpoint (formerly AMP for Endpoints) events and audit logs, from the API v1 with the
 * `cisco-secure-endpoint` account (Basic client ID : API key, regional host, hourly per-key limit; vendor facts
 * there). Vendor facts, from Cisco's Cortex XSIAM event collector (demisto/content
 * Packs/AMP/Integrations/CiscoAMPEventCollector, `CiscoAMPEventCollector.py` and its recorded answers) and the
 * API reference (api-docs.amp.cisco.com, "Events", "Audit Logs"):
 *
 * - `GET /v1/events?start_date={ISO 8601}&limit=500&offset=…`: events newer than `start_date`, **newest first**;
 *   the answer is `{version, metadata: {links: {self, next?, prev?}, results: {total, current_item_count, index,
 *   items_per_page}}, data: [...]}`; `metadata.links.next` is the next page's URL (same query, next offset),
 *   absent on the last. Limit 500 a page.
 * - Events: `{id (number), timestamp (epoch s), timestamp_nanoseconds, date, event_type, event_type_id,
 *   detection, detection_id, connector_guid, group_guids, severity, computer {...}, file {...}, ...}`.
 * - `GET /v1/audit_logs?start_time&end_time&limit&offset`: console audit entries (`audit_log_id`, `event`,
 *   `audit_log_type`, `audit_log_user`, `created_at`, `old_attributes`, `new_attributes`), same envelope.
 * - Errors: `{errors: [{error_code, description, details}]}`; 401 for an unknown client ID or key; 429 over the
 *   key's hourly limit (`X-Rate-Limit-Reset`: seconds to the next hour's budget; API reference, "Rate Limits").
 *
 * How it reads. Events: the list has only a lower bound, newest first, so each window asks from its start and
 * keeps what lies inside it (restPoll `clip`, order desc): pages before the window's end are skipped, and
 * paging stops once the list has passed the window (never, here: the start bound ends it). Ids are the
 * event `id`. Audit logs: windows with both bounds, id `audit_log_id`.
 *
 * Assumed (why early access): the audit log's `start_time`/`end_time` names and its fields, inclusive bounds,
 * how long events are kept (no gap warning), the 2-minute lag.
 */

export interface CiscoSecureEndpointSettings {
  pageSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(500)
      .default(500)
      .meta({ title: 'Page size' })
      .describe('limit per page (Cisco allows 500)'),
  })
  .strict();

type S = CiscoSecureEndpointSettings;
type A = CiscoSecureEndpointAccount;

const api = (s: S, a: A) => (s.baseUrl ?? ciscoSecureEndpointUrl(a)).replace(/\/+$/, '');

/** `YYYY-MM-DDTHH:MM:SS.000Z`, the form Cisco's collector sends (whole seconds, start rounded down). */
const startDate = (ms: number) => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}.000Z`;

/** The event's time: `timestamp` (s) with its nanoseconds, else `date`. */
export function eventTime(e: any): string | undefined {
  if (typeof e?.timestamp === 'number')
    return new Date(
      e.timestamp * 1000 + Math.floor(Number(e.timestamp_nanoseconds ?? 0) / 1e6),
    ).toISOString();
  return typeof e?.date === 'string' ? e.date : undefined;
}

const events: StreamDef<S, A> = restPoll({
  title: 'Events',
  description:
    'Endpoint events: threat detected and quarantined, executions, scans, policy updates (/v1/events).',
  url: ({ settings: s, account }) => `${api(s, account)}/v1/events`,
  params: ({ settings: s }, w) => ({ start_date: startDate(w.start.getTime()), limit: s.pageSize }),
  records: (body) => body?.data,
  paginate: paginate.nextUrl('metadata.links.next'),
  cursor: { time: eventTime, lag: '2m', order: 'desc', clip: true, maxWindow: '1d', minOverlap: '1s' },
  eventId: (e) =>
    typeof e?.id === 'number' || (typeof e?.id === 'string' && e.id) ? String(e.id) : undefined,
  missingId: 'event has no id',
});

const auditLogs: StreamDef<S, A> = restPoll({
  title: 'Audit logs',
  description: 'Console audit logs: logins, policy, group and exclusion changes (/v1/audit_logs).',
  url: ({ settings: s, account }) => `${api(s, account)}/v1/audit_logs`,
  params: ({ settings: s }, w) => ({
    start_time: startDate(w.start.getTime()),
    end_time: startDate(w.end.getTime() + 999),
    limit: s.pageSize,
  }),
  records: (body) => body?.data,
  paginate: paginate.nextUrl('metadata.links.next'),
  cursor: { time: 'created_at', lag: '2m', order: 'any', maxWindow: '1d', minOverlap: '1s' },
  eventId: (e) =>
    typeof e?.audit_log_id === 'string' || typeof e?.audit_log_id === 'number'
      ? String(e.audit_log_id)
      : undefined,
  missingId: 'audit log entry has no audit_log_id',
});

export default defineSource<S, A>({
  id: 'cisco-secure-endpoint',
  title: 'Cisco Secure Endpoint',
  account: 'cisco-secure-endpoint',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Cisco Secure Endpoint (AMP for Endpoints) events — threats detected and quarantined, executions, scans — and console audit logs.',
  setupGuide: [
    '1. In the Secure Endpoint console, **Administration → API Credentials → New API Credential**: a name,',
    '   scope **Read-only**. Copy the **3rd Party API Client ID** and the **API Key** (shown once).',
    '2. Note the cloud of the console (console.amp.cisco.com: nam; console.eu.amp.cisco.com: eu;',
    '   console.apjc.amp.cisco.com: apjc).',
    '3. Create a **Cisco Secure Endpoint** account with the client ID, API key and region.',
    '',
    'Each API key has an hourly request limit (the X-Rate-Limit-* headers): collectors sharing a key share it, and',
    'Tributary waits for the next hour when it is spent.',
    '',
    "Early access: the audit log's time parameters and fields, inclusive bounds and event retention are assumed.",
  ].join('\n'),
  settings: settings as unknown as z.ZodType<S>,
  streams: { events, 'audit-logs': auditLogs },
  explain({ status, url }) {
    if (status === 401)
      return {
        code: 'cisco_secure_endpoint_unauthorized',
        action:
          "Cisco refused the client ID or API key (wrong, revoked, or from another region's console): check Administration → API Credentials and the account's region.",
      };
    if (status === 403)
      return {
        code: 'cisco_secure_endpoint_forbidden',
        action: `The API credential may not read ${url.pathname.includes('audit') ? 'audit logs' : 'events'}: create a credential with read-only scope as an administrator.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    const want = (x: string) => streams.length === 0 || streams.includes(x);
    const since = startDate(Date.now() - 3_600_000);
    if (want('events')) await http.getJson(`${api(s, account)}/v1/events`, { start_date: since, limit: 1 });
    if (want('audit-logs'))
      await http.getJson(`${api(s, account)}/v1/audit_logs`, { start_time: since, limit: 1 });
  },
});
