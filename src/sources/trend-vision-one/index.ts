import { z } from 'zod';
import { type TrendMicroAccount, visionOneUrl } from '../../accounts/trend-micro.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Trend Vision One workbench alerts, Observed Attack Techniques (OAT) detections and audit logs, from the
 * Automation Center API v3.0 with the shared `trend-micro` account (regional API domain + API key; vendor facts
 * there). Vendor facts, from the Automation Center API reference (v3.0) as Trend's own Python SDK and
 * integrations call it:
 *
 * - `GET /v3.0/workbench/alerts`: `startDateTime`, `endDateTime` (ISO 8601, whole seconds), `dateTimeTarget`
 *   (`createdDateTime` | `updatedDateTime`: which time the range applies to), `orderBy`, `top`, an optional
 *   `TMV1-Filter` header; answers `{totalCount, count, items, nextLink}`.
 * - `GET /v3.0/oat/detections`: `detectedStartDateTime`, `detectedEndDateTime`, `top`; `{totalCount, count,
 *   items, nextLink}`, each item with `uuid` and `detectedDateTime`.
 * - `GET /v3.0/audit/logs`: `startDateTime`, `endDateTime`, `top`; `{totalCount, count, items, nextLink}`, each
 *   item with `loggedDateTime`, `loggedUser`, `loggedRole`, `category`, `activity`, `access`, `result`,
 *   `details`.
 * - `nextLink` is the absolute URL of the next page, until the last.
 *
 * How it reads. Each window is asked with whole-second bounds (start rounded down, end rounded up, so nothing
 * on a boundary second is left out; the overlap of at least a second and the boundary ids suppress repeats).
 * - Workbench alerts change in place (status, investigation result, new impact): windows on `updatedDateTime`,
 *   one event per version, id `{id}@{updatedDateTime}`; the pages (skip/top links) move while alerts change, so
 *   windows are settled against `totalCount` (restPoll `settle`).
 * - OAT detections: by `detectedDateTime`, id `uuid`.
 * - Audit logs: by `loggedDateTime`; records have no id: hashed (docs/architecture.md, "The envelope").
 *
 * Assumed (why early access): the answers' list order (none is relied on: windows finish before the position
 * moves), inclusive bounds, `top` limits (workbench ≤ 200, OAT and audit ≤ 200), `totalCount` on every page,
 * error bodies (`{"error": {"code", "message"}}`), how long data stays listable (no gap warning), the 2-minute
 * lag (a collector's lag setting raises it if OAT detections are indexed later).
 */

export interface VisionOneSettings {
  pageSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(200)
      .default(200)
      .meta({ title: 'Page size' })
      .describe('Records asked for per page (top)'),
  })
  .strict();

const api = (s: VisionOneSettings, a: TrendMicroAccount) =>
  (s.baseUrl ?? visionOneUrl(a)).replace(/\/+$/, '');

const isoSeconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
export const startBound = (w: Window) => isoSeconds(Math.floor(w.start.getTime() / 1000) * 1000);
export const endBound = (w: Window) => isoSeconds(Math.ceil(w.end.getTime() / 1000) * 1000);

const versionOf = (r: any): string | undefined =>
  typeof r?.id === 'string' && r.id && typeof r.updatedDateTime === 'string'
    ? `${r.id}@${r.updatedDateTime}`
    : undefined;

const workbench: StreamDef<VisionOneSettings, TrendMicroAccount> = restPoll({
  title: 'Workbench alerts',
  description: 'Workbench alerts (/v3.0/workbench/alerts), one event each time an alert changes.',
  url: ({ settings: s, account }) => `${api(s, account)}/v3.0/workbench/alerts`,
  params: ({ settings: s }, w) => ({
    startDateTime: startBound(w),
    endDateTime: endBound(w),
    dateTimeTarget: 'updatedDateTime',
    top: s.pageSize,
  }),
  records: (body) => body?.items,
  paginate: paginate.nextUrl('nextLink'),
  cursor: { time: 'updatedDateTime', lag: '2m', order: 'any', maxWindow: '1d', minOverlap: '1s' },
  eventId: versionOf,
  missingId: 'alert has no id or updatedDateTime',
  settle: {
    count: (body) => body?.totalCount,
    gapCode: 'vision_one_window_unstable',
    record: () => 'alert',
    action:
      'Lower the collector’s interval so each window holds fewer pages; the next update of a missed alert delivers it.',
  },
});

