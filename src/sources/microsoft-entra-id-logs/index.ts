import { z } from 'zod';
import type { MicrosoftAccount } from '../../accounts/microsoft.ts';
import { defineSource } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import {
  GRAPH_SHAPE,
  graphBase,
  graphExplain,
  graphPages,
  odataTime,
  tickBefore,
} from '../microsoft-graph.ts';

/**
 * Microsoft Entra ID activity logs through Microsoft Graph v1.0. Vendor facts:
 *
 * - Sign-ins, learn.microsoft.com/graph/api/signin-list: `GET /auditLogs/signIns`, `$filter` on
 *   `createdDateTime` with `eq, le, ge` only, `$top` and `$skiptoken` (no `$orderby`); "The maximum and
 *   default page size is 1,000 objects and by default, the most recent sign-ins are returned first";
 *   interactive sign-ins only in v1.0. Application permissions AuditLog.Read.All and Directory.Read.All;
 *   needs Microsoft Entra ID P1 or P2 (resources/signin), else 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant.
 * - Directory audits, learn.microsoft.com/graph/api/directoryaudit-list and resources/directoryaudit:
 *   `GET /auditLogs/directoryAudits`, `activityDateTime` "Supports $filter (eq, ge, le) and $orderby", `$top`,
 *   `$skiptoken`; application permission AuditLog.Read.All.
 * - Provisioning, learn.microsoft.com/graph/api/provisioningobjectsummary-list: `GET /auditLogs/provisioning`,
 *   `$filter` (eq, contains, gt, lt), `$orderby`, `$top`, `$skiptoken`; AuditLog.Read.All and
 *   Directory.Read.All; not offered by 21Vianet (China).
 * - Paging by `@odata.nextLink`; throttling "Identity and access reports: 5 requests per 10 seconds per
 *   app per tenant", 429 with Retry-After (learn.microsoft.com/graph/throttling-limits).
 * - Latency: Microsoft's reporting-latency page gave 2 minutes (95th percentile) and 5 minutes (99th) for
 *   audit and sign-in logs (reference-reports-latencies, since merged into reference-log-latency, which
 *   names no figure). Retention: 7 days (Free) or 30 days (P1/P2) (reports-faq, reference-reports-data-retention).
 *
 * Decisions: windows end 2 minutes behind now (the 95th percentile) and re-read the 5 minutes before the
 * saved position (the 99th), so late records are collected once (the boundary ids suppress repeats).
 * Directory audits and provisioning are asked oldest first (`$orderby=activityDateTime asc`), so the
 * position moves after every page. Sign-ins cannot be ordered: they are read newest first within a
 * window of at most an hour, whose position moves only when the window is complete (the page link in
 * progress is kept for a restart). Exclusive window ends are written as the last tick before them, since
 * the `$filter` operators offered are `ge`/`le` (and `gt`/`lt` for provisioning). Ids from `id`.
 */

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .describe('Records per page ($top); Graph allows up to 1,000 for sign-ins')
      .meta({ title: 'Records per page' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

export const STREAMS = ['sign-ins', 'directory-audits', 'provisioning'] as const;

const LAG = '2m';
const OVERLAP = '5m';

export default defineSource<Settings, MicrosoftAccount>({
  id: 'microsoft-entra-id-logs',
  title: 'Microsoft Entra ID Logs',
  account: 'microsoft',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Microsoft Entra ID (Azure AD) sign-in, directory audit and provisioning logs through Microsoft Graph.',
  setupGuide: [
    'You need a Microsoft Entra administrator who can grant tenant-wide admin consent (Privileged Role Administrator or Global Administrator).',
    '1. Microsoft Entra admin center → **App registrations** → **New registration**: any name, *Accounts in this organizational directory only*, no redirect URI.',
    '   Copy the **Application (client) ID** and the **Directory (tenant) ID**.',
    '2. **Certificates & secrets**: create a **client secret** (copy its *Value*, not its *Secret ID*) or upload a certificate whose private key you keep.',
    '3. **API permissions** → **Add a permission** → **Microsoft Graph** → **Application permissions**: `AuditLog.Read.All` and `Directory.Read.All`,',
    '   then **Grant admin consent for <your tenant>**.',
    '4. Sign-in logs through Graph need a **Microsoft Entra ID P1 or P2** licence in the tenant (directory audits do not).',
    '5. Create a **Microsoft** account in Tributary with the tenant ID, client ID, the secret (or private key + certificate) and the cloud',
    '   (global, usgov for GCC High, usgov-dod, china). One app can serve every Microsoft collector once it holds all their permissions.',
  ].join('\n'),
  settings,
  retention: '30d',
  defaultStreams: () => ['sign-ins', 'directory-audits'],
  streams: {
    'sign-ins': restPoll<Settings, MicrosoftAccount>({
      title: 'Sign-ins',
      description: 'Interactive user sign-ins (/auditLogs/signIns); needs Entra ID P1 or P2.',
      url: ({ settings: s, account }) => `${graphBase(s, account)}/auditLogs/signIns`,
      params: ({ settings: s }, w) => ({
        $filter: `createdDateTime ge ${odataTime(w.start)} and createdDateTime le ${tickBefore(w.end)}`,
        $top: s.pageSize,
      }),
      shape: GRAPH_SHAPE,
      paginate: graphPages,
      cursor: { time: 'createdDateTime', lag: LAG, overlap: OVERLAP, order: 'desc', maxWindow: '1h' },
    }),
    'directory-audits': restPoll<Settings, MicrosoftAccount>({
      title: 'Directory audits',
      description:
        'Audit logs of directory changes: users, groups, apps, roles, PIM, policies (/auditLogs/directoryAudits).',
      url: ({ settings: s, account }) => `${graphBase(s, account)}/auditLogs/directoryAudits`,
      params: ({ settings: s }, w) => ({
        $filter: `activityDateTime ge ${odataTime(w.start)} and activityDateTime le ${tickBefore(w.end)}`,
        $orderby: 'activityDateTime asc',
        $top: s.pageSize,
      }),
      shape: GRAPH_SHAPE,
      paginate: graphPages,
      cursor: { time: 'activityDateTime', lag: LAG, overlap: OVERLAP, order: 'asc' },
    }),
    provisioning: restPoll<Settings, MicrosoftAccount>({
      title: 'Provisioning',
      description:
        'Actions of the Entra provisioning service, e.g. users created in SaaS apps or from HR (/auditLogs/provisioning).',
      url: ({ settings: s, account }) => `${graphBase(s, account)}/auditLogs/provisioning`,
      params: ({ settings: s }, w) => ({
        $filter: `activityDateTime gt ${tickBefore(w.start)} and activityDateTime lt ${odataTime(w.end)}`,
        $orderby: 'activityDateTime asc',
        $top: s.pageSize,
      }),
      shape: GRAPH_SHAPE,
      paginate: graphPages,
      cursor: { time: 'activityDateTime', lag: LAG, overlap: OVERLAP, order: 'asc' },
    }),
  },
  explain: graphExplain([
    { path: /\/auditLogs\/signIns/i, permission: 'AuditLog.Read.All and Directory.Read.All' },
    { path: /\/auditLogs\/provisioning/i, permission: 'AuditLog.Read.All and Directory.Read.All' },
    { path: /\/auditLogs\//i, permission: 'AuditLog.Read.All' },
  ]),
  async test({ settings: s, account, http, streams }) {
    const now = Date.now();
    const since = odataTime(now - 3_600_000);
    const enabled = streams.length ? streams : ['sign-ins', 'directory-audits'];
    const base = graphBase(s, account);
    if (enabled.includes('directory-audits'))
      await http.getJson(`${base}/auditLogs/directoryAudits`, {
        $filter: `activityDateTime ge ${since}`,
        $top: 1,
      });
    if (enabled.includes('sign-ins'))
      await http.getJson(`${base}/auditLogs/signIns`, { $filter: `createdDateTime ge ${since}`, $top: 1 });
    if (enabled.includes('provisioning'))
      await http.getJson(`${base}/auditLogs/provisioning`, {
        $filter: `activityDateTime gt ${since}`,
        $top: 1,
      });
  },
});
