import { z } from 'zod';
import type { MicrosoftAccount } from '../../accounts/microsoft.ts';
import { defineSource, type StreamDef } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import {
  graphBase,
  graphExplain,
  graphPages,
  graphRecords,
  odataTime,
  tickBefore,
} from '../microsoft-graph.ts';

/**
 * Microsoft security alerts and incidents (Microsoft Defender XDR, Defender for Endpoint / Identity /
 * Office 365 / Cloud Apps / Cloud, Entra ID Protection, Purview DLP, …) through Microsoft Graph v1.0.
 * Vendor facts:
 *
 * - learn.microsoft.com/graph/api/security-list-alerts_v2: `GET /security/alerts_v2`, OData `$count`,
 *   `$filter`, `$skip`, `$top` (no `$orderby`); `$filter` on assignedTo, classification, determination,
 *   createdDateTime, lastUpdateDateTime, severity, serviceSource, status; "Use @odata.nextLink for
 *   pagination"; "The most recent alerts are displayed at the top of the list". Application permission
 *   SecurityAlert.Read.All. Global and US Government clouds only.
 * - learn.microsoft.com/graph/api/security-list-incidents: `GET /security/incidents`, `$count`, `$filter`,
 *   `$skip`, `$top`, `$expand`; `$filter` on assignedTo, classification, createdDateTime, determination,
 *   lastUpdateDateTime, severity, status; newest first. Application permission SecurityIncident.Read.All.
 * - learn.microsoft.com/graph/throttling-limits, "Security detections and incidents": 150 requests a
 *   minute per app per tenant; 429 with Retry-After.
 * - Alerts and incidents change in place (status, classification, assignment, comments, evidence): the
 *   same `id` comes back with a new `lastUpdateDateTime`.
 *
 * Decisions:
 * - Each version is an event: the envelope id is `{id}@{lastUpdateDateTime}`. A re-read of the same
 *   version keeps its id (destinations de-duplicate it); a later update is a new event that no
 *   destination drops as a duplicate. Destinations that want one row per alert keep, per `raw.id`, the
 *   record with the greatest `raw.lastUpdateDateTime` (docs/sources.md). `time` is `lastUpdateDateTime`.
 * - Windows on `lastUpdateDateTime` (`ge` start, `le` the last tick before the end). Graph documents no
 *   order on that property, so a window's position moves only when the window is complete (the page link
 *   in progress is kept for a restart), and windows span at most 6 hours.
 * - Microsoft documents no indexing latency for these APIs: windows end 2 minutes behind now and re-read
 *   the 10 minutes before the saved position; the boundary ids make that re-read free of duplicates.
 * - Both lists page by `$skip` offsets, which an update during paging shifts: an alert already read that
 *   is updated out of the window moves every later one up a place, and the one that moves onto a page
 *   already read is never returned. Each window's pages ask `$count=true`, and the engine reads a window
 *   again until a pass over it is known complete (`settle` in engine/rest-poll.ts: one page; or every page
 *   reporting the same `@odata.count` and the pass returning exactly that many distinct records; or the
 *   same ids as the pass before), at most 4 passes, then a `security_window_unstable` gap warning. Chosen
 *   over re-reading every window until its id set repeats (doubles every request) and over windows
 *   shrunk to one page (a wasted request per halving, and a bulk update stamping more alerts than a page
 *   with one time cannot be split). A restart inside a window reads it again from its first page.
 */

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(50)
      .describe('Alerts or incidents per page ($top); lower it if Graph refuses the page size')
      .meta({ title: 'Records per page' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

/** The envelope id of one version of an alert or incident. */
export const versionId = (r: any): string | undefined =>
  typeof r?.id === 'string' && r.id && typeof r.lastUpdateDateTime === 'string'
    ? `${r.id}@${r.lastUpdateDateTime}`
    : undefined;

/** A list of alerts or incidents: `$skip`-paged, newest first, read in settled windows (see above). */
function securityList(
  path: string,
  title: string,
  description: string,
): StreamDef<Settings, MicrosoftAccount> {
  return restPoll<Settings, MicrosoftAccount>({
    title,
    description,
    url: ({ settings: s, account }) => `${graphBase(s, account)}${path}`,
    params: ({ settings: s }, w) => ({
      $filter: `lastUpdateDateTime ge ${odataTime(w.start)} and lastUpdateDateTime le ${tickBefore(w.end)}`,
      $top: s.pageSize,
      $count: 'true',
    }),
    records: graphRecords,
    paginate: graphPages,
    cursor: { time: 'lastUpdateDateTime', lag: '2m', overlap: '10m', order: 'any', maxWindow: '6h' },
    eventId: versionId,
    settle: {
      count: (body) => body?.['@odata.count'],
      gapCode: 'security_window_unstable',
      record: (stream) => (stream === 'incidents' ? 'incident' : 'alert'),
      action:
        'Lower the collector’s interval so each window holds fewer pages, or raise pageSize; the next update of a missed record delivers it.',
    },
  });
}

export default defineSource<Settings, MicrosoftAccount>({
  id: 'microsoft-security-alerts',
  title: 'Microsoft Security Alerts',
  account: 'microsoft',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Alerts and incidents from Microsoft Defender XDR and the services it correlates (Defender for Endpoint, Identity, Office 365, Cloud Apps, Cloud; Entra ID Protection; Purview DLP) through Microsoft Graph.',
  setupGuide: [
    'You need a Microsoft Entra administrator who can grant tenant-wide admin consent.',
    '1. Microsoft Entra admin center → **App registrations** → **New registration** (single tenant), or reuse the app of another Microsoft collector.',
    '   Copy the **Application (client) ID** and the **Directory (tenant) ID**; create a **client secret** (its *Value*) or upload a certificate.',
    '2. **API permissions** → **Add a permission** → **Microsoft Graph** → **Application permissions**: `SecurityAlert.Read.All` (alerts) and',
    '   `SecurityIncident.Read.All` (incidents), then **Grant admin consent for <your tenant>**.',
    '3. Alerts appear only from the services the tenant is licensed for (Microsoft Defender XDR, Defender for Endpoint, Defender for Office 365,',
    '   Defender for Identity, Defender for Cloud Apps, Defender for Cloud, Entra ID Protection, Purview DLP).',
    '4. Create a **Microsoft** account in Tributary (tenant ID, client ID, secret or private key + certificate, cloud: global or usgov).',
    'An alert or incident that changes is delivered again with the same `raw.id` and its new `raw.lastUpdateDateTime`; keep the newest per `raw.id`.',
  ].join('\n'),
  settings,
  streams: {
    alerts: securityList(
      '/security/alerts_v2',
      'Alerts',
      'Security alerts (/security/alerts_v2), each version as it is updated.',
    ),
    incidents: securityList(
      '/security/incidents',
      'Incidents',
      'Microsoft Defender XDR incidents (/security/incidents), each version as it is updated.',
    ),
  },
  explain: graphExplain([
    { path: /\/security\/alerts_v2/i, permission: 'SecurityAlert.Read.All' },
    { path: /\/security\/incidents/i, permission: 'SecurityIncident.Read.All' },
  ]),
  async test({ settings: s, account, http, streams }) {
    const enabled = streams.length ? streams : ['alerts', 'incidents'];
    const base = graphBase(s, account);
    if (enabled.includes('alerts')) await http.getJson(`${base}/security/alerts_v2`, { $top: 1 });
    if (enabled.includes('incidents')) await http.getJson(`${base}/security/incidents`, { $top: 1 });
  },
});
