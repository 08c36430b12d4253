import { z } from 'zod';
import { type CylanceAccount, cylanceUrl } from '../../accounts/cylance.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Cylance PROTECT (BlackBerry) threats, Optics detections and devices, from the User API v2 with the `cylance`
 * account (self-signed HS256 auth token exchanged at `/auth/v2/token`; vendor facts there). Vendor facts (Cylance
 * User API Guide v2; Splunk SOAR's Cylance connector pages every list with `page` and `page_size`, 200 at most):
 *
 * - Lists answer `{page_number, page_size, total_pages, total_number_of_items, page_items: [...]}`; `page` counts
 *   from 1.
 * - `GET /threats/v2`: `{name, sha256, md5, cylance_score, av_industry, classification, sub_classification,
 *   global_quarantined, safelisted, file_size, unique_to_cylance, last_found}`. The guide's current "Get threats"
 *   page (docs.arcticwolf.com, Aurora Endpoint Defense API) also documents `start_time`/`end_time`, filtering on
 *   the detection date (`dateDetected` in its newer schema); this source does not send them (it reads the list
 *   and clips on `last_found`, below), so a large tenant reads every threat each run.
 * - `GET /detections/v2?start=…&end=…` (ISO 8601): Optics detections `{Id, PhoneticId, OccurrenceTime,
 *   ReceivedTime, Severity, Status, Device {...}, DetectionDescription}`.
 * - `GET /devices/v2`: `{id, name, state, agent_version, policy {id name}, date_first_registered, ip_addresses,
 *   mac_addresses}`; no time filter.
 * - Times without a zone are UTC.
 *
 * How it reads. Detections: windows by `start`/`end`, id `Id`. Threats and devices are read unfiltered: each run
 * reads the list and keeps the records whose time lies in the window (restPoll `clip`) — a threat each time it
 * is found again (`last_found`, id `{sha256}@{last_found}`), a device when it registers
 * (`date_first_registered`, id `id`). Pages follow `page_number` up to `total_pages`.
 *
 * Assumed (why early access): which time `start`/`end` filter (OccurrenceTime here), inclusive bounds, that
 * the 200-record page maximum the guide gives for a device's threats ("Get device threat") holds for every
 * list, that a threat's `last_found` moves when it is found again, rate limits (none published; 429 answers
 * are honoured), the 2-minute lag.
 */

export interface CylanceSettings {
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
      .describe('page_size per request (200 at most)'),
  })
  .strict();

type S = CylanceSettings;
type A = CylanceAccount;

const api = (s: S, a: A) => (s.baseUrl ?? cylanceUrl(a)).replace(/\/+$/, '');

/** A Cylance time; one without a zone is UTC. */
export const utc = (v: unknown): string | undefined =>
  typeof v === 'string' && v ? (/(Z|[+-]\d\d:?\d\d)$/.test(v) ? v : `${v}Z`) : undefined;

const pages = paginate.cursor({
  param: 'page',
  from: (b) =>
    Number.isInteger(b?.page_number) && Number.isInteger(b?.total_pages) && b.page_number < b.total_pages
      ? b.page_number + 1
      : undefined,
});

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

const threats: StreamDef<S, A> = restPoll({
  title: 'Threats',
  description: 'Threats (files) found on devices, one event each time a threat is found again (/threats/v2).',
  url: ({ settings: s, account }) => `${api(s, account)}/threats/v2`,
  params: ({ settings: s }) => ({ page: 1, page_size: s.pageSize }),
  records: (b) => b?.page_items,
  paginate: pages,
  cursor: {
    time: (r) => utc(r?.last_found),
    lag: '2m',
    order: 'any',
    clip: true,
    maxWindow: '30d',
    minOverlap: '1s',
  },
  eventId: (r) =>
    typeof r?.sha256 === 'string' && r.sha256 && r.last_found
      ? `${r.sha256}@${utc(r.last_found)}`
      : undefined,
  missingId: 'threat has no sha256 or last_found',
});

