import { z } from 'zod';
import { type AbnormalAccount, abnormalHost } from '../../accounts/abnormal-security.ts';
import { hashId } from '../../core/envelope.ts';
import { defineSource, type RawEvent, type ReadContext } from '../../core/source.ts';
import { paginate } from '../../engine/paginate.ts';
import { restPoll } from '../../engine/rest-poll.ts';
import type { Window } from '../../engine/time-window.ts';

/**
 * Abnormal Security threats and Account Takeover cases. Vendor facts, from Abnormal's published OpenAPI
 * document (SwaggerHub abnormal-security/abx 1.4.3):
 *
 * - paths./threats GET: `filter={FILTER KEY} gte YYYY-MM-DDTHH:MM:SSZ lte YYYY-MM-DDTHH:MM:SSZ` with the keys
 *   `receivedTime` and `latestTimeRemediated`; `pageSize` (default 100) and `pageNumber` (1-indexed) work only
 *   with a filter; the answer `PaginatedThreats` lists only `threatId`s, with `pageNumber` and a
 *   `nextPageNumber` that is absent on the last page; `source` = all | attacks | borderline | spam.
 * - paths./threats/{threat_id} GET: `ThreatDetails` `{threatId, messages: [ThreatMessage]}`; each message has
 *   its own `abxMessageIdStr` ("a unique identifier for an individual message within a threat") and
 *   `receivedTime`; `pageSize` of messages, "Total results returned cannot exceed 2000".
 * - paths./cases GET ("Account Takeover license is required"): the same filter with `lastModifiedTime`;
 *   `PaginatedCases` of `AbnormalCase` (`caseId`, `last_modified`, …); paths./cases/{case_id} GET:
 *   `AbnormalCaseDetails`.
 * - components.responses: 401 token missing or invalid; 403 forbidden "e.g. IP not in allowlist"; 404
 *   "Invalid user input when using the filter query parameter"; 429 "Request count exceeds allowed number of
 *   concurrent requests for this resource type".
 *
 * How it reads. The lists give ids only, so each listed threat or case is fetched (N+1, each call drawing on
 * the account's budget: engine `expand`). The list order is not documented, so a window's position moves
 * only when the window is complete (its page number is kept meanwhile). Filters take whole seconds, both
 * bounds inclusive: `gte` is the window start rounded up, `lte` its end rounded down, with an overlap of at
 * least a second whose events were already delivered suppressed by id.
 *
 * - Threats: one event per **message** (`abxMessageIdStr`, time `receivedTime`): a campaign whose messages
 *   arrive over hours is listed by every window holding one of them, and each window delivers the messages
 *   inside it, so nothing repeats and nothing later is lost.
 * - Cases: one event per case **version**: id `{caseId}@{last_modified}`, time `last_modified` (the filter's
 *   `lastModifiedTime`); a case changed later is delivered again as a new version, like Graph alerts.
 *
 * Not in the public document, assumed: the lag (2 minutes: the delay of Abnormal's own Cortex XSOAR
 * integration, "Polling Lag Time … Default: 2 mins"), error bodies, how long threats and cases are kept, and a
 * rate limit in numbers (see the account kind).
 */

export interface AbnormalSettings {
  pageSize: number;
  threatSource: 'all' | 'attacks' | 'borderline' | 'spam';
  messagesPerThreat: number;
  baseUrl?: string;
}

const settings = z
  .object({
    pageSize: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .meta({ title: 'Page size' })
      .describe('Threats or cases listed per page (Abnormal default 100)'),
    threatSource: z
      .enum(['all', 'attacks', 'borderline', 'spam'])
      .default('all')
      .meta({ title: 'Threat source' })
      .describe('Which detections the threats stream reads: all, attacks, borderline or spam'),
    messagesPerThreat: z
      .number()
      .int()
      .min(1)
      .max(2000)
      .default(2000)
      .meta({ title: 'Messages per threat' })
      .describe('Messages asked for per threat campaign (Abnormal returns at most 2000)'),
  })
  .strict();

