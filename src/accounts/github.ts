import { z } from 'zod';
import { configError, transientError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { rsaPrivateKey, signJwt } from '../engine/jwt.ts';
import { type AccessToken, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * GitHub account: a personal access token, or a GitHub App installation. Vendor facts:
 *
 * - docs.github.com/en/rest/authentication/authenticating-to-the-rest-api: `Authorization: Bearer <token>`
 *   for personal access tokens (classic `ghp_…`, fine-grained `github_pat_…`) and installation tokens.
 * - docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app:
 *   the App signs a JWT with RS256; `iat` "60 seconds in the past" against clock drift, `exp` "no more
 *   than 10 minutes into the future", `iss` the App's ID.
 * - …/generating-an-installation-access-token-for-a-github-app: `POST /app/installations/{id}/access_tokens`
 *   with `Authorization: Bearer <JWT>`; the answer carries `token` and `expires_at`; "The installation
 *   access token will expire after 1 hour".
 * - docs.github.com/en/enterprise-cloud@latest/admin/monitoring-activity-in-your-enterprise/reviewing-audit-logs-for-your-enterprise/using-the-audit-log-api-for-your-enterprise:
 *   "Each audit log API endpoint has a rate limit of 1,750 queries per hour for a given combination of
 *   user and IP address" — the budget below; GitHub Enterprise Server has rate limits off by default
 *   (docs.github.com/en/enterprise-server@latest/rest/using-the-rest-api/rate-limits-for-the-rest-api),
 *   so a GHES account may raise it with `requestsPerMinute`.
 *
 * GitHub Enterprise Server: the account's `url` is the API root, `https://HOSTNAME/api/v3`.
 */

export const GITHUB_API = 'https://api.github.com';
export const GITHUB_API_VERSION = '2022-11-28';
/** GitHub: set `iat` 60 seconds in the past "to protect against clock drift". */
const JWT_BACKDATE_S = 60;
/** `exp` 9 minutes ahead: inside GitHub's 10-minute maximum even when our clock runs a little fast. */
const JWT_AHEAD_S = 9 * 60;
/** GitHub: installation tokens "expire after 1 hour". */
const INSTALLATION_TOKEN_TTL_MS = 60 * 60_000;

export interface GitHubAccount {
  /** API root of a GitHub Enterprise Server (`https://HOST/api/v3`); default https://api.github.com. */
  url?: string;
  /** A personal access token (classic or fine-grained). */
  token?: string;
  appId?: string;
  installationId?: string;
  /** The GitHub App's private key (PEM). */
  privateKey?: string;
}

const APP_FIELDS = ['appId', 'installationId', 'privateKey'] as const;

const numericId = (what: string) =>
  z
    .union([z.number().int().positive(), z.string().trim().regex(/^\d+$/, `expected the numeric ${what}`)])
    .transform(String);

const fields = z
  .object({
    url: serviceUrl()
      .optional()
      .meta(ORIGIN)
      .describe(
        'GitHub Enterprise Server API URL, e.g. https://github.example.com/api/v3 (default: https://api.github.com)',
      )
      .meta({ title: 'API URL' }),
    token: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta(SECRET)
      .describe(
        'Personal access token: classic with the read:audit_log scope, or fine-grained (leave empty to use a GitHub App)',
      )
      .meta({ title: 'Personal access token' }),
    appId: numericId('GitHub App ID (App settings → General → App ID)')
      .optional()
      .describe('GitHub App ID (App settings → General → "App ID")')
      .meta({ title: 'GitHub App ID' }),
    installationId: numericId('installation ID (the number at the end of the installation settings URL)')
      .optional()
      .describe("The App's installation ID on your organization (the number at the end of its settings URL)")
      .meta({ title: 'Installation ID' }),
    privateKey: z
      .string()
      .optional()
      .superRefine((pem, ctx) => {
        if (pem === undefined) return;
        try {
          rsaPrivateKey(pem);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .meta(SECRET)
      .describe('The GitHub App private key (.pem file contents)')
      .meta({ title: 'GitHub App private key' }),
  })
  .strict()
  .superRefine((a, ctx) => {
    const app = APP_FIELDS.filter((f) => a[f] !== undefined);
    if (a.token && app.length) {
      ctx.addIssue({
        code: 'custom',
        path: [app[0]],
        message:
          'set either token (a personal access token) or appId, installationId and privateKey (a GitHub App), not both',
      });
    } else if (!a.token && app.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'required: a personal access token, or appId, installationId and privateKey of a GitHub App',
      });
    } else if (!a.token) {
      for (const f of APP_FIELDS.filter((x) => a[x] === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [f],
          message: 'required with a GitHub App (appId, installationId and privateKey go together)',
        });
      }
    }
  });

/** The API root requests and token exchanges go to. */
export const githubApiUrl = (a: Pick<GitHubAccount, 'url'>) => (a.url ?? GITHUB_API).replace(/\/+$/, '');

/** The App's JWT: RS256, `iat` backdated 60 s, `exp` 9 minutes ahead, `iss` the App ID. */
export function appJwt(
  appId: string,
  privateKey: string,
  nowS = Math.floor(Date.now() / 1000),
): Promise<string> {
  return signJwt(
    { iat: nowS - JWT_BACKDATE_S, exp: nowS + JWT_AHEAD_S, iss: appId },
    rsaPrivateKey(privateKey),
    {
      alg: 'RS256',
    },
  );
}

function refusalAction(status: number, a: GitHubAccount): string {
  switch (status) {
    case 401:
      return "GitHub could not verify the App's JWT: check the account's appId and that privateKey is a current key of that App (a deleted or replaced key fails; App settings → General → Private keys), and that this machine's clock is right (NTP).";
    case 404:
      return `The App has no installation ${a.installationId}: check installationId (Organization settings → GitHub Apps → Configure: the number at the end of the URL) and that the App is still installed there.`;
    case 403:
      return 'The App installation is suspended or blocked: an organization owner can unsuspend it under Organization settings → GitHub Apps.';
    default:
      return "Check the GitHub App's settings and installation; if they are right, report this with the logs.";
  }
}

/**
 * Exchanges the App's JWT for an installation token (POST /app/installations/{id}/access_tokens).
 * Its lifetime is measured against the server's `Date`, so a skewed local clock cannot keep an expired
 * token in use, and capped at GitHub's documented hour.
 */
export async function installationToken(http: HttpClient, a: GitHubAccount): Promise<AccessToken> {
  const started = Date.now();
  if (!a.appId || !a.installationId || !a.privateKey) {
    throw configError(
      'github_app_incomplete',
      'The GitHub account has neither a token nor a complete GitHub App (appId, installationId, privateKey).',
      'Edit the account: give a personal access token, or all three GitHub App fields.',
    );
  }
  const res = await http.request({
    method: 'POST',
    url: `${githubApiUrl(a)}/app/installations/${encodeURIComponent(a.installationId)}/access_tokens`,
    readOnly: true, // mints a short-lived token; changes no data
    noAuth: true,
    headers: {
      authorization: `Bearer ${await appJwt(a.appId, a.privateKey)}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': GITHUB_API_VERSION,
    },
    accept: [400, 401, 403, 404, 422],
  });
  const text = await res.text();
  let body: { token?: unknown; expires_at?: unknown; message?: unknown } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported below without echoing it
  }
  if (res.status >= 400) {
    const said =
      typeof body.message === 'string' ? `: ${body.message.slice(0, 300).replace(/[.\s]+$/, '')}` : '';
    throw configError(
      'github_app_token_refused',
      `GitHub refused to issue an installation token for App ${a.appId} (${res.status})${said}.`,
      refusalAction(res.status, a),
      res.status,
    );
  }
  if (typeof body.token !== 'string' || !body.token) {
    throw transientError(
      'github_app_bad_token_response',
      `GitHub answered ${res.status} to the installation token request without a token.`,
      "Retry; if it persists, check the account's url points at the GitHub API (https://HOST/api/v3 for GitHub Enterprise Server).",
    );
  }
  const expires = typeof body.expires_at === 'string' ? Date.parse(body.expires_at) : Number.NaN;
  const serverNow = Date.parse(res.headers.get('date') ?? '');
  const ttl = Number.isFinite(expires)
    ? expires - (Number.isFinite(serverNow) ? serverNow : started)
    : INSTALLATION_TOKEN_TTL_MS;
  return { token: body.token, expiresAt: started + Math.max(0, Math.min(ttl, INSTALLATION_TOKEN_TTL_MS)) };
}

export const github = defineAccountKind<GitHubAccount>({
  id: 'github',
  title: 'GitHub',
  fields: fields as unknown as z.ZodType<GitHubAccount>,
  origins: (a) => [githubApiUrl(a)],
  async authorize(a, headers, { refresh, http }) {
    if (a.token) {
      headers.set('authorization', `Bearer ${a.token}`);
      return;
    }
    // One installation token per (API, App, installation, key), shared by every collector of the
    // account, renewed before it expires and dropped after a 401 (engine/oauth.ts).
    const key = tokenKey(
      'github-app',
      githubApiUrl(a),
      a.appId ?? '',
      a.installationId ?? '',
      a.privateKey ?? '',
    );
    const token = await tokenCache.get(key, refresh, () => installationToken(http, a));
    headers.set('authorization', `Bearer ${token}`);
  },
  // 1,750 audit-log queries an hour per user (or installation) and IP: 0.45/s plus a burst of 20 stays
  // under it over any hour (20 + 0.45 × 3600 = 1,640), leaving room for Test Connection and retries.
  rateLimit: { perSecond: 0.45, burst: 20 },
});
