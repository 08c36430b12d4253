import { z } from 'zod';
import { configError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import {
  CLOUDS,
  entraCredentialIssues,
  MICROSOFT_APIS,
  type MicrosoftAccount,
  type MicrosoftCloud,
  microsoftFields,
} from './microsoft.ts';

/**
 * The `azure-event-hubs` account kind: one Event Hubs namespace reached with a shared access policy's
 * connection string — or with an Entra ID app (the `microsoft` account's tenant, client ID and secret or
 * certificate, RBAC role Azure Event Hubs Data Receiver) — the hub to read and the consumer group to read it
 * as. The official client (`@azure/event-hubs`) signs its own SAS tokens from the connection string, or asks
 * the app's tokens from accounts/microsoft-credential.ts (accounts/azure-event-hubs-reader.ts).
 * Vendor facts:
 *
 * - Connection strings (learn.microsoft.com/azure/event-hubs/event-hubs-get-connection-string, "Connection
 *   string for a namespace" and "… for a specific event hub"): `Endpoint=sb://{namespace}.servicebus.windows.net/;
 *   SharedAccessKeyName=…;SharedAccessKey=…`, with `;EntityPath={hub}` when the policy belongs to one hub.
 * - Rights (learn.microsoft.com/azure/event-hubs/authorize-access-shared-access-signature, "Shared access
 *   authorization policies"): a policy holds Send, Listen and/or Manage; reading events and the hub's
 *   properties needs Listen — a Listen-only policy is the least privilege.
 * - Consumer groups (learn.microsoft.com/azure/event-hubs/event-hubs-features, "Consumer groups"): every hub
 *   has `$Default`; "There can be at most 5 concurrent readers on a partition per consumer group", so a
 *   consumer group of its own for Tributary is recommended.
 * - The Event Hubs emulator (learn.microsoft.com/azure/event-hubs/test-locally-with-event-hub-emulator)
 *   takes `UseDevelopmentEmulator=true` in the connection string: plain AMQP to a loopback endpoint.
 * - Entra ID (learn.microsoft.com/azure/event-hubs/authorize-access-azure-active-directory, "Azure built-in
 *   roles for Azure Event Hubs"; authenticate-application): an app's token for `https://eventhubs.azure.net/.default`
 *   is accepted with the Azure Event Hubs Data Receiver role on the namespace or the hub; the client is given
 *   the fully qualified namespace `{namespace}.servicebus.windows.net` in place of a connection string.
 * - Throughput (learn.microsoft.com/azure/event-hubs/event-hubs-quotas): egress is limited per throughput or
 *   processing unit (2 MB/s or 4,096 events/s per TU on Standard); the service throttles with ServerBusy,
 *   which the client retries — so the kind sets no request rate of its own.
 */

export interface AzureEventHubsAccount {
  /** Shared access signature: a policy's connection string. */
  connectionString?: string;
  /** Entra ID (RBAC): the namespace host, with the app's fields below. */
  fullyQualifiedNamespace?: string;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  privateKey?: string;
  certificate?: string;
  cloud?: MicrosoftCloud;
  authorityHost?: string;
  eventHubName?: string;
  consumerGroup: string;
}

/** The Entra fields of the account (none with a connection string). */
const ENTRA = ['tenantId', 'clientId', 'clientSecret', 'privateKey', 'certificate', 'authorityHost'] as const;

/** The account's Entra ID app as a `microsoft` account, or undefined when it holds a connection string. */
export function entraApp(a: AzureEventHubsAccount): MicrosoftAccount | undefined {
  if (a.connectionString || !a.tenantId || !a.clientId) return undefined;
  return {
    tenantId: a.tenantId,
    clientId: a.clientId,
    clientSecret: a.clientSecret,
    privateKey: a.privateKey,
    certificate: a.certificate,
    cloud: a.cloud ?? 'global',
    authorityHost: a.authorityHost,
  };
}

/** Namespace hosts of a cloud (`.servicebus.windows.net` …, from MICROSOFT_APIS). */
const namespaceSuffixes = (cloud: MicrosoftCloud) =>
  MICROSOFT_APIS.find((api) => api.name === 'Azure Event Hubs')?.clouds[cloud]?.suffixes ?? [];

/** A loopback host (a local simulator or proxy, reached over plain AMQP like the Event Hubs emulator). */
export const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i.test(host);

/** A connection string's parts (case-insensitive keys, as the SDK reads them). */
export function parseEventHubsConnectionString(text: string): {
  endpoint?: string;
  keyName?: string;
  key?: string;
  entityPath?: string;
  emulator: boolean;
} {
  const parts = new Map<string, string>();
  for (const piece of text.split(';')) {
    const at = piece.indexOf('=');
    if (at > 0) parts.set(piece.slice(0, at).trim().toLowerCase(), piece.slice(at + 1).trim());
  }
  return {
    endpoint: parts.get('endpoint'),
    keyName: parts.get('sharedaccesskeyname'),
    key: parts.get('sharedaccesskey'),
    entityPath: parts.get('entitypath'),
    emulator: parts.get('usedevelopmentemulator') === 'true',
  };
}

/** The namespace host and AMQP port the client connects to (5671 AMQPS; the emulator's plain port). */
export function eventHubsTarget(a: AzureEventHubsAccount): { host: string; port: number; hub: string } {
  const c = parseEventHubsConnectionString(a.connectionString ?? '');
  const url = new URL(
    a.connectionString
      ? (c.endpoint ?? '').replace(/^sb:/, 'https:')
      : `https://${a.fullyQualifiedNamespace}`,
  );
  const hub = a.eventHubName ?? c.entityPath;
  if (!hub)
    throw configError(
      'event_hub_name_missing',
      'No event hub named: the connection string has no EntityPath and eventHubName is empty.',
      'Set eventHubName to the hub to read (Event Hubs namespace → Event Hubs).',
    );
  const plain = c.emulator || (!a.connectionString && isLoopback(url.hostname));
  return { host: url.hostname, port: url.port ? Number(url.port) : plain ? 5672 : 5671, hub };
}

export const azureEventHubsFields = z
  .object({
    connectionString: z
      .string()
      .trim()
      .refine((s) => {
        const c = parseEventHubsConnectionString(s);
        return !!c.endpoint && /^sb:\/\/[^/\s]+\/?$/.test(c.endpoint) && !!c.keyName && !!c.key;
      }, 'expected a connection string such as Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=POLICY;SharedAccessKey=KEY')
      .optional()
      .meta({ ...SECRET, title: 'Connection string' })
      .describe(
        'The connection string of a shared access policy with the Listen right (namespace or hub → Shared access policies → the policy → Connection string–primary key); or leave empty and use an Entra ID app (fullyQualifiedNamespace, tenantId, clientId, clientSecret)',
      ),
    fullyQualifiedNamespace: z
      .string()
      .trim()
      .toLowerCase()
      .regex(
        /^[a-z0-9][a-z0-9.-]*[a-z0-9](:\d{1,5})?$/,
        'expected the namespace host, e.g. contoso.servicebus.windows.net',
      )
      .optional()
      .meta({ ...ORIGIN, title: 'Namespace (Entra ID)' })
      .describe(
        'With an Entra ID app: the namespace’s host name (Event Hubs namespace → Overview → Host name, e.g. contoso.servicebus.windows.net)',
      ),
    tenantId: microsoftFields.shape.tenantId.optional(),
    clientId: microsoftFields.shape.clientId.optional(),
    clientSecret: microsoftFields.shape.clientSecret,
    privateKey: microsoftFields.shape.privateKey,
    certificate: microsoftFields.shape.certificate,
    cloud: z
      .enum(Object.keys(CLOUDS) as [MicrosoftCloud, ...MicrosoftCloud[]])
      .optional()
      .meta({ ...ORIGIN, title: 'National cloud' })
      .describe(
        'With an Entra ID app: global (default; commercial and GCC), usgov (GCC High), usgov-dod, china',
      ),
    authorityHost: microsoftFields.shape.authorityHost,
    eventHubName: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/,
        'expected an event hub name: letters, digits, periods, hyphens and underscores',
      )
      .optional()
      .meta({ title: 'Event hub' })
      .describe('The hub to read; default: the EntityPath of a hub-level connection string'),
    consumerGroup: z
      .string()
      .trim()
      .min(1, 'expected a consumer group name such as $Default')
      .max(50)
      .default('$Default')
      .meta({ title: 'Consumer group' })
      .describe(
        'The consumer group to read as (default $Default; a group of its own keeps other readers and Tributary apart)',
      ),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!a.connectionString) entraIssues(a, ctx);
    else
      for (const k of [...ENTRA, 'fullyQualifiedNamespace', 'cloud'] as const)
        if (a[k] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: 'only with an Entra ID app: give either connectionString or the app’s fields, not both',
          });
    const c = parseEventHubsConnectionString(a.connectionString ?? '');
    if (!a.eventHubName && !c.entityPath)
      ctx.addIssue({
        code: 'custom',
        path: ['eventHubName'],
        message: 'required: the hub to read (the connection string names none with EntityPath)',
      });
    if (a.eventHubName && c.entityPath && a.eventHubName !== c.entityPath)
      ctx.addIssue({
        code: 'custom',
        path: ['eventHubName'],
        message: `expected ${c.entityPath}: the connection string belongs to that hub (EntityPath)`,
      });
  });

