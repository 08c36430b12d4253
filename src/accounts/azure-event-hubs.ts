import { z } from 'zod';
import { configError } from '../core/errors.ts';
import { SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';

/**
 * The `azure-event-hubs` account kind: one Event Hubs namespace reached with a shared access policy's
 * connection string, the hub to read and the consumer group to read it as. The official client
 * (`@azure/event-hubs`) signs its own SAS tokens from the connection string (accounts/azure-event-hubs-reader.ts).
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
 * - Throughput (learn.microsoft.com/azure/event-hubs/event-hubs-quotas): egress is limited per throughput or
 *   processing unit (2 MB/s or 4,096 events/s per TU on Standard); the service throttles with ServerBusy,
 *   which the client retries — so the kind sets no request rate of its own.
 */

export interface AzureEventHubsAccount {
  connectionString: string;
  eventHubName?: string;
  consumerGroup: string;
}

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
  const c = parseEventHubsConnectionString(a.connectionString);
  const url = new URL((c.endpoint ?? '').replace(/^sb:/, 'https:'));
  const hub = a.eventHubName ?? c.entityPath;
  if (!hub)
    throw configError(
      'event_hub_name_missing',
      'No event hub named: the connection string has no EntityPath and eventHubName is empty.',
      'Set eventHubName to the hub to read (Event Hubs namespace → Event Hubs).',
    );
  return { host: url.hostname, port: url.port ? Number(url.port) : c.emulator ? 5672 : 5671, hub };
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
      .meta({ ...SECRET, title: 'Connection string' })
      .describe(
        'The connection string of a shared access policy with the Listen right (namespace or hub → Shared access policies → the policy → Connection string–primary key)',
      ),
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
    const c = parseEventHubsConnectionString(a.connectionString);
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

export const azureEventHubs = defineAccountKind<AzureEventHubsAccount>({
  id: 'azure-event-hubs',
  title: 'Azure Event Hubs',
  fields: azureEventHubsFields as unknown as z.ZodType<AzureEventHubsAccount>,
  // The namespace only: the client's SAS tokens go nowhere else.
  origins: (a) => {
    try {
      const t = eventHubsTarget(a);
      return [`https://${t.host}:${t.port}`];
    } catch {
      return [];
    }
  },
  // The client signs its own tokens (CBS put-token over AMQP); nothing is added to HTTP requests.
  async authorize() {},
});
