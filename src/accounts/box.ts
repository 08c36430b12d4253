import { createPrivateKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { newJti, signJwt, unescapeNewlines } from '../engine/jwt.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `box` account kind: a Box Platform app using Server Authentication with the **Client Credentials
 * Grant**, authorised in the Box Admin Console, whose token is the app's Service Account in the
 * enterprise. Vendor facts:
 *
 * - developer.box.com/guides/authentication/client-credentials/ ("How to use"): `POST
 *   https://api.box.com/oauth2/token` with `grant_type=client_credentials`, `client_id`, `client_secret`
 *   and, to authenticate as the application's Service Account, `box_subject_type=enterprise` and
 *   `box_subject_id=<enterprise ID>`. Prerequisites: a Platform App with "Server Authentication (with
 *   Client Credentials Grant)", 2FA on the developer's account to copy the secret, the app authorised in
 *   the Admin Console. The answer carries `access_token`, `expires_in` (about an hour) and
 *   `token_type: bearer`; there is no refresh token: a new one is asked for (engine/oauth.ts caches it
 *   per account and renews it 5 minutes before it runs out, and after a 401).
 * - Refusals use OAuth errors: `invalid_client` ("The client credentials are invalid"), `invalid_grant`
 *   ("Grant credentials are invalid": a wrong enterprise ID, or the app not authorised), and
 *   `unauthorized_client` ("The "box_subject_type" value is unauthorized for this client_id": the app is
 *   not a Client Credentials Grant app, or its access level is App Access Only).
 * - developer.box.com/guides/api-calls/permissions-and-errors/rate-limits/ ("Per API rate limits"):
 *   general API calls, 1000 requests a minute per user; over it, 429 with `retry-after`. The Service
 *   Account is one user, so the budget below (16 a second) is that limit for every collector of the
 *   account together.
 *
 * - developer.box.com/guides/authentication/jwt/without-sdk ("JWT without SDKs"): apps with Server
 *   Authentication (with JWT) sign an assertion with the private key of a key pair whose public key is
 *   registered on the app; the downloaded `config.json` holds `boxAppSettings.clientID`, `clientSecret`,
 *   `appAuth.publicKeyID`, `appAuth.privateKey` (an encrypted PKCS#8 PEM) and `appAuth.passphrase`, and
 *   `enterpriseID`. The claims: `iss` the client ID, `sub` the enterprise ID with `box_sub_type: "enterprise"`
 *   (the Service Account), `aud` the token URL, a unique `jti`, `exp` at most 60 seconds ahead; the header's
 *   `kid` the public key ID; the guide signs RS512. The form: `grant_type=urn:ietf:params:oauth:grant-type:
 *   jwt-bearer`, `assertion`, `client_id`, `client_secret`.
 *
 * Which: a private key makes it a JWT app; without one, Client Credentials Grant.
 */

export const BOX_TOKEN_URL = 'https://api.box.com/oauth2/token';
export const BOX_API_URL = 'https://api.box.com/2.0';

export interface BoxAccount {
  clientId: string;
  clientSecret: string;
  enterpriseId: string;
  /** JWT apps: the key pair's public key ID, private key (PEM, usually encrypted) and its passphrase. */
  publicKeyId?: string;
  privateKey?: string;
  passphrase?: string;
  tokenUrl?: string;
  apiUrl?: string;
}

export const boxFields = z
  .object({
    clientId: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9]{16,64}$/,
        "expected the app's Client ID (Developer Console → the app → Configuration)",
      )
      .meta({ title: 'Client ID' })
      .describe(
        'Client ID of the Box app (Developer Console → the app → Configuration → OAuth 2.0 Credentials)',
      ),
    clientSecret: z
      .string()
      .trim()
      .min(16, "expected the app's Client Secret (Developer Console → the app → Configuration)")
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client Secret of the same app (shown after 2FA)'),
    enterpriseId: z
      .string()
      .trim()
      .regex(
        /^\d{1,20}$/,
        'expected the numeric Enterprise ID (Admin Console → Account & Billing, or the app’s General Settings)',
      )
      .meta({ title: 'Enterprise ID' })
      .describe('The Box Enterprise ID the app is authorised in (the token is its Service Account)'),
    publicKeyId: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9]{1,64}$/,
        'expected the public key ID (config.json: boxAppSettings.appAuth.publicKeyID)',
      )
      .optional()
      .meta({ title: 'Public key ID (JWT apps)' })
      .describe(
        'JWT apps: the ID of the public key registered on the app (config.json: appAuth.publicKeyID)',
      ),
    privateKey: z
      .string()
      .optional()
      .meta({ ...SECRET, title: 'Private key (JWT apps)' })
      .describe('JWT apps: the private key PEM (config.json: appAuth.privateKey, usually encrypted)'),
    passphrase: z
      .string()
      .optional()
      .meta({ ...SECRET, title: 'Private key passphrase (JWT apps)' })
      .describe('JWT apps: the passphrase of an encrypted private key (config.json: appAuth.passphrase)'),
    tokenUrl: serviceUrl()
      .optional()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe(`OAuth token endpoint (default ${BOX_TOKEN_URL})`),
    apiUrl: serviceUrl()
      .optional()
      .meta({ title: 'API URL' })
      .meta(ORIGIN)
      .describe(`API root (default ${BOX_API_URL})`),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!a.privateKey) {
      if (a.publicKeyId || a.passphrase)
        ctx.addIssue({
          code: 'custom',
          path: ['privateKey'],
          message: 'expected the private key of the JWT app (config.json: appAuth.privateKey)',
        });
      return;
    }
    if (!a.publicKeyId)
      ctx.addIssue({
        code: 'custom',
        path: ['publicKeyId'],
        message:
          'expected the public key ID that goes with the private key (config.json: appAuth.publicKeyID)',
      });
    const problem = keyProblem(a.privateKey, a.passphrase);
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
  });

