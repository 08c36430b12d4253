import { z } from 'zod';
import { MICROSOFT_APIS, type MicrosoftAccount } from '../../accounts/microsoft.ts';
import { roleExplain } from '../../accounts/microsoft-credential.ts';
import type { ErrorInfo } from '../../core/errors.ts';
import { defineSource, type VendorErrorContext } from '../../core/source.ts';
import { baseUrlSetting } from '../../core/validation.ts';
import { keyedStream } from '../../engine/keyed-stream.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import { odataTime, tickBefore } from '../microsoft-graph.ts';

/**
 * Azure Activity Log (subscription-level control-plane events: Administrative, Security, Policy, Service
 * Health, Alert, Recommendation, Autoscale, Resource Health) through Azure Resource Manager. Vendor facts:
 *
 * - learn.microsoft.com/rest/api/monitor/activity-logs/list: `GET {ARM}/subscriptions/{subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=…`;
 *   `$filter` is required and only `eventTimestamp ge '…' and eventTimestamp le '…'` (optionally with a
 *   resource group, resource, provider or correlation id) is allowed; the answer is `{value: EventData[],
 *   nextLink}`; `eventDataId` is the event's unique id, `eventTimestamp` its time.
 * - learn.microsoft.com/azure/azure-monitor/essentials/activity-log ("Retention period"): 90 days; reading
 *   needs the Reader role (or Monitoring Reader) on the subscription ("View the activity log").
 * - learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time ("Azure data"): Activity log data takes
 *   about 3 to 20 minutes to become available.
 * - learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling: reads are
 *   throttled per principal and subscription; 429 with `Retry-After`; the remaining budget in
 *   `x-ms-ratelimit-remaining-subscription-reads` (the account budgets ARM at the documented 12,000 reads an
 *   hour: accounts/microsoft.ts).
 * - Errors: ARM answers `{"error":{"code","message"}}` (403 `AuthorizationFailed`, 404 `SubscriptionNotFound`,
 *   401 `InvalidAuthenticationToken`); the Insights provider answers `{"code","message"}` (ErrorResponse).
 *
 * Decisions:
 * - One stream holding every subscription the collector names, each with its own position
 *   (engine/keyed-stream.ts): a subscription whose Reader assignment is missing does not stop the others.
 * - The docs do not state the order of events in a page: windows on `eventTimestamp` (`ge` start, `le` the
 *   last tick before the end) move on only when complete, at most an hour each; windows end 20 minutes
 *   behind now (the ingestion time above) and start 15 minutes before the saved position, boundary ids
 *   suppressing the re-read.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const settings = z
  .object({
    subscriptionIds: z
      .array(
        z
          .string()
          .trim()
          .regex(GUID, 'expected a subscription ID, a GUID such as 00000000-0000-0000-0000-000000000000'),
      )
      .min(1, 'name at least one subscription')
      .max(100)
      .describe(
        'The subscriptions whose Activity Log is read (Azure portal → Subscriptions → Subscription ID)',
      )
      .meta({ title: 'Subscription IDs' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

const ARM = MICROSOFT_APIS.find((a) => a.name === 'Azure Resource Manager')!;

/** `https://management.azure.com` for the account's cloud, or the collector's base URL. */
export function armBase(s: { baseUrl?: string }, account: MicrosoftAccount): string {
  const host = ARM.clouds[account.cloud ?? 'global']?.hosts[0] ?? 'management.azure.com';
  return (s.baseUrl ?? `https://${host}`).replace(/\/+$/, '');
}

const valuesPath = (sub: string) =>
  `/subscriptions/${encodeURIComponent(sub)}/providers/Microsoft.Insights/eventtypes/management/values`;

const filterOf = (start: Date | number, end: Date | number) =>
  `eventTimestamp ge '${odataTime(start)}' and eventTimestamp le '${tickBefore(end)}'`;