/** The setup guides' step for the Entra ID alternative to a Listen policy (the sources on a hub share it). */
export const ENTRA_GUIDE_STEP =
  'Or, instead of a policy, an **Entra ID app** (the one of your `microsoft` account): the namespace (or the hub) → **Access control (IAM)** → **Add** → **Add role assignment** → **Azure Event Hubs Data Receiver** → Members: *User, group, or service principal* → select the app → **Review + assign** (up to 10 minutes to apply). In the account, leave the connection string empty and give the namespace **Host name** (namespace → Overview, e.g. `contoso.servicebus.windows.net`), the Directory (tenant) ID, Application (client) ID and client secret (or certificate).';

/** The Entra alternative: the namespace of the account's cloud, the app's IDs and credential. */
function entraIssues(a: AzureEventHubsAccount, ctx: z.RefinementCtx): void {
  const required = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (!a.fullyQualifiedNamespace) {
    required(
      'connectionString',
      'required: a connection string, or an Entra ID app (fullyQualifiedNamespace, tenantId, clientId and clientSecret or certificate)',
    );
    return;
  }
  const cloud = a.cloud ?? 'global';
  const host = a.fullyQualifiedNamespace.replace(/:\d+$/, '');
  const suffixes = namespaceSuffixes(cloud);
  if (!isLoopback(host) && !suffixes.some((s) => host.endsWith(s)))
    required(
      'fullyQualifiedNamespace',
      `expected a namespace host of the ${CLOUDS[cloud].title} cloud: NAMESPACE${suffixes.join(' or NAMESPACE')}`,
    );
  if (!a.tenantId) required('tenantId', 'required with fullyQualifiedNamespace: the Directory (tenant) ID');
  if (!a.clientId) required('clientId', 'required with fullyQualifiedNamespace: the Application (client) ID');
  entraCredentialIssues(a, ctx);
}

export const azureEventHubs = defineAccountKind<AzureEventHubsAccount>({
  id: 'azure-event-hubs',
  title: 'Azure Event Hubs',
  fields: azureEventHubsFields as unknown as z.ZodType<AzureEventHubsAccount>,
  // The namespace, and an Entra app's sign-in host: the client's tokens go nowhere else.
  origins: (a) => {
    const app = entraApp(a);
    const login = app ? [app.authorityHost ?? CLOUDS[app.cloud].login] : [];
    try {
      const t = eventHubsTarget(a);
      return [`https://${t.host}:${t.port}`, ...login];
    } catch {
      return login;
    }
  },
  // The client gets its own tokens (CBS put-token over AMQP); nothing is added to HTTP requests.
  async authorize() {},
});
