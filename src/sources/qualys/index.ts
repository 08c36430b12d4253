import { z } from 'zod';
import { type QualysAccount, qualysUrl } from '../../accounts/qualys.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type HttpResponse, type StreamDef } from '../../core/source.ts';
import { csvRows } from '../../engine/object-decode.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';
import { type XmlValue, xmlElements } from '../../engine/xml-stream.ts';

/**
 * Qualys VMDR host detections and the activity log, from the Qualys API v2 (XML; the activity log: CSV) with
 * the `qualys` account (Basic + `X-Requested-With`, platform API server; vendor facts there). Vendor facts,
 * from the Qualys API (VM, PC) User Guide:
 *
 * - "Host List Detection": `GET /api/2.0/fo/asset/host/vm/detection/?action=list` with `vm_processed_after` /
 *   `vm_processed_before` (hosts whose vulnerability scan results were processed in the range; `YYYY-MM-DD
 *   [THH:MM:SSZ]`), `truncation_limit` (hosts per answer, default 1000), `show_results=1`; the answer is
 *   `HOST_LIST_VM_DETECTION_OUTPUT/RESPONSE/HOST_LIST/HOST` (`ID`, `IP`, `TRACKING_METHOD`, `DNS`, `OS`,
 *   `LAST_VM_SCANNED_DATE`, …, `DETECTION_LIST/DETECTION`: `UNIQUE_VULN_ID`, `QID`, `TYPE`, `SEVERITY`, `PORT`,
 *   `PROTOCOL`, `SSL`, `RESULTS`, `STATUS`, `FIRST_FOUND_DATETIME`, `LAST_FOUND_DATETIME`, `TIMES_FOUND`,
 *   `LAST_TEST_DATETIME`, `LAST_UPDATE_DATETIME`, `LAST_PROCESSED_DATETIME`, …). A truncated answer ends with
 *   `RESPONSE/WARNING` (`CODE` 1980, `TEXT`, `URL`: the same request with `id_min` = the next host id).
 * - "Export User Activity Log" (https://docs.qualys.com/en/vm/api/users/activity/export_activity.htm):
 *   `GET /api/2.0/fo/activity_log/?action=list` exports "the user activity log for a subscription to CSV
 *   format"; `since_datetime` / `until_datetime` "in the format YYYY-MM-DD HH:ii:ss", since ≤ until ≤ today;
 *   optional filters `user_action`, `action_details`, `username`, `user_role` (not used: everything the user
 *   may see is read). Managers see every user's actions, Unit Managers their business unit's, Scanners and
 *   Readers their own.
 * - Errors are `SIMPLE_RETURN/RESPONSE` (`CODE`, `TEXT`) with an HTTP status; a call blocked by the rate or
 *   concurrency limit of its API function is answered **409** with the `X-RateLimit-*` / `X-Concurrency-Limit-*`
 *   headers ("HTTP response headers"): `X-RateLimit-ToWait-Sec` says how long to wait.
 *
 * How it reads. Windows on the processing time, whole seconds (start rounded down, end up; a second of
 * overlap and the boundary ids suppress repeats), pages by the WARNING's URL until an answer has none. The
 * XML is parsed as it arrives (engine/xml-stream.ts), host by host. Each detection of a host is one event:
 * `raw` = `{host, detection}` (the host's fields without its detection list), id
 * `{UNIQUE_VULN_ID}@{LAST_PROCESSED_DATETIME}` (without UNIQUE_VULN_ID: host ID, QID, port, protocol), so a
 * detection processed again after a new scan is a new event. A blocked call (409) is waited out as the headers
 * say (`X-RateLimit-ToWait-Sec`; a full concurrency slot: 30 s).
 *
 * The activity log is asked with the documented parameters only (`action=list`, both bounds as
 * `YYYY-MM-DD HH:ii:ss` in UTC, whole seconds as above) and read as CSV (engine/object-decode.ts `csvRows`):
 * rows between `----BEGIN_RESPONSE_BODY_CSV` / `----END_RESPONSE_BODY_CSV` marker lines when the answer has
 * them (the whole answer otherwise), the first row of the body naming the fields; a footer section
 * (`----BEGIN_RESPONSE_FOOTER_CSV`) holding a `WARNING` row with a `URL` is the next page. Each row is one
 * event, `raw` its fields by the header's names, time `Date` (ISO-8601, or `YYYY-MM-DD HH:ii:ss` read as
 * UTC). Entries have no id: the id is a digest of the row (`hashId`), `#2`, `#3`… for the second, third
 * identical row of the same answer (two identical entries in the same second are two events; identical
 * entries that a truncated export splits over two answers share an id, and the second is taken for a repeat).
 *
 * Assumed (why early access): the activity log's column names (`Date`, `Action`, `Module`, `Details`,
 * `User Name`, `User Role`, `User IP`) and the time column, the marker lines and the footer paging, UTC bounds,
 * inclusive bounds, the 2-minute lag (Qualys processes scan results after a scan ends; the collector's lag
 * setting raises it), no retention limit.
 */