const detections: StreamDef<S, A> = restPoll({
  title: 'Detections',
  description: 'Optics detections in each window (/detections/v2?start&end).',
  url: ({ settings: s, account }) => `${api(s, account)}/detections/v2`,
  params: ({ settings: s }, w: Window) => ({
    start: iso(Math.floor(w.start.getTime() / 1000) * 1000),
    end: iso(Math.ceil(w.end.getTime() / 1000) * 1000),
    page: 1,
    page_size: s.pageSize,
  }),
  records: (b) => b?.page_items,
  paginate: pages,
  cursor: { time: (r) => utc(r?.OccurrenceTime), lag: '2m', order: 'any', maxWindow: '1d', minOverlap: '1s' },
  eventId: (r) => (typeof r?.Id === 'string' && r.Id ? r.Id : undefined),
  missingId: 'detection has no Id',
});

const devices: StreamDef<S, A> = restPoll({
  title: 'Devices',
  description: 'Devices as they register (/devices/v2, by date_first_registered).',
  url: ({ settings: s, account }) => `${api(s, account)}/devices/v2`,
  params: ({ settings: s }) => ({ page: 1, page_size: s.pageSize }),
  records: (b) => b?.page_items,
  paginate: pages,
  cursor: {
    time: (r) => utc(r?.date_first_registered),
    lag: '2m',
    order: 'any',
    clip: true,
    maxWindow: '30d',
    minOverlap: '1s',
  },
  eventId: (r) => (typeof r?.id === 'string' && r.id ? r.id : undefined),
  missingId: 'device has no id',
});

const PERMISSION: Record<string, string> = {
  threats: 'Threats: Read',
  detections: 'Optics Detections: Read',
  devices: 'Devices: Read',
};

export default defineSource<S, A>({
  id: 'cylance-protect',
  title: 'Cylance PROTECT',
  account: 'cylance',
  stability: 'early-access',
  family: 'rest-time-window',
  description: 'Cylance PROTECT (BlackBerry) threats, Optics detections and device registrations.',
  setupGuide: [
    '1. In the Cylance console, **Settings → Integrations → Add Application**: a name and the read permissions of',
    '   the streams collected: **Threats: Read**, **Optics Detections: Read** (detections), **Devices: Read**.',
    '2. Copy the **Tenant ID** (top of the Integrations page), the **Application ID** and the **Application',
    '   Secret**.',
    '3. Create a **Cylance PROTECT** account with the three values and the console region (na, euc1, apne1, au,',
    '   sae1, gov). The secret signs a short-lived auth token (30 minutes) on this host and is never sent: keep',
    "   the host's clock synchronised (NTP), Cylance refuses tokens whose times are off.",
    '',
    'Threats and devices are read without a time filter: each run reads the whole list and keeps what changed.',
    '',
    'Early access: which time the detections filter applies to, the page maximum and rate limits are assumed.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<S>,
  streams: { threats, detections, devices },
  explain({ status, url }) {
    const list = url.pathname.split('/')[1] ?? '';
    if (status === 401)
      return {
        code: 'cylance_unauthorized',
        action:
          "Cylance refused the access token: check the application still exists (Settings → Integrations) and the account's region.",
      };
    if (status === 403)
      return {
        code: 'cylance_forbidden',
        action: `The Cylance application lacks ${PERMISSION[list] ?? 'a read permission'}: edit it under Settings → Integrations, or disable the stream.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    const want = (x: string) => streams.length === 0 || streams.includes(x);
    const now = Date.now();
    if (want('threats')) await http.getJson(`${api(s, account)}/threats/v2`, { page: 1, page_size: 1 });
    if (want('detections'))
      await http.getJson(`${api(s, account)}/detections/v2`, {
        start: iso(now - 3_600_000),
        end: iso(now),
        page: 1,
        page_size: 1,
      });
    if (want('devices')) await http.getJson(`${api(s, account)}/devices/v2`, { page: 1, page_size: 1 });
  },
});
