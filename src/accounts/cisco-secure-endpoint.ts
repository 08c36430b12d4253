import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { basicAuthorization } from './basic.ts';

/**
 * The `cisco-secure-endpoint` account kind: a Cisco Secure Endpoint (formerly AMP for Endpoints) API
 * credential, a 3rd-party API client ID and its API key, sent as HTTP Basic (`client_id:api_key`) on every
 * request (Cisco's Cortex XSIAM event collector, demisto/content Packs/AMP/Integrations/CiscoAMPEventCollector:
 * `auth=(client_id, api_key)`; Cisco's API docs, "Authentication").
 *
 * - Regional API hosts: North America https://api.amp.cisco.com, Europe https://api.eu.amp.cisco.com, Asia
 *   Pacific, Japan and China https://api.apjc.amp.cisco.com (the console's region: console.amp.cisco.com,
 *   console.eu.amp.cisco.com, console.apjc.amp.cisco.com); another host in `url`.
 * - Each API key has an hourly request limit, told on every answer by `X-Rate-Limit-Limit`,
 *   `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` (seconds until the hour's budget resets; API reference,
 *   "Rate Limits"); over it Cisco
 *   answers 429. The HTTP client waits for the reset when the budget is spent.
 */

export const CISCO_SECURE_ENDPOINT_REGIONS = {
  nam: 'https://api.amp.cisco.com',
  eu: 'https://api.eu.amp.cisco.com',
  apjc: 'https://api.apjc.amp.cisco.com',
} as const;

export interface CiscoSecureEndpointAccount {
  clientId: string;
  apiKey: string;
  region?: keyof typeof CISCO_SECURE_ENDPOINT_REGIONS;
  url?: string;
}

export const ciscoSecureEndpointFields = z
  .object({
    clientId: z
      .string()
      .trim()
      .min(1, 'required: the 3rd-party API client ID')
      .refine((v) => !v.includes(':'), { message: 'a client ID has no ":"' })
      .meta({ title: 'Client ID' })
      .describe('3rd Party API Client ID (Administration → API Credentials)'),
    apiKey: z
      .string()
      .trim()
      .min(1, 'required: the API key shown once when the credential was created')
      .meta({ ...SECRET, title: 'API key' })
      .describe('The API key of the same credential (read-only scope is enough)'),
    region: z
      .enum(Object.keys(CISCO_SECURE_ENDPOINT_REGIONS) as [keyof typeof CISCO_SECURE_ENDPOINT_REGIONS])
      .optional()
      .meta({ title: 'Region' })
      .describe('The cloud of the console: nam (default), eu or apjc'),
    url: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe('Another API host, instead of region'),
  })
  .strict()
  .refine((a) => !(a.region && a.url), { message: 'give region or url, not both', path: ['url'] });

export const ciscoSecureEndpointUrl = (a: Pick<CiscoSecureEndpointAccount, 'region' | 'url'>) =>
  (a.url ?? CISCO_SECURE_ENDPOINT_REGIONS[a.region ?? 'nam']).replace(/\/+$/, '');

export const ciscoSecureEndpoint = defineAccountKind<CiscoSecureEndpointAccount>({
  id: 'cisco-secure-endpoint',
  title: 'Cisco Secure Endpoint',
  fields: ciscoSecureEndpointFields as unknown as z.ZodType<CiscoSecureEndpointAccount>,
  origins: (a) => [ciscoSecureEndpointUrl(a)],
  async authorize(a, headers) {
    headers.set('authorization', basicAuthorization(a.clientId, a.apiKey));
  },
});
