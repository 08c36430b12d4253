import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `palo-alto-cortex-xdr` account kind: a Cortex XDR API key. Vendor facts (docs-cortex.paloaltonetworks.com,
 * Cortex XDR REST API, "Get Started with Cortex XDR APIs"; Cortex XSIAM Platform APIs, "Make your first API
 * call"):
 *
 * - Settings → Configurations → Integrations → API Keys → **+ New Key**, security level **Standard** or
 *   **Advanced**, a role; the **API Key** is shown once, the **API Key ID** in the table, and **Copy API URL**
 *   gives `https://api-{fqdn}`. API URIs are `https://api-{fqdn}/public_api/v1/{api}/{call}/`.
 * - Standard keys: `Authorization: {key}` and `x-xdr-auth-id: {key_id}`.
 * - Advanced keys ("hashes the key using a nonce, a random string, and a timestamp to prevent replay
 *   attacks"): a 64-character random nonce of letters and digits, the timestamp in milliseconds, `Authorization:
 *   sha256_hex(key + nonce + timestamp)`, `x-xdr-nonce`, `x-xdr-timestamp` and `x-xdr-auth-id`; every request
 *   is signed afresh (the client's retries call `authorize` again).
 * - Keys may carry an expiration date (the console warns a week and a day before): set the account's `expiresAt`.
 * - Rate limits are not published per tenant in numbers; the budget below (2 requests/s, burst 5) is an
 *   assumption; 429 and Retry-After are honoured.
 */

export interface CortexXdrAccount {
  url: string;
  apiKeyId: number;
  apiKey: string;
  securityLevel: 'standard' | 'advanced';
}

export const cortexXdrFields = z
  .object({
    url: serviceUrl()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(
        'The tenant API URL from API Keys → Copy API URL, e.g. https://api-acme.xdr.us.paloaltonetworks.com',
      ),
    apiKeyId: z.coerce
      .number({ error: () => 'expected the numeric ID shown in the API Keys table' })
      .int('expected the numeric ID shown in the API Keys table')
      .positive('expected the numeric ID shown in the API Keys table')
      .meta({ title: 'API key ID' })
      .describe('The ID column of the key in Settings → Configurations → Integrations → API Keys'),
    apiKey: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9]{32,256}$/,
        'expected the API key shown once when it was generated (letters and digits)',
      )
      .meta({ ...SECRET, title: 'API key' })
      .describe('The API key itself (shown once, when generated)'),
    securityLevel: z
      .enum(['standard', 'advanced'], {
        error: () => 'expected standard or advanced (the key’s security level)',
      })
      .default('advanced')
      .meta({ title: 'Security level' })
      .describe(
        'The security level chosen when the key was generated: advanced (signed requests) or standard',
      ),
  })
  .strict();

export const cortexXdrHost = (a: Pick<CortexXdrAccount, 'url'>) =>
  a.url.replace(/\/+$/, '').replace(/\/public_api(\/.*)?$/, '');

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The headers of an advanced key's request: a fresh nonce and timestamp, and the key's hash over them. */
export function advancedKeyHeaders(
  a: Pick<CortexXdrAccount, 'apiKey' | 'apiKeyId'>,
  now = Date.now(),
  nonce = Array.from({ length: 64 }, () => ALPHANUM[randomInt(ALPHANUM.length)]).join(''),
): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000) * 1000);
  return {
    'x-xdr-timestamp': timestamp,
    'x-xdr-nonce': nonce,
    'x-xdr-auth-id': String(a.apiKeyId),
    authorization: createHash('sha256').update(`${a.apiKey}${nonce}${timestamp}`).digest('hex'),
  };
}

export const cortexXdr = defineAccountKind<CortexXdrAccount>({
  id: 'palo-alto-cortex-xdr',
  title: 'Palo Alto Networks Cortex XDR',
  fields: cortexXdrFields as unknown as z.ZodType<CortexXdrAccount>,
  origins: (a) => [cortexXdrHost(a)],
  async authorize(a, headers) {
    if (a.securityLevel === 'standard') {
      headers.set('authorization', a.apiKey);
      headers.set('x-xdr-auth-id', String(a.apiKeyId));
      return;
    }
    for (const [k, v] of Object.entries(advancedKeyHeaders(a))) headers.set(k, v);
  },
  rateLimit: { perSecond: 2, burst: 5 },
});
