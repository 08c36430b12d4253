import { z } from 'zod';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The generic `oauth2-client-credentials` account kind: RFC 6749 §4.4. The token request is a form POST
 * with `grant_type=client_credentials` (and `scope`, and `audience` for Auth0-style servers), the client
 * authenticated per §2.3.1 either with HTTP Basic — "the client identifier is encoded using the
 * application/x-www-form-urlencoded encoding algorithm … and the encoded value is used as the username;
 * the client password is encoded using the same algorithm and used as the password"; servers "MUST
 * support" it — or with `client_id` and `client_secret` in the body, which the RFC allows but does "NOT
 * RECOMMEND" (many vendors only take this one). The token is cached until 5 minutes before `expires_in`
 * runs out (one hour when absent) and renewed after a 401 (engine/oauth.ts). No rate limit: a generic
 * kind cannot know the vendor's (an account's requestsPerMinute sets one).
 */

export interface OAuth2ClientCredentialsAccount {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string;
  clientAuthentication: 'basic' | 'body';
}

export const oauth2ClientCredentialsFields = z
  .object({
    tokenUrl: serviceUrl()
      .meta({ title: 'Token URL' })
      .meta(ORIGIN)
      .describe('The authorization server’s token endpoint, e.g. https://auth.example.com/oauth2/token'),
    clientId: z
      .string()
      .trim()
      .min(1, 'required: the client ID')
      .meta({ title: 'Client ID' })
      .describe('Client ID registered with the authorization server'),
    clientSecret: z
      .string()
      .min(1, 'required: the client secret')
      .meta({ ...SECRET, title: 'Client secret' })
      .describe('Client secret of the same client'),
    scope: z
      .string()
      .trim()
      .regex(
        /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/,
        'expected scopes separated by single spaces (RFC 6749 §3.3)',
      )
      .optional()
      .meta({ title: 'Scope' })
      .describe('Space-separated scopes to request, if the server wants any'),
    audience: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ title: 'Audience' })
      .describe('Audience parameter some servers require (Auth0, Okta custom servers): the API identifier'),
    clientAuthentication: z
      .enum(['basic', 'body'], {
        error: () => 'expected basic (HTTP Basic header) or body (client_id and client_secret in the form)',
      })
      .default('basic')
      .meta({ title: 'Client authentication' })
      .describe(
        'How the client authenticates at the token endpoint: basic (HTTP Basic, the RFC default) or body (form parameters)',
      ),
  })
  .strict();

/** RFC 6749 Appendix B form encoding (space as +), as §2.3.1 requires inside the Basic credentials. */
const formEncode = (s: string) => new URLSearchParams([['', s]]).toString().slice(1);

export function tokenRequest(a: OAuth2ClientCredentialsAccount): {
  form: Record<string, string>;
  headers: Record<string, string>;
} {
  const form: Record<string, string> = { grant_type: 'client_credentials' };
  if (a.scope) form.scope = a.scope;
  if (a.audience) form.audience = a.audience;
  const headers: Record<string, string> = {};
  if (a.clientAuthentication === 'body') {
    form.client_id = a.clientId;
    form.client_secret = a.clientSecret;
  } else {
    const credentials = `${formEncode(a.clientId)}:${formEncode(a.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return { form, headers };
}

function refusalAction(r: TokenRefusal, a: OAuth2ClientCredentialsAccount): string {
  switch (r.error) {
    case 'invalid_client':
      return `Check the account's clientId and clientSecret${a.clientAuthentication === 'basic' ? ', and try clientAuthentication "body" if the server does not take HTTP Basic' : ', and try clientAuthentication "basic" if the server wants HTTP Basic'}.`;
    case 'invalid_scope':
      return "Check the account's scope against the scopes granted to the client.";
    case 'unauthorized_client':
      return 'Allow the client_credentials grant for this client on the authorization server.';
    case 'unsupported_grant_type':
      return 'The server does not offer the client credentials grant at this URL: check tokenUrl.';
    default:
      return "Check the account's tokenUrl, client and audience; if they are right, report this with the logs.";
  }
}

export const oauth2ClientCredentials = defineAccountKind<OAuth2ClientCredentialsAccount>({
  id: 'oauth2-client-credentials',
  title: 'OAuth 2.0 client credentials (generic)',
  fields: oauth2ClientCredentialsFields as unknown as z.ZodType<OAuth2ClientCredentialsAccount>,
  // Only the token endpoint is known; the API the token is for is named in the account's origins.
  origins: (a) => [a.tokenUrl],
  async authorize(a, headers, { refresh, http }) {
    const key = tokenKey(
      'oauth2-cc',
      a.tokenUrl,
      a.clientId,
      a.clientSecret,
      a.scope ?? '',
      a.audience ?? '',
      a.clientAuthentication,
    );
    const token = await tokenCache.get(key, refresh, () =>
      requestToken(http, {
        vendor: new URL(a.tokenUrl).host,
        tokenUrl: a.tokenUrl,
        ...tokenRequest(a),
        action: (r) => refusalAction(r, a),
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
});
