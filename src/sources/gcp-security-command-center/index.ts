import { z } from 'zod';
import {
  checkAccountFor,
  explainGoogleCommon,
  type GoogleAccount,
  googleErrorOf,
  SECURITY_CENTER_API,
} from '../../accounts/google.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting, durationSetting } from '../../core/validation.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';

/**
 * Security Command Center findings of an organization, across all sources, through the SCC API v2.
 * Vendor facts:
 *
 * - cloud.google.com/security-command-center/docs/reference/rest/v2/organizations.sources.locations.findings/list:
 *   GET https://securitycenter.googleapis.com/v2/organizations/{org}/sources/-/locations/{location}/findings
 *   ("To list across all sources provide a source_id of -"); query `filter`, `orderBy`, `pageSize`
 *   ("Default is 10, minimum is 1, maximum is 1000"), `pageToken`; answer {listFindingsResults: [{finding,
 *   resource}], readTime, nextPageToken, totalSize}. Filter restrictions on `event_time` take "milliseconds
 *   since epoch or an RFC3339 string" with =, >, <, >=, <=; orderBy is a comma-separated field list.
 * - Finding.eventTime: "The time the finding was first detected. If an existing finding is updated, then
 *   this is the time the update occurred" (…/rest/v2/organizations.sources.findings#Finding). A finding
 *   keeps its `name` through state changes (ACTIVE → INACTIVE, mute), so the event id is
 *   `{name}@{eventTime}`: each update is its own event, a re-read of the same version the same id.
 * - Data residency (cloud.google.com/security-command-center/docs/data-residency-support): findings live
 *   in a location; `global` unless residency controls are on (then `us`, `eu`, …) — the location setting.
 * - Access (cloud.google.com/security-command-center/docs/access-control-org): roles/securitycenter.findingsViewer
 *   (securitycenter.findings.list) on the organization; scope https://www.googleapis.com/auth/cloud-platform.
 *   The API must be enabled in the service account's project (403 SERVICE_DISABLED otherwise).
 * - Quotas (cloud.google.com/security-command-center/quotas-and-limits) are per project and minute; the
 *   `google` account's budget (0.9 requests/s) stays far below them. 429 RESOURCE_EXHAUSTED is retried.
 *
 * Reading (engine `restPoll`): windows [since − overlap, now − lag) on `event_time`, `orderBy=event_time`
 * (oldest first), pageToken within a window; the position moves to the newest eventTime delivered, with
 * the ids at that time kept as boundary ids. Findings can be written with an eventTime earlier than when
 * they reach SCC (detectors report late), hence the lag (default 5 minutes, a setting).
 *
 * Unconfirmed (so `early-access`): findings retention (13 months is assumed, as 395 days); the page-token lifetime; whether updates within one page request can
 * reorder a window's pages (the overlap and ids absorb repeats); the exact residency locations.
 */

const DEFAULT_LAG = '5m';

export interface SccSettings {
  organizationId: string;
  location: string;
  filter?: string;
  lag?: string;
  pageSize: number;
  baseUrl?: string;
}

