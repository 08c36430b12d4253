import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `proofpoint-on-demand` account kind: an API key of a Proofpoint on Demand (PoD) cluster for the Log API,
 * a WebSocket service at `wss://logstream.proofpoint.com/v1/stream` that takes it as `Authorization: Bearer
 * <key>`. The key is created in the cluster's admin portal under Settings → API Key Management (Google SecOps'
 * "Collect Proofpoint On-Demand logs" guide; the Log API's own documentation is given to customers, not
 * published). Needs the Remote Syslog licence.
 */

export const POD_LOG_API = 'https://logstream.proofpoint.com';

export interface PodAccount {
  apiKey: string;
  url?: string;
}

export const podFields = z
  .object({
    apiKey: z
      .string()
      .trim()
      .transform((v) => v.replace(/^Bearer\s+/i, ''))
      .pipe(
        z
          .string()
          .min(16, 'expected the API key from Settings → API Key Management')
          .regex(/^\S+$/, 'expected the key alone, on one line'),
      )
      .meta({ ...SECRET, title: 'API key' })
      .describe('API key of the PoD cluster (Settings → API Key Management → Create New)'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'Log API host' })
      .meta(ORIGIN)
      .describe(
        `Another Log API host, such as a proxy, as https:// (default ${POD_LOG_API}; Tributary connects with wss://)`,
      ),
  })
  .strict();

export const podUrl = (a: Pick<PodAccount, 'url'>) => (a.url ?? POD_LOG_API).replace(/\/+$/, '');

export const proofpointOnDemand = defineAccountKind<PodAccount>({
  id: 'proofpoint-on-demand',
  title: 'Proofpoint on Demand',
  fields: podFields as unknown as z.ZodType<PodAccount>,
  origins: (a) => [podUrl(a)],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.apiKey}`);
  },
});
