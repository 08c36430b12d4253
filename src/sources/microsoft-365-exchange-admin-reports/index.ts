import { z } from 'zod';
import type { MicrosoftAccount } from '../../accounts/microsoft.ts';
import { defineSource } from '../../core/source.ts';
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
 * Exchange Online message trace through the Graph-based message trace API, which replaces the Reporting
 * Web Service's `MessageTrace` report and `Get-MessageTrace` (learn.microsoft.com/powershell/module/exchange/get-messagetrace:
 * "This cmdlet is replaced by the Get-MessageTraceV2 cmdlet and will eventually be deprecated"). Vendor facts:
 *
 * - learn.microsoft.com/graph/api/messagetracingroot-list-messagetraces (v1.0): `GET /admin/exchange/tracing/messageTraces`;
 *   `$filter`, `$top` (1–5000, default 1000) and `$skiptoken`; follow `@odata.nextLink`, which keeps the
 *   query; application permission `ExchangeMessageTrace.Read.All`; Global service only (not US Government
 *   L4/L5 or China).
 * - learn.microsoft.com/graph/api/resources/exchangemessagetrace: properties id, messageId, receivedDateTime
 *   ("Supports $filter (ge, le)"), recipientAddress, senderAddress, fromIP, toIP, subject, size, status.
 * - learn.microsoft.com/exchange/monitoring/trace-an-email-message/graph-api-message-trace (onboarding
 *   guide): messages of "the last 90 days"; the app needs `ExchangeMessageTrace.Read.All` with admin consent,
 *   and the tenant a provisioned service principal for the message trace service.
 *
 * Unconfirmed (so early access): the order of the list (read as unordered: a window moves only when
 * complete), whether a query may span more than 10 days (Get-MessageTraceV2 allows "10 days worth of data
 * per query": windows are at most 1 day), the reporting delay (windows end 15 minutes behind now and re-read
 * 15 minutes), the request limit (Get-MessageTraceV2: 100 queries per 5 minutes; 429 + Retry-After is
 * honoured), and whether `id` alone is unique per recipient (the envelope id is `{id}:{recipientAddress}`).
 * Get-MessageTrace and the Reporting Web Service report it replaces cover 10 days; the Graph API 90 (the retention below).
 */

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(5000)
      .default(1000)
      .describe('Message trace records per page ($top, 1–5000)')
      .meta({ title: 'Records per page' }),
    baseUrl: baseUrlSetting(),
  })
  .strict();

type Settings = z.infer<typeof settings>;

export const traceId = (r: any): string | undefined =>
  typeof r?.id === 'string' && r.id
    ? `${r.id}:${typeof r.recipientAddress === 'string' ? r.recipientAddress : ''}`
    : undefined;

export default defineSource<Settings, MicrosoftAccount>({
  id: 'microsoft-365-exchange-admin-reports',
  title: 'Microsoft 365 Exchange Admin Reports',
  account: 'microsoft',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Exchange Online message trace (sender, recipient, subject, status, IPs) through the Microsoft Graph message trace API.',
  setupGuide: [
    'You need a Microsoft Entra administrator who can grant tenant-wide admin consent, and an Exchange Online tenant in the Global cloud.',
    '1. Microsoft Entra admin center → **App registrations** → **New registration**, or reuse the app of another Microsoft collector.',
    '2. **API permissions** → **Add a permission** → **Microsoft Graph** → **Application permissions** → `ExchangeMessageTrace.Read.All`,',
    '   then **Grant admin consent for <your tenant>**.',
    "3. Provision the message trace service's service principal in the tenant as Microsoft's onboarding guide",
    '   (Exchange → Monitoring → "Graph-based message trace API onboarding guide") describes.',
    '4. Create a **Microsoft** account in Tributary (cloud: global), then this collector.',
    'Early access: the list order, the per-query span, the reporting delay and the request limit are not documented for the Graph API.',
  ].join('\n'),
  settings,
  retention: '90d',
  streams: {
    'message-trace': restPoll<Settings, MicrosoftAccount>({
      title: 'Message trace',
      description:
        'One record per message and recipient (/admin/exchange/tracing/messageTraces), by receivedDateTime.',
      url: ({ settings: s, account }) => `${graphBase(s, account)}/admin/exchange/tracing/messageTraces`,
      params: ({ settings: s }, w) => ({
        $filter: `receivedDateTime ge ${odataTime(w.start)} and receivedDateTime le ${tickBefore(w.end)}`,
        $top: s.pageSize,
      }),
      records: graphRecords,
      paginate: graphPages,
      cursor: { time: 'receivedDateTime', lag: '15m', overlap: '15m', order: 'any', maxWindow: '1d' },
      eventId: traceId,
    }),
  },
  explain: graphExplain([
    { path: /\/admin\/exchange\/tracing\//i, permission: 'ExchangeMessageTrace.Read.All' },
  ]),
  async test({ settings: s, account, http }) {
    await http.getJson(`${graphBase(s, account)}/admin/exchange/tracing/messageTraces`, { $top: 1 });
  },
});