/** The `code` of an ARM (`{error:{code}}`) or Insights (`{code}`) error body. */
function errorCode(body: string): string | undefined {
  try {
    const b = JSON.parse(body);
    const code = b?.error?.code ?? b?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

const subscriptionOf = (url: URL) => /\/subscriptions\/([^/]+)/i.exec(url.pathname)?.[1];

export function armExplain({ status, body, url }: VendorErrorContext): Partial<ErrorInfo> | undefined {
  const code = errorCode(body);
  const sub = subscriptionOf(url);
  if (status === 403)
    return {
      ...roleExplain('reader'),
      message: `Azure Resource Manager refused to read the Activity Log of subscription ${sub ?? '?'} (${code ?? 'HTTP 403'}): the app needs the Reader role on it.`,
    };
  if (status === 404 && code === 'SubscriptionNotFound')
    return {
      type: 'config',
      code: 'azure_subscription_not_found',
      action: `Subscription ${sub ?? '?'} is not in the account's tenant (or cloud): check the collector's subscription IDs (Azure portal → Subscriptions) and the Microsoft account's tenant and cloud.`,
    };
  if (status === 401)
    return {
      code: 'arm_token_rejected',
      action:
        "Azure Resource Manager rejected the access token Entra ID issued. Check that the Microsoft account's cloud is the tenant's cloud and that the collector's base URL, if set, is that cloud's ARM endpoint (https://management.azure.com).",
    };
  if (status === 400)
    return {
      type: 'config',
      code: 'arm_bad_request',
      action: `Azure Resource Manager refused the Activity Log query (${code ?? 'BadRequest'}). Check the collector's base URL; if it is right, report this with the logs.`,
    };
  return undefined;
}

export default defineSource<Settings, MicrosoftAccount>({
  id: 'azure-activity-logs',
  title: 'Azure Activity Logs',
  account: 'microsoft',
  stability: 'ga',
  family: 'rest-time-window',
  description:
    'Subscription-level Azure control-plane events (Administrative, Security, Policy, Service Health, Alert, Recommendation, Autoscale, Resource Health) from the Azure Activity Log, for one or more subscriptions.',
  setupGuide: [
    'You need an Entra administrator (to register the app) and an Owner or User Access Administrator of each subscription (to assign the role).',
    '1. Microsoft Entra admin center → **App registrations** → **New registration** (single tenant), or reuse the app of another Microsoft collector.',
    '   Copy the **Application (client) ID** and **Directory (tenant) ID**; under **Certificates & secrets** create a client secret (copy its *Value*) or upload a certificate.',
    '   No API permission is needed: Azure Resource Manager is authorised by Azure roles.',
    '2. For each subscription: Azure portal → **Subscriptions** → the subscription → **Access control (IAM)** → **Add** → **Add role assignment** →',
    '   **Reader** (or **Monitoring Reader**) → **Members**: *User, group, or service principal* → select the app → **Review + assign**. Copy the **Subscription ID**.',
    '   A new assignment can take up to 10 minutes to apply.',
    '3. Create a **Microsoft** account in Tributary (tenant ID, client ID, secret or private key + certificate, cloud), then this collector with the subscription IDs.',
    'Azure keeps the Activity Log for 90 days; events appear 3 to 20 minutes after they happen, so collection runs 20 minutes behind.',
  ].join('\n'),
  settings,
  retention: '90d',
  streams: {
    'activity-log': keyedStream<Settings, MicrosoftAccount, string>({
      title: 'Activity Log',
      description:
        'Activity Log events of every subscription named, each subscription with its own position.',
      parts: ({ settings: s }) => s.subscriptionIds.map((id) => id.toLowerCase()),
      key: (sub) => sub,
      stream: (sub) =>
        restPoll<Settings, MicrosoftAccount>({
          title: `Activity Log of ${sub}`,
          url: ({ settings: s, account }) => `${armBase(s, account)}${valuesPath(sub)}`,
          params: (_ctx, w) => ({ 'api-version': '2015-04-01', $filter: filterOf(w.start, w.end) }),
          records: (body) => body?.value,
          paginate: paginate.nextUrl('nextLink'),
          cursor: { time: 'eventTimestamp', lag: '20m', overlap: '15m', order: 'any', maxWindow: '1h' },
          eventId: (r) => (typeof r?.eventDataId === 'string' && r.eventDataId ? r.eventDataId : undefined),
          missingId: 'Activity Log event without an eventDataId',
        }),
    }),
  },
  explain: armExplain,
  async test({ settings: s, account, http }) {
    // Reads one minute of each subscription's log: proves the token and the Reader role on each.
    const end = Date.now();
    for (const sub of s.subscriptionIds)
      await http.getJson(`${armBase(s, account)}${valuesPath(sub.toLowerCase())}`, {
        'api-version': '2015-04-01',
        $filter: filterOf(end - 60_000, end),
      });
  },
});
