import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { configError, type ErrorInfo, type TributaryError } from '../core/errors.ts';
import type { HttpClient } from '../core/source.ts';
import { CLOUDS, MICROSOFT_APIS, type MicrosoftAccount, microsoftToken } from './microsoft.ts';

/**
 * The `microsoft` account as an Azure SDK `TokenCredential` (@azure/core-auth), so one Entra app registration
 * serves the SDK-based collectors (Blob and Queue Storage, Event Hubs) with the same token cache, token
 * requests, certificate credentials and national clouds as the REST ones (accounts/microsoft.ts).
 *
 * Vendor facts:
 * - An SDK asks `getToken(scopes)` with `{resource}/.default` scopes: Storage `https://storage.azure.com/.default`
 *   (learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory, "Resource ID"), Event
 *   Hubs `https://eventhubs.azure.net/.default` (learn.microsoft.com/azure/event-hubs/authenticate-application),
 *   ARM `https://management.azure.com/.default`, Log Analytics `https://api.loganalytics.io/.default`
 *   (learn.microsoft.com/azure/azure-monitor/logs/api/access-api, "Client credentials flow").
 * - Data access to Azure resources is granted by Azure RBAC role assignments, not by API permissions: Storage
 *   Blob Data Reader, Storage Queue Data Message Processor (learn.microsoft.com/azure/storage/blobs/assign-azure-role-data-access),
 *   Azure Event Hubs Data Receiver (learn.microsoft.com/azure/event-hubs/authorize-access-azure-active-directory),
 *   Reader (Activity Log: learn.microsoft.com/azure/azure-monitor/essentials/activity-log, "View the activity
 *   log": "Reader role"), Log Analytics Reader (learn.microsoft.com/azure/azure-monitor/logs/manage-access,
 *   "Log Analytics Reader"). Assignments are made in the Azure portal under the resource's **Access control
 *   (IAM)** → **Add role assignment** (learn.microsoft.com/azure/role-based-access-control/role-assignments-portal)
 *   and "can take up to 10 minutes" to take effect (learn.microsoft.com/azure/role-based-access-control/troubleshooting,
 *   "Role assignment changes are not being detected").
 *
 * Only the resources of the APIs the account knows for its cloud (MICROSOFT_APIS) are asked for: a
 * credential handed to an SDK cannot be turned into a token for anything else.
 */

/** The Azure RBAC roles the Microsoft collectors need, with where they are assigned. */
export const AZURE_ROLES = {
  blobReader: { role: 'Storage Blob Data Reader', scope: 'the storage account (or the container)' },
  queueProcessor: {
    role: 'Storage Queue Data Message Processor',
    scope: 'the storage account (or the queue)',
  },
  eventHubsReceiver: {
    role: 'Azure Event Hubs Data Receiver',
    scope: 'the Event Hubs namespace (or the event hub)',
  },
  reader: { role: 'Reader', scope: 'each subscription' },
  logAnalyticsReader: { role: 'Log Analytics Reader', scope: 'the Log Analytics workspace' },
} as const;

export type AzureRole = keyof typeof AZURE_ROLES;

/** The recommended action for a refusal that a missing role assignment explains. */
export function roleAction(role: AzureRole, account?: Pick<MicrosoftAccount, 'clientId'>): string {
  const r = AZURE_ROLES[role];
  const app = account ? ` (Application ID ${account.clientId})` : '';
  return `Assign the ${r.role} role to the app registration${app} on ${r.scope}: Azure portal → the resource → Access control (IAM) → Add → Add role assignment → ${r.role} → Members: User, group, or service principal → select the app → Review + assign. A new assignment can take up to 10 minutes to apply.`;
}

/** The error for a 403 that a missing role explains: names the role, what was refused and the fix. */
export function roleMissing(
  role: AzureRole,
  what: string,
  account?: Pick<MicrosoftAccount, 'clientId'>,
): TributaryError {
  return configError(
    'azure_role_missing',
    `Azure refused to ${what} (HTTP 403): the app needs the ${AZURE_ROLES[role].role} role on ${AZURE_ROLES[role].scope}.`,
    roleAction(role, account),
    403,
  );
}

/** The explanation (`explain` hook) of a 403 that a missing role explains. */
export function roleExplain(
  role: AzureRole,
  account?: Pick<MicrosoftAccount, 'clientId'>,
): Partial<ErrorInfo> {
  return { type: 'config', code: 'azure_role_missing', action: roleAction(role, account) };
}

/** The resources the account may get tokens for in its cloud. */
export function knownResources(account: MicrosoftAccount): Set<string> {
  const cloud = account.cloud ?? 'global';
  return new Set(MICROSOFT_APIS.flatMap((api) => api.clouds[cloud]?.resource ?? []));
}

/** The resource of a `{resource}/.default` scope (`https://storage.azure.com//.default` too). */
export function scopeResource(scope: string): string | undefined {
  const m = /^(https:\/\/[^\s]+?)\/+\.default$/.exec(scope.trim());
  return m?.[1];
}

/**
 * `account` as a TokenCredential for the Azure SDKs. Tokens come from the account's shared cache and are
 * renewed 5 minutes before they expire (engine/oauth.ts); a failed token request throws the account's
 * config error (AADSTS code and recommended action), which the SDK passes on.
 */
export function microsoftCredential(http: HttpClient, account: MicrosoftAccount): TokenCredential {
  const cloud = account.cloud ?? 'global';
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
      if (options?.abortSignal?.aborted)
        throw new DOMException('The token request was aborted.', 'AbortError');
      const list = typeof scopes === 'string' ? [scopes] : scopes;
      const resource = list.length === 1 ? scopeResource(list[0]) : undefined;
      if (!resource || !knownResources(account).has(resource)) {
        throw configError(
          'microsoft_unknown_scope',
          `An Azure SDK asked the Microsoft account for a token for ${JSON.stringify(list)}, which is not a resource Tributary knows in the ${CLOUDS[cloud].title} cloud.`,
          "Check the account's cloud and the collector's endpoint (a storage account, Event Hubs namespace, ARM or Log Analytics endpoint of that cloud).",
        );
      }
      // A claims challenge (the SDK's answer to a 401 with `WWW-Authenticate: … claims=`) wants a new token.
      const t = await microsoftToken(http, account, resource, Boolean(options?.claims));
      return { token: t.token, expiresOnTimestamp: t.expiresAt, tokenType: 'Bearer' };
    },
  };
}
