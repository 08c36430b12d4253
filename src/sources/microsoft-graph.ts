import { graphRoot, type MicrosoftAccount } from '../accounts/microsoft.ts';
import type { ErrorInfo } from '../core/errors.ts';
import type { VendorErrorContext } from '../core/source.ts';
import { paginate } from '../engine/paginate.ts';

/**
 * What the Microsoft Graph sources share: the service root per national cloud (or the collector's
 * `baseUrl`, e.g. a proxy or a simulator, given without the version), OData time literals, `@odata.nextLink`
 * paging, and Graph's error codes turned into recommended actions.
 *
 * - Service roots per cloud: learn.microsoft.com/graph/deployments (see accounts/microsoft.ts).
 * - Paging: learn.microsoft.com/graph/paging — follow `@odata.nextLink` until it is absent.
 * - Errors: learn.microsoft.com/graph/errors — `{"error":{"code","message","innerError"}}`.
 * - Sign-in logs need Microsoft Entra ID P1 or P2 (learn.microsoft.com/graph/api/resources/signin); Graph
 *   answers 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant` otherwise.
 * - Delta links that expired answer `410 Gone` (synchronization reset) or a 40X with `syncStateNotFound`
 *   (learn.microsoft.com/graph/delta-query-overview, "Synchronization reset" and "Token duration").
 */

export interface GraphSettings {
  baseUrl?: string;
}

/** `https://graph.microsoft.com/v1.0` for the account's cloud, or the collector's base URL + `/v1.0`. */
export function graphBase(settings: GraphSettings, account: MicrosoftAccount): string {
  return `${(settings.baseUrl ?? graphRoot(account.cloud ?? 'global')).replace(/\/+$/, '')}/v1.0`;
}

export const graphPages = paginate.nextUrl('@odata.nextLink');

export const graphRecords = (body: any) => body?.value;

/** A Graph collection's page as facts (restPoll `shape`): records in `value`, each with its `id`. */
export const GRAPH_SHAPE = { records: 'value', id: 'id' };

/** An ISO time for `$filter` (Graph DateTimeOffset literals are unquoted). */
export const odataTime = (d: Date | number) => new Date(d).toISOString();

/**
 * The last DateTimeOffset tick (100 ns) before `d`: `le` this is `lt d` and `gt` it is `ge d`, exactly,
 * for APIs whose `$filter` offers only `ge`/`le` (sign-ins, directory audits) or `gt`/`lt` (provisioning).
 */
export function tickBefore(d: Date | number): string {
  return `${new Date(new Date(d).getTime() - 1).toISOString().slice(0, 23)}9999Z`;
}

/** The `error.code` of a Graph error body, if any. */
export function graphErrorCode(body: string): string | undefined {
  try {
    const code = JSON.parse(body)?.error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

const DELTA_RESET = /^(syncStateNotFound|resyncRequired|syncStateInvalid)$/i;

/**
 * Graph error responses worded for a source: `permissions` names, per request path, the application
 * permission the app needs (shown when Graph answers 403).
 */
export function graphExplain(
  permissions: Array<{ path: RegExp; permission: string }>,
): (ctx: VendorErrorContext) => Partial<ErrorInfo> | undefined {
  return ({ status, body, url, message }) => {
    const code = graphErrorCode(body);
    if (status === 410 || (code && DELTA_RESET.test(code))) {
      return {
        type: 'config',
        code: 'graph_delta_expired',
        action: 'The saved delta link is no longer valid; the stream starts a full snapshot again.',
      };
    }
    if (status === 401) {
      return {
        code: 'graph_token_rejected',
        action:
          "Microsoft Graph rejected the access token Entra ID issued. Check that the Microsoft account's cloud is the tenant's cloud (global, usgov, usgov-dod, china) and that the collector's base URL, if set, is that cloud's Graph endpoint.",
      };
    }
    if (status === 403 && code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant') {
      return {
        code: 'entra_premium_required',
        action:
          'Sign-in logs are available through Microsoft Graph only in tenants with a Microsoft Entra ID P1 or P2 licence: license the tenant, or disable the sign-ins stream of this collector.',
      };
    }
    if (status === 403) {
      const needed =
        permissions.find((p) => p.path.test(url.pathname))?.permission ??
        'the permissions in the setup guide';
      return {
        code: 'graph_permission_missing',
        action: `The app registration lacks ${needed} (or its admin consent). In the Entra admin center: App registrations → the app → API permissions → Add a permission → Microsoft Graph → Application permissions → ${needed}, then "Grant admin consent".`,
      };
    }
    if (status === 404) {
      return {
        code: 'graph_not_found',
        action: `Check the collector's base URL (a Graph root such as https://graph.microsoft.com, without /v1.0) and the account's cloud; this API may not be offered in that cloud. Graph said: ${message}`,
      };
    }
    if (status === 400) {
      return {
        code: 'graph_bad_request',
        action: `Microsoft Graph refused the query (${code ?? 'BadRequest'}). Check the collector's settings (page size); if they are right, report this with the logs.`,
      };
    }
    return undefined;
  };
}