/** The JWT app's private key, decrypted with the passphrase; throws a message that never echoes the key. */
function boxPrivateKey(pem: string, passphrase: string | undefined): KeyObject {
  const text = unescapeNewlines(pem).trim();
  const encrypted = text.includes('ENCRYPTED');
  if (encrypted && !passphrase)
    throw new Error(
      'passphrase|expected the passphrase of the encrypted private key (config.json: appAuth.passphrase)',
    );
  let key: KeyObject;
  try {
    key = createPrivateKey(encrypted ? { key: text, format: 'pem', passphrase } : text);
  } catch {
    throw new Error(
      encrypted
        ? 'passphrase|the private key cannot be decrypted with this passphrase (config.json: appAuth.passphrase)'
        : 'privateKey|expected a PEM private key ("-----BEGIN ENCRYPTED PRIVATE KEY-----" as in config.json)',
    );
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error('privateKey|expected an RSA private key');
  return key;
}

function keyProblem(
  pem: string,
  passphrase: string | undefined,
): { field: string; message: string } | undefined {
  try {
    boxPrivateKey(pem, passphrase);
    return undefined;
  } catch (err) {
    const [field, message] = (err as Error).message.split('|');
    return { field, message };
  }
}

export const boxTokenUrl = (a: Pick<BoxAccount, 'tokenUrl'>) => a.tokenUrl ?? BOX_TOKEN_URL;
export const boxApiUrl = (a: Pick<BoxAccount, 'apiUrl'>) => (a.apiUrl ?? BOX_API_URL).replace(/\/+$/, '');

/** A JWT app's assertion: the Service Account of the enterprise, 45 seconds to live (Box allows 60). */
function assertion(a: BoxAccount, tokenUrl: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      iss: a.clientId,
      sub: a.enterpriseId,
      box_sub_type: 'enterprise',
      aud: tokenUrl,
      jti: `${newJti()}${newJti()}`.replace(/-/g, ''),
      exp: now + 45,
    },
    boxPrivateKey(a.privateKey!, a.passphrase),
    { alg: 'RS512', header: { kid: a.publicKeyId } },
  );
}

function refusalAction(r: TokenRefusal): string {
  if (r.error === 'invalid_client')
    return "Box refused the client: check the account's clientId and clientSecret against the app's Configuration page in the Box Developer Console (a reset secret replaces the old one).";
  if (r.error === 'invalid_grant' && /signature|kid|key/i.test(r.description ?? ''))
    return "Box refused the JWT assertion's signature: check that publicKeyId and privateKey come from the same key pair, registered on the app (Developer Console → Configuration → Add and Manage Public Keys), and that this host's clock is right.";
  if (r.error === 'invalid_grant')
    return "Box refused the grant: check the account's enterpriseId, and that an admin authorised the app in the Box Admin Console (Apps → Platform Apps Manager → Add Platform App, with its Client ID); for a JWT app, also this host's clock (the assertion lives 45 seconds).";
  if (r.error === 'unauthorized_client')
    return "The app cannot act as the enterprise's Service Account: in the Developer Console it must use Server Authentication (Client Credentials Grant) with App Access Level 'App + Enterprise Access', and be authorised again in the Admin Console after the change.";
  return "Check the Box app (Client Credentials Grant, authorised in the Admin Console) and the account's tokenUrl; if they are right, report this with the logs.";
}

export const box = defineAccountKind<BoxAccount>({
  id: 'box',
  title: 'Box',
  fields: boxFields as unknown as z.ZodType<BoxAccount>,
  origins: (a) => [boxTokenUrl(a), boxApiUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    const tokenUrl = boxTokenUrl(a);
    const jwt = a.privateKey !== undefined;
    const key = tokenKey(
      jwt ? 'box-jwt' : 'box-ccg',
      tokenUrl,
      a.enterpriseId,
      a.clientId,
      a.clientSecret,
      a.privateKey ?? '',
    );
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: 'Box',
        tokenUrl,
        // A JWT app: a fresh assertion for every attempt (Box refuses a jti it has seen).
        form: jwt
          ? async () => ({
              grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
              assertion: await assertion(a, tokenUrl),
              client_id: a.clientId,
              client_secret: a.clientSecret,
            })
          : {
              grant_type: 'client_credentials',
              client_id: a.clientId,
              client_secret: a.clientSecret,
              box_subject_type: 'enterprise',
              box_subject_id: a.enterpriseId,
            },
        code: (r) => (r.error ? `box_${r.error}` : undefined),
        action: refusalAction,
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  rateLimit: { perSecond: 16, burst: 16 },
});