export interface QualysSettings {
  truncationLimit: number;
  baseUrl?: string;
}

const settings = z
  .object({
    truncationLimit: z
      .number()
      .int()
      .min(1)
      .max(10000)
      .default(1000)
      .meta({ title: 'Hosts per answer' })
      .describe(
        'truncation_limit of host detections: hosts per answer before Qualys truncates it with a next-page URL',
      ),
  })
  .strict();

const api = (s: QualysSettings, a: QualysAccount) => (s.baseUrl ?? qualysUrl(a)).replace(/\/+$/, '');

const isoSeconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const startBound = (w: Window) => isoSeconds(Math.floor(w.start.getTime() / 1000) * 1000);
const endBound = (w: Window) => isoSeconds(Math.ceil(w.end.getTime() / 1000) * 1000);

/** One XML answer: its records (the selected list element) and the truncation warning's next URL. */
async function xmlPage(response: HttpResponse, record: string, arrays: string[]) {
  const records: XmlValue[] = [];
  let next: string | undefined;
  const body = response.body as unknown as AsyncIterable<Uint8Array> | null;
  if (body)
    for await (const { name, value } of xmlElements(body, { select: [record, 'WARNING'], arrays })) {
      if (name === record) records.push(value);
      else if (typeof value === 'object' && typeof value.URL === 'string' && value.URL) next = value.URL;
    }
  return { records, next };
}

type Obj = Record<string, any>;

/** A bound of the activity log: `YYYY-MM-DD HH:ii:ss` (UTC), as "Export User Activity Log" documents. */
const activityBound = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

const SPACED_TIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)$/;

/** An activity entry's time: its `Date`, ISO-8601 as sent or `YYYY-MM-DD HH:ii:ss` read as UTC. */
export function activityTime(row: Obj): string | undefined {
  const d = row?.Date;
  if (typeof d !== 'string' || !d) return undefined;
  const m = SPACED_TIME.exec(d.trim());
  return m ? `${m[1]}T${m[2]}Z` : d;
}

/** One activity-log row with its id: a digest of the row, numbered from the second identical one. */
interface ActivityRow {
  row: Record<string, string>;
  id: string;
}

const MARKER = /^----(BEGIN|END)_RESPONSE_(BODY|FOOTER)_CSV$/;

/**
 * One activity-log answer (CSV): its rows named by the body's header, and the footer WARNING's next URL. An
 * answer that opens a body section and never closes it was cut off (an error: the page is asked again).
 */