const oat: StreamDef<VisionOneSettings, TrendMicroAccount> = restPoll({
  title: 'OAT detections',
  description: 'Observed Attack Techniques detections (/v3.0/oat/detections), by detection time.',
  url: ({ settings: s, account }) => `${api(s, account)}/v3.0/oat/detections`,
  params: ({ settings: s }, w) => ({
    detectedStartDateTime: startBound(w),
    detectedEndDateTime: endBound(w),
    top: s.pageSize,
  }),
  records: (body) => body?.items,
  paginate: paginate.nextUrl('nextLink'),
  cursor: { time: 'detectedDateTime', lag: '2m', order: 'any', maxWindow: '1d', minOverlap: '1s' },
  eventId: (r) => (typeof r?.uuid === 'string' && r.uuid ? r.uuid : undefined),
  missingId: 'detection has no uuid',
});

const audit: StreamDef<VisionOneSettings, TrendMicroAccount> = restPoll({
  title: 'Audit logs',
  description: 'Console and API audit logs (/v3.0/audit/logs), by logged time.',
  url: ({ settings: s, account }) => `${api(s, account)}/v3.0/audit/logs`,
  params: ({ settings: s }, w) => ({
    startDateTime: startBound(w),
    endDateTime: endBound(w),
    top: s.pageSize,
  }),
  records: (body) => body?.items,
  paginate: paginate.nextUrl('nextLink'),
  cursor: { time: 'loggedDateTime', lag: '2m', order: 'any', maxWindow: '1d', minOverlap: '1s' },
  eventId: (r) => hashId(r), // no id: the record's hash (docs/architecture.md, "The envelope")
});

const STREAM_PATHS: Record<string, string> = {
  'workbench-alerts': '/v3.0/workbench/alerts',
  'oat-detections': '/v3.0/oat/detections',
  'audit-logs': '/v3.0/audit/logs',
};

export default defineSource<VisionOneSettings, TrendMicroAccount>({
  id: 'trend-vision-one',
  title: 'Trend Vision One',
  account: 'trend-micro',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Trend Vision One workbench alerts (XDR detections with impact scope and indicators), Observed Attack Techniques detections and audit logs.',
  setupGuide: [
    '1. In Trend Vision One go to **Administration → User Roles** and create a role (e.g. `tributary`) that may',
    '   view **Workbench** alerts, **Observed Attack Techniques** and **Audit Logs** (no edit rights).',
    '2. **Administration → API Keys → Add API key**: that role and an expiry date. Copy the key (shown once).',
    '3. Create a **Trend Micro Vision One** account in Tributary with the key and the region of the tenant (the',
    '   portal address names it: portal.eu.xdr… is eu), or the API URL of a newer site.',
    "4. Set the account's expiresAt to the key's expiry: health warns 14 days before it ends.",
    '',
    'Early access: Trend publishes no request limits per key in numbers (429 answers are honoured), the order of the',
    'lists, or how long the API keeps data; Tributary finishes each window before moving on and waits 2 minutes',
    'behind now (raise the collector’s lag if OAT detections arrive later).',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<VisionOneSettings>,
  streams: { 'workbench-alerts': workbench, 'oat-detections': oat, 'audit-logs': audit },
  explain({ status, url }) {
    const what = url.pathname.includes('/oat/')
      ? 'Observed Attack Techniques'
      : url.pathname.includes('/audit/')
        ? 'Audit Logs'
        : 'Workbench';
    if (status === 401)
      return {
        code: 'vision_one_invalid_key',
        action:
          "Trend Vision One refused the API key: it is wrong, expired or deleted, or belongs to another region. Check Administration → API Keys and the account's region.",
      };
    if (status === 403)
      return {
        code: 'vision_one_forbidden',
        action: `The API key's role may not view ${what}: edit the role (Administration → User Roles), or disable the stream.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the key, its region and the role's right to each list collected.
    const now = Date.now();
    const w = { start: new Date(now - 3_600_000), end: new Date(now) };
    for (const [stream, path] of Object.entries(STREAM_PATHS)) {
      if (streams.length > 0 && !streams.includes(stream)) continue;
      const query =
        stream === 'oat-detections'
          ? { detectedStartDateTime: startBound(w), detectedEndDateTime: endBound(w), top: 1 }
          : { startDateTime: startBound(w), endDateTime: endBound(w), top: 1 };
      await http.getJson(`${api(s, account)}${path}`, query);
    }
  },
});
