import { z } from 'zod';
import { type CloudflareAccount, cloudflareUrl } from '../../accounts/cloudflare.ts';
import { defineSource, type ReadContext } from '../../core/source.ts';
import { fetchPage, restPoll } from '../../engine/rest-poll.ts';
import { compile } from '../rest-api/request.ts';
import { type RestApiSettings, restApiSettings } from '../rest-api/settings.ts';

/**
 * Cloudflare account audit logs (Audit Logs version 2). Vendor facts:
 *
 * - developers.cloudflare.com/fundamentals/account/account-security/audit-logs ("Audit Logs - version 2"):
 *   account-based; user-initiated and system-initiated actions; retrievable through the API for 30 days.
 * - The API reference, as Cloudflare's own SDK (cloudflare-typescript, generated from Cloudflare's OpenAPI
 *   document: `accounts.logs.audit.list`) has it: `GET /accounts/{account_id}/logs/audit` with `since` ("logs
 *   newer than", RFC 3339) and `before` ("logs older than") both required, `direction` asc | desc, `limit`, and
 *   `cursor` taken from `result_info.cursor` of the previous page (the SDK's CursorPaginationAfter); entries
 *   `{id, account, action {description, result, time, type}, actor {id, context, email, ip_address, token_id,
 *   token_name, type}, raw {cf_ray_id, method, status_code, uri, user_agent}, resource, zone}` in the v4
 *   envelope `{success, errors, messages, result, result_info}`. The SDK notes the beta's limits: "Audit logs
 *   are available only for the past 30 days".
 * - developers.cloudflare.com/fundamentals/api/reference/limits: 1,200 requests per five minutes per user,
 *   then 429 (the account kind's budget).
 *
 * The generic REST API collector already reads this shape: this source is its preset (request templates,
 * cursor pagination, oldest first), plus Cloudflare's account ID, permissions and error wording. `since` may be
 * exclusive, so windows re-read one second behind the position (delivered ids are suppressed).
 */

export interface CloudflareSettings {
  accountId: string;
  limit: number;
  baseUrl?: string;
}

const settings = z
  .object({
    accountId: z
      .string()
      .trim()
      .regex(
        /^[0-9a-f]{32}$/,
        'expected the 32-character account ID (dashboard → Account home → ⋮ → Copy account ID)',
      )
      .meta({ title: 'Account ID' })
      .describe('The Cloudflare account whose audit log to read (32 hexadecimal characters)'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .meta({ title: 'Page size' })
      .describe('Entries per page (limit)'),
  })
  .strict();

const presets = new WeakMap<object, RestApiSettings>();

/** The generic collector's settings for this collector (built once per settings object). */
export function preset(s: CloudflareSettings): RestApiSettings {
  let p = presets.get(s);
  if (!p) {
    p = restApiSettings.parse({
      url: `https://api.cloudflare.com/client/v4/accounts/${s.accountId}/logs/audit`,
      query: { since: '{{window.start}}', before: '{{window.end}}', direction: 'asc', limit: s.limit },
      publicHeaders: { Accept: 'application/json' },
      recordsPath: 'result',
      timePath: 'action.time',
      timeFormat: 'iso',
      idPath: 'id',
      pagination: { type: 'cursor', cursorPath: 'result_info.cursor', param: 'cursor' },
      order: 'ascending',
      lag: '1m',
      maxWindow: '1d',
      retention: '30d',
      baseUrl: s.baseUrl,
    }) as RestApiSettings;
    presets.set(s, p);
  }
  return p;
}

const MIN_OVERLAP_MS = 1000;

function read(ctx: ReadContext<CloudflareSettings, CloudflareAccount>) {
  const s = ctx.settings.baseUrl ? ctx.settings : { ...ctx.settings, baseUrl: cloudflareUrl(ctx.account) };
  const def = compile(preset(s)).def;
  const window = { ...ctx.window, overlapMs: Math.max(ctx.window.overlapMs ?? 0, MIN_OVERLAP_MS) };
  return restPoll(def).read({ ...ctx, settings: preset(s), window } as ReadContext);
}

export default defineSource<CloudflareSettings, CloudflareAccount>({
  id: 'cloudflare',
  title: 'Cloudflare',
  account: 'cloudflare',
  stability: 'early-access',
  family: 'rest-time-window',
  description:
    'Cloudflare account audit logs (version 2): every change made in the dashboard or through the API, and the actions Cloudflare systems took as a result.',
  setupGuide: [
    "1. In the Cloudflare dashboard, copy the **Account ID** (Account home → the account's ⋮ menu → Copy account ID).",
    '2. **My Profile → API Tokens → Create Token → Create Custom Token** (or, for a token that belongs to the',
    '   account, **Manage Account → Account API Tokens**). Permissions: **Account → Access: Audit Logs → Read**;',
    "   Account Resources: include that account. Optionally restrict it to Tributary's outbound IP addresses.",
    '3. Create a **Cloudflare** account in Tributary with the token, then the collector with the account ID.',
    '',
    'Cloudflare keeps 30 days of audit logs for the API. Budget: 1,200 requests per five minutes per token.',
    '',
    'Early access: Audit Logs version 2 is a Cloudflare beta ("there may be gaps or missing entries"); whether',
    '`since` is inclusive, the largest `limit` and the error codes are not documented.',
  ].join('\n'),
  settings: settings as unknown as z.ZodType<CloudflareSettings>,
  retention: '30d',
  streams: {
    'audit-logs': {
      title: 'Audit logs',
      description: 'Every entry of the account audit log (/accounts/{id}/logs/audit), oldest first.',
      read,
    },
  },
  explain({ status, message }) {
    if (status === 401)
      return {
        code: 'cloudflare_invalid_token',
        action:
          'Cloudflare rejected the API token (invalid, expired, revoked, or a Global API Key). Create an API token with Account → Access: Audit Logs → Read and update the account.',
      };
    if (status === 403)
      return {
        code: 'cloudflare_missing_permission',
        action: `Cloudflare refused the audit log to this token${message ? ` (${message})` : ''}: give it the permission Account → Access: Audit Logs → Read with this account under Account Resources, and check the token's IP address filter.`,
      };
    if (status === 404)
      return {
        code: 'cloudflare_account_not_found',
        action:
          "Check the collector's account ID (32 hexadecimal characters, from Account home) and that the token can see that account.",
      };
    if (status === 400)
      return {
        code: 'cloudflare_bad_request',
        action: `Cloudflare refused the query${message ? ` (${message})` : ''}: the audit log is kept 30 days; check this host's clock and the page size.`,
      };
    return undefined;
  },
  async test({ settings: s, account, http, signal }) {
    const p = preset(s.baseUrl ? s : { ...s, baseUrl: cloudflareUrl(account) });
    const c = compile(p);
    const end = Date.now() - 60_000;
    const request = c.firstRequest({ start: new Date(end - 3_600_000), end: new Date(end) });
    await fetchPage(c.def, { http, settings: p, signal } as ReadContext<RestApiSettings>, {
      ...request,
      query: { ...request.query, limit: 1 },
    });
  },
});
