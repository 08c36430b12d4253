import type { SalesforceAccount } from '../accounts/salesforce.ts';
import { type ErrorInfo, TributaryError } from '../core/errors.ts';
import type { VendorErrorContext } from '../core/source.ts';
import type { PageRequest } from '../engine/paginate.ts';
import type { VendorUsage } from '../engine/vendor-usage.ts';

/**
 * Salesforce REST API facts shared by the `salesforce` and `salesforce-eventlog` sources:
 *
 * - Query (developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md, "Query"):
 *   `GET /services/data/vXX.X/query?q=<SOQL>` answers `{totalSize, done, nextRecordsUrl?, records}`, up to
 *   2,000 records a batch; while `done` is false, `nextRecordsUrl` (a relative URL) is the next batch
 *   ("Query More Results"; these requests carry no parameters). The batch size is asked with the request
 *   header `Sforce-Query-Options: batchSize=N` (200 to 2,000; a hint: Salesforce may return fewer).
 *   Query locators expire (15 minutes of inactivity), after which the next batch answers 400
 *   `INVALID_QUERY_LOCATOR`.
 * - SOQL date-time literals are `YYYY-MM-DDThh:mm:ssZ` (SOQL and SOSL Reference, "Date Formats and Date
 *   Literals"): whole seconds, UTC. Records carry date-times as `2026-12-07T05:00:00.000+0000`.
 * - Errors (REST API Developer Guide, "Status Codes and Error Responses"): a JSON array
 *   `[{"message", "errorCode", "fields"?}]`; 401 when "the session ID or OAuth token used has expired or
 *   is invalid" (`INVALID_SESSION_ID`); 403 "the request has been refused … If the error code is
 *   REQUEST_LIMIT_EXCEEDED, you've exceeded API request limits in your org"; 400 `MALFORMED_QUERY`,
 *   `INVALID_FIELD`, `INVALID_TYPE` (an object the user may not see: "sObject type 'X' is not supported").
 * - The org's allowance (REST API Developer Guide, "Limit Info Header"): every answer but the Versions
 *   URI carries `Sforce-Limit-Info: api-usage=<used>/<limit>`, the org's API requests in the last 24
 *   hours against its allowance (optionally `; api-bursts=…`).
 */

export const API_VERSION = 'v62.0';

/** The REST API root of the org: the collector's base URL, else the account's My Domain URL. */
export const restBase = (s: { baseUrl?: string }, a: SalesforceAccount) =>
  (s.baseUrl ?? a.url).replace(/\/+$/, '');

/** A SOQL date-time literal: whole seconds, UTC (the fraction dropped, so a window starts no later). */
export const soqlTime = (ms: number) =>
  `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;

/** The first request of a SOQL query. */
export const queryRequest = (base: string, soql: string): PageRequest => ({
  url: `${base}/services/data/${API_VERSION}/query`,
  query: { q: soql },
});

/** The query's batch-size header, sent with every batch. */
export const batchHeader = (batchSize: number) => ({ 'Sforce-Query-Options': `batchSize=${batchSize}` });

/** `[{"message","errorCode"}]` → the first error code, or ''. */
export function errorCode(body: string): string {
  try {
    const j = JSON.parse(body);
    const code = Array.isArray(j) ? j[0]?.errorCode : j?.errorCode;
    return typeof code === 'string' ? code : '';
  } catch {
    return '';
  }
}

/** The SOQL object a query names (`FROM LoginHistory`), for messages. */
function queriedObject(url: URL): string | undefined {
  return /\bFROM\s+(\w+)/i.exec(url.searchParams.get('q') ?? '')?.[1];
}

/**
 * Recommended actions for the REST API's documented errors. `permission` names what the integration user
 * needs to read an object (the source's own facts).
 */
export function explainSalesforce(
  ctx: VendorErrorContext,
  permission: (object: string | undefined) => string,
): Partial<ErrorInfo> | undefined {
  const code = errorCode(ctx.body);
  const object = queriedObject(ctx.url);
  if (ctx.status === 401)
    return {
      code: 'salesforce_session_invalid',
      action:
        "Salesforce refused the access token after a renewal: check that the connected app's OAuth policies allow the integration user, and that the user is active and not frozen.",
    };
  if (code === 'API_DISABLED_FOR_ORG' || code === 'API_CURRENTLY_DISABLED')
    return {
      code: 'salesforce_api_disabled',
      action:
        "The integration user may not use the API: give its profile or a permission set the “API Enabled” permission (the org's edition must include API access).",
    };
  if (code === 'INVALID_TYPE' || code === 'INSUFFICIENT_ACCESS' || ctx.status === 403)
    return {
      code: 'salesforce_object_not_readable',
      action: `The integration user cannot read ${object ?? 'the object'}: ${permission(object)}`,
    };
  if (code === 'INVALID_QUERY_LOCATOR')
    return {
      code: 'salesforce_query_locator_expired',
      action:
        'The next batch of the query expired (locators last 15 minutes); Tributary reads the window again.',
    };
  if (code === 'INVALID_FIELD' || code === 'MALFORMED_QUERY')
    return {
      code: 'salesforce_query_refused',
      action: `Salesforce refused the query on ${object ?? 'the object'}: check that the account URL is the org's My Domain URL and that the org's API version supports the object; if both are right, report this with the logs.`,
    };
  return undefined;
}

/**
 * The daily allowance spent is a 403 with REQUEST_LIMIT_EXCEEDED: waited out like a rate limit (an hour:
 * the allowance counts the last 24 hours, so it frees up gradually), never reported as a permission problem.
 */
export function salesforceRateLimited(ctx: VendorErrorContext): { defaultWaitMs: number } | undefined {
  return ctx.status === 403 && errorCode(ctx.body) === 'REQUEST_LIMIT_EXCEEDED'
    ? { defaultWaitMs: 3_600_000 }
    : undefined;
}

/** Share of the allowance above which a run warns. */
export const USAGE_WARN_SHARE = 0.9;

/** `Sforce-Limit-Info: api-usage=18/5000; api-bursts=1/750` → used and limit. */
export function apiUsage(header: string | null): { used: number; limit: number } | undefined {
  const m = /api-usage=(\d+)\/(\d+)/.exec(header ?? '');
  return m ? { used: Number(m[1]), limit: Number(m[2]) } : undefined;
}

/** The org's allowance on the collector page (checkpoint `apiUsage`), with a warning above 90 %. */
export const limitInfo: VendorUsage = {
  key: 'apiUsage',
  read(headers) {
    const u = apiUsage(headers.get('sforce-limit-info'));
    if (!u) return undefined;
    const warn =
      u.limit > 0 && u.used >= u.limit * USAGE_WARN_SHARE
        ? new TributaryError({
            type: 'gap',
            code: 'salesforce_api_allowance_low',
            message: `The org has used ${u.used} of its ${u.limit} daily API requests (Sforce-Limit-Info).`,
            action:
              "Every integration of the org shares this allowance: lower this collector's frequency, find the integration using the most (Setup → System Overview, API usage), or ask Salesforce for a larger allowance.",
          })
        : undefined;
    return { text: `${u.used}/${u.limit}`, warn };
  },
};