const settings = z
  .object({
    organizationId: z
      .string({ error: 'required: the numeric organization ID (gcloud organizations list)' })
      .trim()
      .regex(/^\d{1,19}$/, 'expected the numeric organization ID, e.g. 123456789012')
      .describe('The organization whose findings to read (IAM & Admin → Settings → Organization ID)')
      .meta({ title: 'Organization ID' }),
    location: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9-]{1,30}$/, 'expected a location such as global, us or eu')
      .default('global')
      .describe('Where the findings are stored: global, or the data-residency location (us, eu, …)')
      .meta({ title: 'Location' }),
    filter: z
      .string()
      .max(5000)
      .optional()
      .describe('Optional extra SCC filter ANDed to the time window, e.g. state="ACTIVE" or severity="HIGH"')
      .meta({ title: 'Extra filter' }),
    lag: durationSetting('5m or 1h')
      .optional()
      .describe(`How far behind now a window ends (default ${DEFAULT_LAG}): detectors report findings late`)
      .meta({ title: 'Lag' }),
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .describe('Findings per page (up to 1000)')
      .meta({ title: 'Findings per page' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

const listUrl = (s: SccSettings) =>
  `${(s.baseUrl ?? 'https://securitycenter.googleapis.com').replace(/\/+$/, '')}/v2/organizations/${s.organizationId}/sources/-/locations/${s.location ?? 'global'}/findings`;

/** The findings filter of a window: event_time bounds (RFC3339) and the collector's extra filter. */
export function windowFilter(s: SccSettings, start: Date, end: Date): string {
  return `event_time >= "${start.toISOString()}" AND event_time < "${end.toISOString()}"${s.filter ? ` AND ${s.filter}` : ''}`;
}

interface ListResult {
  finding?: { name?: unknown; eventTime?: unknown };
}

/** `{name}@{eventTime}` of a result, or undefined when it lacks a part. */
export function findingId(r: ListResult): string | undefined {
  const f = r?.finding;
  return typeof f?.name === 'string' && typeof f.eventTime === 'string'
    ? `${f.name}@${f.eventTime}`
    : undefined;
}

export default defineSource<SccSettings, GoogleAccount>({
  id: 'gcp-security-command-center',
  title: 'Google Security Command Center',
  account: 'google',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Security Command Center findings of an organization across all sources (Security Health Analytics, Event Threat Detection, …), each state change an event, oldest first by event time.',
  setupGuide: [
    'You need the **organization ID** (`gcloud organizations list`) and, with data residency, the findings location.',
    "1. In the service account's project enable the API: `gcloud services enable securitycenter.googleapis.com --project OWNER`.",
    '2. Create the service account and a JSON key (`gcloud iam service-accounts create tributary-scc`;',
    '   `gcloud iam service-accounts keys create key.json --iam-account tributary-scc@OWNER.iam.gserviceaccount.com`).',
    '3. Grant it **Security Center Findings Viewer** on the organization:',
    '   `gcloud organizations add-iam-policy-binding ORG --member serviceAccount:tributary-scc@OWNER.iam.gserviceaccount.com --role roles/securitycenter.findingsViewer`.',
    '4. A **Google** account in Tributary with the key (no subject; it requests the cloud-platform scope, the one SCC',
    '   accepts, unless the account lists its scopes); then this collector with the organization ID.',
    'Each finding update (new state, mute, new event) is a new event with id `{name}@{eventTime}`.',
    '**Unconfirmed** (early access): findings retention (13 months assumed), page-token lifetime, and the order of',
    'findings updated while a window is paged.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<SccSettings>,
  retention: '395d',
  streams: {
    findings: restPoll<SccSettings, GoogleAccount>({
      title: 'Findings',
      description: 'Every finding version (created or updated) by event time; id {name}@{eventTime}.',
      check: ({ account }) => checkAccountFor(account, SECURITY_CENTER_API),
      url: ({ settings: s }) => listUrl(s),
      params: ({ settings: s }, w) => ({
        filter: windowFilter(s, w.start, w.end),
        orderBy: 'event_time',
        pageSize: s.pageSize,
      }),
      headers: () => ({ accept: 'application/json' }),
      records: (body) => body?.listFindingsResults ?? [],
      paginate: paginate.cursor({ param: 'pageToken', from: 'nextPageToken' }),
      cursor: { time: 'finding.eventTime', order: 'asc', lag: DEFAULT_LAG, maxWindow: '1d' },
      lagSetting: (s) => s.lag,
      eventId: findingId,
      missingId: 'finding has no name or eventTime',
    }),
  },
  explain({ status, body, message }) {
    const e = googleErrorOf(body);
    const said = e.message || message;
    const common = explainGoogleCommon(status, e, {
      name: 'Security Command Center API',
      service: 'securitycenter.googleapis.com',
    });
    if (common) return common;
    if (status === 403)
      return {
        code: 'scc_findings_denied',
        action: `Grant the service account Security Center Findings Viewer (roles/securitycenter.findingsViewer) on the organization, and check the organization ID. Google said: ${said}`,
      };
    if (status === 404)
      return {
        code: 'scc_not_found',
        action:
          'Check the organization ID and the location (global unless data residency is on), and that Security Command Center is activated for the organization.',
      };
    if (status === 400)
      return {
        code: 'google_bad_request',
        action: `Security Command Center refused the query: check the collector's filter setting. Google said: ${said}`,
      };
    return undefined;
  },
  async test({ settings: s, account, http }) {
    checkAccountFor(account, SECURITY_CENTER_API);
    const now = Date.now();
    await http.getJson(listUrl(s), {
      filter: windowFilter(s, new Date(now - 3_600_000), new Date(now)),
      pageSize: 1,
    });
  },
});
