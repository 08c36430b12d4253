import { createHash, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { rsaPrivateKey, signJwt } from '../engine/jwt.ts';
import { tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `snowflake` account kind: key-pair authentication to the Snowflake SQL API. Vendor facts:
 *
 * - docs.snowflake.com/en/developer-guide/sql-api/authenticating ("Authenticating to the server", "Using
 *   key-pair authentication"): generate an RSA key pair, assign the public key to the user (`ALTER USER …
 *   SET RSA_PUBLIC_KEY='…'`; `DESCRIBE USER` then shows `RSA_PUBLIC_KEY_FP`), and send every request with
 *   `Authorization: Bearer <JWT>` and `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT` (the header's
 *   documented values: KEYPAIR_JWT, OAUTH, PROGRAMMATIC_ACCESS_TOKEN). The private key may be encrypted
 *   with a passphrase ("If you generated an encrypted private key …",
 *   docs.snowflake.com/en/developer-guide/snowflake-rest-api/authentication).
 * - The JWT (same pages, "Generate a JWT token", and Snowflake's sample sql-api-generate-jwt.py, as reused
 *   by apache-airflow-providers-snowflake utils/sql_api_generate_jwt.py): RS256; `iss` =
 *   `<ACCOUNT>.<USER>.SHA256:<fingerprint>` where the fingerprint is the base64 SHA-256 of the public
 *   key's DER (SubjectPublicKeyInfo); `sub` = `<ACCOUNT>.<USER>`; `iat`, and `exp` at most one hour later.
 *   ACCOUNT is the account identifier in upper case without the region or `.global` suffix; USER upper case.
 * - The account URL: `https://<account_identifier>.snowflakecomputing.com` (the identifier as in the
 *   Snowsight account URL, `orgname-account_name` or a legacy locator with region).
 *
 * The JWT is signed here, kept until five minutes before it expires, and signed again after a 401.
 */

export interface SnowflakeAccount {
  account: string;
  user: string;
  privateKey: string;
  passphrase?: string;
  role?: string;
  url?: string;
}

/** 59 minutes: inside Snowflake's one hour even when our clock runs a little fast. */
const LIFETIME_S = 59 * 60;
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;

export const snowflakeFields = z
  .object({
    account: z
      .string({ error: 'required: the account identifier, such as myorg-myaccount' })
      .trim()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9-]+){0,3}$/,
        'expected an account identifier such as myorg-myaccount or xy12345.us-east-1 (the part of the account URL before .snowflakecomputing.com)',
      )
      .meta({ title: 'Account identifier' })
      .describe(
        'The part of the account URL before .snowflakecomputing.com: myorg-myaccount (Snowsight → account menu → View account details → Account identifier), or a legacy locator such as xy12345.us-east-1',
      ),
    user: z
      .string({ error: 'required: the Snowflake user the key is assigned to' })
      .trim()
      .min(1, 'required: the Snowflake user the key is assigned to')
      .regex(/^[^.\s"]+$/, 'expected a user name without dots, spaces or quotes')
      .meta({ title: 'User' })
      .describe('The (service) user whose RSA_PUBLIC_KEY holds the public key of the private key below'),
    privateKey: z
      .string({ error: 'required: the PEM private key' })
      .min(1, 'required: the PEM private key')
      .refine((v) => /-----BEGIN (ENCRYPTED |RSA )?PRIVATE KEY-----/.test(v.replace(/\\n/g, '\n')), {
        message:
          'expected a PEM private key ("-----BEGIN PRIVATE KEY-----", or "-----BEGIN ENCRYPTED PRIVATE KEY-----" with a passphrase)',
      })
      .meta({ ...SECRET, title: 'Private key (PEM)' })
      .describe('The RSA private key (rsa_key.p8) whose public key is assigned to the user'),
    passphrase: z
      .string()
      .min(1)
      .optional()
      .meta({ ...SECRET, title: 'Private key passphrase' })
      .describe('Only for an encrypted private key (BEGIN ENCRYPTED PRIVATE KEY)'),
    role: z
      .string()
      .trim()
      .regex(IDENT, 'expected a role name such as TRIBUTARY_READER (letters, digits, _ and $)')
      .optional()
      .meta({ title: 'Role' })
      .describe("The role the statements run with (default: the user's default role)"),
    url: serviceUrl()
      .optional()
      .meta({ title: 'Account URL' })
      .meta(ORIGIN)
      .describe(
        'Only when the account is reached another way (private connectivity): default https://<account identifier>.snowflakecomputing.com',
      ),
  })
  .strict();

/** The account URL: the account's, else https://<account>.snowflakecomputing.com. */
export const snowflakeUrl = (a: Pick<SnowflakeAccount, 'account' | 'url'>): string =>
  (a.url ?? `https://${a.account.toLowerCase()}.snowflakecomputing.com`).replace(/\/+$/, '');

/** ACCOUNT as the JWT names it: upper case, without the region / cloud suffix of a legacy locator. */
export const jwtAccount = (account: string): string => account.split('.')[0].toUpperCase();

/** `SHA256:<base64 SHA-256 of the public key's DER>`, as DESCRIBE USER shows it in RSA_PUBLIC_KEY_FP. */
export function publicKeyFingerprint(a: Pick<SnowflakeAccount, 'privateKey' | 'passphrase'>): string {
  const der = createPublicKey(rsaPrivateKey(a.privateKey, a.passphrase)).export({
    type: 'spki',
    format: 'der',
  });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

/** The key-pair JWT (see the header comment); `shorter` seconds less lifetime makes a distinct token. */
export function keyPairJwt(a: SnowflakeAccount, nowS = Math.floor(Date.now() / 1000), shorter = 0) {
  const sub = `${jwtAccount(a.account)}.${a.user.toUpperCase()}`;
  return signJwt(
    { iss: `${sub}.${publicKeyFingerprint(a)}`, sub, iat: nowS, exp: nowS + LIFETIME_S - shorter },
    rsaPrivateKey(a.privateKey, a.passphrase),
  );
}

const cacheKey = (a: SnowflakeAccount) =>
  tokenKey('snowflake', a.account, a.user, a.privateKey, a.passphrase ?? '');
/** The last token per account, so a renewal after a 401 never signs the very same bytes again. */
const lastTokens = new Map<string, string>();

export const snowflake = defineAccountKind<SnowflakeAccount>({
  id: 'snowflake',
  title: 'Snowflake (key pair)',
  fields: snowflakeFields as unknown as z.ZodType<SnowflakeAccount>,
  origins: (a) => [snowflakeUrl(a)],
  async authorize(a, headers, { refresh }) {
    const key = cacheKey(a);
    const token = await tokenCache.get(key, refresh, async () => {
      const nowS = Math.floor(Date.now() / 1000);
      let jwt = await keyPairJwt(a, nowS);
      // RS256 is deterministic: within the same second a renewal would repeat the refused token.
      if (jwt === lastTokens.get(key)) jwt = await keyPairJwt(a, nowS, 1);
      lastTokens.set(key, jwt);
      return { token: jwt, expiresAt: (nowS + LIFETIME_S) * 1000 };
    });
    headers.set('authorization', `Bearer ${token}`);
    headers.set('x-snowflake-authorization-token-type', 'KEYPAIR_JWT');
  },
});
