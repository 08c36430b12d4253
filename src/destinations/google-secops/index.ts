import { z } from 'zod';
import { ORIGIN } from '../../core/secret-spec.ts';
import { accountName } from '../azure-monitor-logs/index.ts';
import { deliverySettings, destinationUrl } from '../http-delivery.ts';
import { defineDestinationKind } from '../kind.ts';
import { GoogleSecOpsDestination, MAX_REQUEST_BYTES } from './google-secops-destination.ts';

export const googleSecOpsConfigSchema = z
  .object({
    kind: z.literal('google-secops'),
    account: accountName('google'),
    region: z
      .string()
      .trim()
      .regex(
        /^[a-z][a-z0-9-]{1,30}$/,
        'expected a Google SecOps region such as us, eu, europe-west2 or asia-southeast1',
      )
      .meta({ ...ORIGIN, title: 'Region' })
      .describe(
        'Region (location) of the Google SecOps instance, e.g. us, eu, europe-west2; it picks the endpoint',
      ),
    project: z
      .string()
      .trim()
      .regex(
        /^([a-z][a-z0-9-]{4,28}[a-z0-9]|\d{6,20})$/,
        'expected the Google Cloud project ID or number bound to the instance',
      )
      .meta({ title: 'Project' })
      .describe('Google Cloud project (ID or number) bound to the Google SecOps instance'),
    instance: z
      .string()
      .trim()
      .regex(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
        'expected the customer ID, a GUID (SIEM Settings → Profile)',
      )
      .meta({ title: 'Customer ID' })
      .describe('The instance: the customer ID shown in SIEM Settings → Profile'),
    logType: z
      .string()
      .trim()
      .regex(/^[A-Z0-9_]+$/, 'expected a Google SecOps log type such as OKTA or WORKSPACE_ACTIVITY')
      .meta({ title: 'Log type' })
      .describe('Log type the events are parsed as, e.g. OKTA; one destination per log type'),
    namespace: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ title: 'Namespace' })
      .describe('Environment namespace of every log (environmentNamespace); empty: none'),
    labels: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, 'expected a label key of letters, digits, _ . -'),
        z.string(),
      )
      .default({})
      .meta({ title: 'Labels' })
      .describe('Ingestion labels set on every log'),
    forwarder: z
      .string()
      .trim()
      .regex(
        /^projects\/[^/]+\/locations\/[^/]+\/instances\/[^/]+\/forwarders\/[^/]+$/,
        'expected projects/…/locations/…/instances/…/forwarders/ID',
      )
      .optional()
      .meta({ title: 'Forwarder' })
      .describe('Forwarder resource the logs are attributed to; empty: none'),
    apiVersion: z
      .enum(['v1', 'v1alpha', 'v1beta'])
      .default('v1')
      .meta({ title: 'API version' })
      .describe('Chronicle API version of logs.import (default v1)'),
    endpoint: destinationUrl()
      .optional()
      .meta({ ...ORIGIN, title: 'Endpoint override' })
      .describe(
        'Another address for the Chronicle API (a proxy); default https://chronicle.REGION.rep.googleapis.com',
      ),
    ...deliverySettings({
      maxBatchBytes: MAX_REQUEST_BYTES,
      maxBatchBytesLimit: MAX_REQUEST_BYTES,
      maxBatchEvents: 5_000,
    }),
  })
  .strict()
  .describe('Google Security Operations (Chronicle) logs.import');

export type GoogleSecOpsDestinationConfig = z.infer<typeof googleSecOpsConfigSchema>;

export const googleSecOpsKind = defineDestinationKind({
  kind: 'google-secops',
  title: 'Google Security Operations (Chronicle)',
  description:
    "Imports events as unstructured logs of one log type (Chronicle API logs.import) with a Google service account's token; a 200 acknowledges.",
  schema: googleSecOpsConfigSchema,
  accountKinds: ['google'],
  create: (name, config, ctx) => new GoogleSecOpsDestination(name, config, ctx),
});