export async function activityPage(response: HttpResponse): Promise<{ rows: ActivityRow[]; next?: string }> {
  const rows: ActivityRow[] = [];
  const copies = new Map<string, number>();
  let next: string | undefined;
  let section: 'body' | 'footer' | 'none' | 'after' = 'none';
  let header: string[] | undefined;
  let footerHeader: string[] | undefined;
  let opened = false;
  let closed = false;
  const named = (names: string[], fields: string[]) => {
    const o: Record<string, string> = {};
    for (let i = 0; i < fields.length; i++) o[names[i] ?? `column${i + 1}`] = fields[i];
    return o;
  };
  const body = response.body as unknown as AsyncIterable<Uint8Array> | null;
  if (body)
    for await (const item of csvRows(body)) {
      if ('error' in item) throw new Error(`activity log answer: ${item.error}`);
      const fields = item.value as string[];
      const marker = fields.length === 1 ? MARKER.exec(fields[0].trim()) : null;
      if (marker) {
        const [, edge, part] = marker;
        if (part === 'BODY' && edge === 'BEGIN') [section, header, opened] = ['body', undefined, true];
        else if (part === 'FOOTER' && edge === 'BEGIN') [section, footerHeader] = ['footer', undefined];
        else {
          if (part === 'BODY') closed = true;
          section = 'after';
        }
        continue;
      }
      if (section === 'after') continue;
      if (section === 'footer') {
        if (fields.length === 1 && fields[0] === 'WARNING') continue; // the section's title row
        if (!footerHeader) footerHeader = fields;
        else {
          const url = named(footerHeader, fields).URL;
          if (url) next = url;
        }
        continue;
      }
      if (!header) {
        if (fields[0]?.trimStart().startsWith('<'))
          throw new Error('the activity log answered XML where CSV was expected');
        header = fields;
        continue;
      }
      const row = named(header, fields);
      const digest = hashId(row);
      const n = (copies.get(digest) ?? 0) + 1;
      copies.set(digest, n);
      rows.push({ row, id: n === 1 ? digest : `${digest}#${n}` });
    }
  if (opened && !closed)
    throw new Error('the activity log answer ends before ----END_RESPONSE_BODY_CSV (cut off)');
  return { rows, next };
}

const detectionsOf = (host: Obj): Obj[] => {
  const list = host?.DETECTION_LIST?.DETECTION;
  return Array.isArray(list) ? list : [];
};

/** The latest processing time of a host's detections (the window's time). */
export function hostTime(host: Obj): string | undefined {
  let latest: string | undefined;
  for (const d of detectionsOf(host)) {
    const t = d?.LAST_PROCESSED_DATETIME;
    if (typeof t === 'string' && (!latest || Date.parse(t) > Date.parse(latest))) latest = t;
  }
  return latest ?? (typeof host?.LAST_VM_SCANNED_DATE === 'string' ? host.LAST_VM_SCANNED_DATE : undefined);
}

export function detectionId(host: Obj, d: Obj): string | undefined {
  const at = d?.LAST_PROCESSED_DATETIME;
  if (typeof at !== 'string' || !at) return undefined;
  if (typeof d.UNIQUE_VULN_ID === 'string' && d.UNIQUE_VULN_ID) return `${d.UNIQUE_VULN_ID}@${at}`;
  if (typeof host?.ID !== 'string' || typeof d.QID !== 'string') return undefined;
  return `${host.ID}:${d.QID}:${d.PORT ?? ''}:${d.PROTOCOL ?? ''}@${at}`;
}

const hostDetections: StreamDef<QualysSettings, QualysAccount> = restPoll({
  title: 'Host detections',
  description:
    'Vulnerability detections of hosts whose scan results were processed in each window (Host List Detection API).',
  url: ({ settings: s, account }) => `${api(s, account)}/api/2.0/fo/asset/host/vm/detection/`,
  params: ({ settings: s }, w) => ({
    action: 'list',
    vm_processed_after: startBound(w),
    vm_processed_before: endBound(w),
    truncation_limit: s.truncationLimit,
    show_results: 1,
    output_format: 'XML',
  }),
  decode: (res) => xmlPage(res, 'HOST', ['DETECTION']),
  records: (page) => page?.records,
  paginate: paginate.nextUrl((page) => page?.next),
  cursor: { time: hostTime, lag: '2m', order: 'any', maxWindow: '1d', minOverlap: '1s' },
  split: (host: Obj) => {
    const { DETECTION_LIST: _, ...fields } = host ?? {};
    const parts = detectionsOf(host).map((d) => ({
      id: detectionId(host, d),
      raw: { host: fields, detection: d },
    }));
    return parts.every((p) => p.id) ? (parts as Array<{ id: string; raw: unknown }>) : undefined;
  },
  missingId: 'host detection has no UNIQUE_VULN_ID (or host ID and QID) or no LAST_PROCESSED_DATETIME',
});

