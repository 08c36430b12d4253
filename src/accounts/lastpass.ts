import { z } from 'zod';
import { configError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';

/**
 * The `lastpass` account kind: a LastPass Business account's Enterprise API credentials. Vendor facts
 * (support.lastpass.com "Event Reporting via LastPass API", request sample; "Enable users via LastPass API",
 * Request: "cid — Company ID: a mandatory integer parameter; provhash — Company specific provisioning hash:
 * a mandatory string parameter"):
 *
 * - Every call is `POST {api}/enterpriseapi.php` with a JSON body `{cid, provhash, cmd, data}`: the
 *   credentials travel in the body, not in a header.
 * - The CID is shown in the Admin Console (account menu / dashboard); the provisioning hash is created in
 *   Admin Console → Advanced → Enterprise API. Anyone with the hash has full use of the Enterprise API,
 *   including commands that change users: it is an admin secret.
 *
 * How the body gets them: sources build the request body without `cid` and `provhash`; `authorize`
 * returns the body to send with both added, on each attempt (engine/http.ts `AuthorizedRequest`). The
 * request kept in a checkpoint, logs and errors never hold them, and the engine's credential-origin check
 * runs before `authorize`, so they only go to the account's API origin.
 *
 * Rate limits: LastPass publishes none for the Enterprise API; the budget below (1 request/s, burst 5) is an
 * assumption. The EU data center is `https://lastpass.eu` (assumed from integrators' documentation).
 */

export const LASTPASS_API_URL = 'https://lastpass.com';

export interface LastPassAccount {
  cid: string | number;
  provhash: string;
  apiUrl?: string;
}

export const lastpassFields = z
  .object({
    cid: z
      .union(
        [
          z
            .string()
            .trim()
            .regex(/^\d{1,12}$/, 'expected the numeric company ID (CID) shown in the LastPass Admin Console'),
          z.number().int().positive(),
        ],
        { error: () => 'expected the numeric company ID (CID) shown in the LastPass Admin Console' },
      )
      .meta({ title: 'Company ID (CID)' })
      .describe('The LastPass Business account number (CID), shown in the Admin Console'),
    provhash: z
      .string()
      .trim()
      .min(16, 'expected the provisioning hash from Admin Console → Advanced → Enterprise API')
      .regex(/^[^\s"]+$/, 'expected the provisioning hash alone, without spaces or quotation marks')
      .meta({ ...SECRET, title: 'Provisioning hash' })
      .describe('The Enterprise API provisioning hash (API secret); it grants full Enterprise API use'),
    apiUrl: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(`LastPass data center (default ${LASTPASS_API_URL}; EU accounts: https://lastpass.eu)`),
  })
  .strict();

export const lastpassApiUrl = (a: Pick<LastPassAccount, 'apiUrl'>) =>
  (a.apiUrl ?? LASTPASS_API_URL).replace(/\/+$/, '');

/** The body to send: the request's JSON object with the credentials first (as LastPass's samples). */
export function withCredentials(a: LastPassAccount, body: string | undefined): string {
  let parsed: unknown;
  try {
    parsed = body === undefined ? undefined : JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw configError(
      'lastpass_request_body',
      'A LastPass Enterprise API request must be a JSON object with cmd and data.',
      'This is a bug in the source: report it.',
    );
  const { cid: _, provhash: __, ...rest } = parsed as Record<string, unknown>;
  return JSON.stringify({ cid: Number(a.cid), provhash: a.provhash, ...rest });
}

export const lastpass = defineAccountKind<LastPassAccount>({
  id: 'lastpass',
  title: 'LastPass',
  fields: lastpassFields as unknown as z.ZodType<LastPassAccount>,
  origins: (a) => [new URL(lastpassApiUrl(a)).origin],
  async authorize(a, _headers, { method, body }) {
    // Only the Enterprise API's POSTs carry credentials, in their JSON body.
    if ((method ?? 'GET') !== 'POST') return;
    return { body: withCredentials(a, body) };
  },
  rateLimit: { perSecond: 1, burst: 5 },
});