const api = (s: AbnormalSettings, a: AbnormalAccount) =>
  `${(s.baseUrl ?? abnormalHost(a)).replace(/\/+$/, '')}/v1`;

/** Whole-second UTC as the filter takes it: `YYYY-MM-DDTHH:MM:SSZ`. */
const filterTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const filterOf = (key: string, w: Window) =>
  `${key} gte ${filterTime(Math.ceil(w.start.getTime() / 1000) * 1000)} lte ${filterTime(Math.floor(w.end.getTime() / 1000) * 1000)}`;

const MIN_OVERLAP_MS = 1000;
const CURSOR = { lag: '2m', overlap: '1s', order: 'any', maxWindow: '1d', clip: true } as const;

async function threatMessages(
  ctx: ReadContext<AbnormalSettings, AbnormalAccount>,
  listed: any,
): Promise<RawEvent[]> {
  const id = listed?.threatId;
  if (typeof id !== 'string' || !id) return [{ raw: listed }]; // dead-lettered: no id
  const { body, response } = await ctx.http.requestJson({
    url: `${api(ctx.settings, ctx.account)}/threats/${encodeURIComponent(id)}`,
    query: { pageSize: ctx.settings.messagesPerThreat },
    accept: [404], // removed between the list and this call: nothing to deliver
  });
  if (response.status === 404) return [];
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  return messages.map((m) => ({
    raw: m,
    id: typeof m?.abxMessageIdStr === 'string' ? m.abxMessageIdStr : undefined,
    time: typeof m?.receivedTime === 'string' ? m.receivedTime : undefined,
  }));
}

async function caseVersion(
  ctx: ReadContext<AbnormalSettings, AbnormalAccount>,
  listed: any,
): Promise<RawEvent[]> {
  const id = listed?.caseId === undefined ? undefined : String(listed.caseId);
  if (!id) return [{ raw: listed }];
  const { body, response } = await ctx.http.requestJson({
    url: `${api(ctx.settings, ctx.account)}/cases/${encodeURIComponent(id)}`,
    accept: [404],
  });
  if (response.status === 404) return [];
  const modified = typeof listed.last_modified === 'string' ? listed.last_modified : undefined;
  return [{ raw: body, id: `${id}@${modified ?? hashId(body)}`, time: modified }];
}

const threats = restPoll<AbnormalSettings, AbnormalAccount>({
  title: 'Threats',
  description: 'Every message of the threat campaigns in the Threat Log (/v1/threats), by received time.',
  url: ({ settings: s, account }) => `${api(s, account)}/threats`,
  params: ({ settings: s }, w) => ({
    filter: filterOf('receivedTime', w),
    pageSize: s.pageSize,
    pageNumber: 1,
    source: s.threatSource === 'all' ? undefined : s.threatSource,
  }),
  records: (body) => body?.threats,
  paginate: paginate.cursor({ param: 'pageNumber', from: 'nextPageNumber' }),
  cursor: { time: 'receivedTime', ...CURSOR },
  eventId: () => undefined,
  expand: threatMessages,
});

const cases = restPoll<AbnormalSettings, AbnormalAccount>({
  title: 'Cases',
  description: 'Account Takeover cases (/v1/cases), one event each time a case changes.',
  url: ({ settings: s, account }) => `${api(s, account)}/cases`,
  params: ({ settings: s }, w) => ({
    filter: filterOf('lastModifiedTime', w),
    pageSize: s.pageSize,
    pageNumber: 1,
  }),
  records: (body) => body?.cases,
  paginate: paginate.cursor({ param: 'pageNumber', from: 'nextPageNumber' }),
  cursor: { time: 'last_modified', ...CURSOR },
  eventId: () => undefined,
  expand: caseVersion,
});