const activityLog: StreamDef<QualysSettings, QualysAccount> = restPoll({
  title: 'Activity log',
  description:
    'User activity in the Qualys subscription: logins, scans launched, changes (Activity Log API).',
  url: ({ settings: s, account }) => `${api(s, account)}/api/2.0/fo/activity_log/`,
  params: (_ctx, w) => ({
    action: 'list',
    since_datetime: activityBound(Math.floor(w.start.getTime() / 1000) * 1000),
    until_datetime: activityBound(Math.ceil(w.end.getTime() / 1000) * 1000),
  }),
  decode: (res) => activityPage(res),
  records: (page) => page?.rows,
  paginate: paginate.nextUrl((page) => page?.next),
  cursor: {
    time: (r: ActivityRow) => activityTime(r?.row),
    lag: '2m',
    order: 'any',
    maxWindow: '1d',
    minOverlap: '1s',
  },
  split: (r: ActivityRow) => (r?.id ? [{ id: r.id, raw: r.row }] : undefined),
});

/** How long to wait for a concurrency slot when the headers give no wait. */
const CONCURRENCY_WAIT_MS = 30_000;

export default defineSource<QualysSettings, QualysAccount>({
  id: 'qualys',
  title: 'Qualys VMDR',
  account: 'qualys',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Qualys VMDR host vulnerability detections (QID, severity, status, results) and the activity log.',
  setupGuide: [
    '1. In Qualys, **Users → New → User** (or edit an existing one): a role that sees the assets to collect (e.g.',
    '   **Reader** for all asset groups, or **Unit Manager**), and under **General Information → Allow access to**',
    "   tick **API**. The activity log holds what the role may see: a **Manager** sees every user's actions, a Unit",
    "   Manager its business unit's, Scanners and Readers only their own; use a Manager for the whole log.",
    '2. Find the platform of the subscription under **Help → About** (API server URL).',
    '3. Create a **Qualys** account with the user name, password and platform (or the API server URL).',
    '',
    'Qualys limits each API function per subscription (calls per window and calls at once); Tributary reads the',
    '`X-RateLimit-*` and `X-Concurrency-Limit-*` headers and waits when a call is blocked (409).',
    '',
    'Early access: the activity log is read as the CSV export Qualys documents ("Export User Activity Log"); its',
    'column names (Date, Action, Module, Details, User Name, User Role, User IP), the marker lines around the rows',
    'and how a long export is continued are not on the public page and are assumed; so is the 2-minute lag behind',
    'now (scan results are processed after a scan ends): raise the collector lag if scans land later.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<QualysSettings>,
  streams: { 'host-detections': hostDetections, 'activity-log': activityLog },
  rateLimited({ status }, headers) {
    if (status !== 409) return undefined;
    const wait = Number(headers.get('x-ratelimit-towait-sec'));
    if (Number.isFinite(wait) && wait > 0) return { defaultWaitMs: wait * 1000 };
    const running = Number(headers.get('x-concurrency-limit-running'));
    const limit = Number(headers.get('x-concurrency-limit-limit'));
    if (Number.isFinite(running) && Number.isFinite(limit) && limit > 0 && running >= limit)
      return { defaultWaitMs: CONCURRENCY_WAIT_MS };
    return headers.has('x-ratelimit-remaining') ? { defaultWaitMs: CONCURRENCY_WAIT_MS } : undefined;
  },
  explain({ status, url }) {
    const what = url.pathname.includes('activity_log') ? 'the activity log' : 'host detections';
    if (status === 401)
      return {
        code: 'qualys_invalid_credentials',
        action:
          "Qualys refused the user name or password (or the account's platform is not the subscription's: check Help → About). Update the account.",
      };
    if (status === 403)
      return {
        code: 'qualys_forbidden',
        action: `The Qualys user may not read ${what}: allow API access for the user (Users → edit → General Information → Allow access to API) and give it a role that sees the assets (or the activity log).`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    const want = (x: string) => streams.length === 0 || streams.includes(x);
    const now = Date.now();
    const w = { start: new Date(now - 3_600_000), end: new Date(now) };
    const probe = async (path: string, query: Record<string, string | number>) => {
      const res = await http.request({ url: `${api(s, account)}${path}`, query });
      await res.body?.cancel();
    };
    if (want('host-detections'))
      await probe('/api/2.0/fo/asset/host/vm/detection/', {
        action: 'list',
        vm_processed_after: startBound(w),
        truncation_limit: 1,
      });
    if (want('activity-log'))
      await probe('/api/2.0/fo/activity_log/', {
        action: 'list',
        since_datetime: activityBound(Math.floor(w.start.getTime() / 1000) * 1000),
      });
  },
});