/** The filters take whole seconds: the overlap must cover one (see above). */
const wholeSeconds = (stream: typeof threats) => (ctx: ReadContext<AbnormalSettings, AbnormalAccount>) =>
  stream.read({
    ...ctx,
    window: { ...ctx.window, overlapMs: Math.max(ctx.window.overlapMs ?? 0, MIN_OVERLAP_MS) },
  });

export default defineSource<AbnormalSettings, AbnormalAccount>({
  id: 'abnormal-security',
  title: 'Abnormal Security',
  account: 'abnormal-security',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Abnormal Security email threats (every message of each attack campaign: sender, recipients, attack type, remediation) and Account Takeover cases.',
  setupGuide: [
    '1. In the Abnormal Portal go to **Settings → Integrations → Abnormal REST API** and copy the **token** (it reads',
    '   every threat and case of the organization; keep it in Tributary only).',
    '2. On the same page, **IP allowlisting**: add the public address Tributary connects from. That is the outbound',
    '   (NAT or proxy) address of the host running `tributary serve` or `tributary worker`, not its private one: ask',
    '   your network team, or run `curl -s https://checkip.amazonaws.com` on that host. In cluster mode add every',
    "   worker's address (or the shared NAT gateway's). Requests from other addresses are refused (403).",
    '3. Create an **Abnormal Security** account in Tributary with the token and the region (`eu` for tenants on',
    '   eu.rest.abnormalsecurity.com).',
    '4. The **cases** stream needs the **Account Takeover** product; without it, enable only `threats`.',
    '',
    'Early access: Abnormal does not publish its rate limit in numbers, its error bodies, how long threats and',
    'cases stay listable, or the order of its lists. Tributary paces detail calls at 2 a second per account',
    "(raise it with the account's requests per minute if Abnormal allows more), reads each window completely",
    'before moving on, and waits 2 minutes behind now for late detections.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<AbnormalSettings>,
  streams: {
    threats: { title: threats.title, description: threats.description, read: wholeSeconds(threats) },
    cases: { title: cases.title, description: cases.description, read: wholeSeconds(cases) },
  },
  explain({ status, message, url }) {
    const onCases = /\/cases(\/|$)/.test(url.pathname);
    if (status === 401)
      return {
        code: 'abnormal_invalid_token',
        action:
          'Abnormal rejected the token (missing, invalid or revoked). Copy the token again from the Abnormal Portal → Settings → Integrations → Abnormal REST API and update the account.',
      };
    if (status === 403)
      return onCases
        ? {
            code: 'abnormal_cases_forbidden',
            action:
              "Abnormal refused the cases: the Account Takeover product is not licensed, or this host's public IP address is not on the Abnormal REST API allowlist (Portal → Settings → Integrations). Without Account Takeover, disable the cases stream.",
          }
        : {
            code: 'abnormal_ip_not_allowlisted',
            action:
              "Abnormal refused the request although the token is valid: add this host's public (outbound NAT or proxy) IP address to the allowlist under Portal → Settings → Integrations → Abnormal REST API, and check the account's region.",
          };
    if (status === 404 && /\/(threats|cases)\/?$/.test(url.pathname))
      return {
        code: 'abnormal_bad_filter',
        action: `Abnormal refused the time filter${message ? ` (${message})` : ''}: check the account's region and host; if they are right, report this with the logs.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, streams }) {
    // Proves the token and the IP allowlist (threats), and the Account Takeover license when cases are read.
    const w = { start: new Date(Date.now() - 3_600_000), end: new Date() };
    if (streams.length === 0 || streams.includes('threats'))
      await http.getJson(`${api(s, account)}/threats`, { filter: filterOf('receivedTime', w), pageSize: 1 });
    if (streams.length === 0 || streams.includes('cases'))
      await http.getJson(`${api(s, account)}/cases`, {
        filter: filterOf('lastModifiedTime', w),
        pageSize: 1,
      });
  },
});
