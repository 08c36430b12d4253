import { z } from 'zod';
import { configError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';
import { isLoopbackHost, serviceUrl } from '../core/validation.ts';
import { rsaPrivateKey, signJwt } from '../engine/jwt.ts';
import { requestToken, type TokenRefusal, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * Google account: a service-account JSON key, exchanged for OAuth 2.0 access tokens with the JWT bearer
 * grant (RFC 7523), as Google documents it in "Using OAuth 2.0 for Server to Server Applications"
 * (developers.google.com/identity/protocols/oauth2/service-account):
 *
 * - JWT header {"alg":"RS256","typ":"JWT"} (+ "kid": private_key_id); claims `iss` = client_email,
 *   `scope` = space-delimited scopes, `aud` = the key's token_uri ("always https://oauth2.googleapis.com/token"),
 *   `iat`, `exp` at most one hour after `iat`, and `sub` = the user to impersonate with domain-wide delegation.
 * - POST token_uri, form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`;
 *   answer {access_token, expires_in: 3599, token_type: "Bearer"}.
 * - Refusals: 400 invalid_grant ("Invalid JWT Signature." for a deleted/rotated key, "Invalid email or
 *   User ID" for an unknown `sub`, iat/exp outside a reasonable timeframe), 401 unauthorized_client
 *   ("Client is unauthorized to retrieve access tokens using this method, or client not authorized for
 *   any of the scopes requested." when domain-wide delegation lacks the client ID or a scope).
 *
 * Each API gets its own token (cached per key, subject, scopes and endpoint; engine/oauth.ts): the
 * Admin SDK Reports API is read AS the delegated admin (`sub`, domain-wide delegation, scope
 * admin.reports.audit.readonly — the only scope activities.list accepts per its discovery document),
 * Cloud Logging AS the service account itself (no `sub`: its IAM roles on the project decide; scope
 * logging.read, one of the four entries.list accepts). The API is recognised by the request's path, so
 * base-URL overrides (proxies, simulators) keep working.
 */

export const REPORTS_AUDIT_SCOPE = 'https://www.googleapis.com/auth/admin.reports.audit.readonly';
export const LOGGING_READ_SCOPE = 'https://www.googleapis.com/auth/logging.read';
const CLOUD_READ_ONLY_SCOPE = 'https://www.googleapis.com/auth/cloud-platform.read-only';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google: "The expiration time of the assertion … maximum of 1 hour after the issued time". */
const ASSERTION_LIFETIME_S = 3600;

export interface GoogleAccount {
  /** The service account's JSON key file, as text. */
  serviceAccountKey: string;
  /** The Workspace admin impersonated through domain-wide delegation (Workspace APIs only). */
  subject?: string;
  /** Scopes Tributary may request; default: each API's least-privilege read-only scope. */
  scopes?: string[];
  /** Token endpoint override (a proxy or a simulator); default: the key's token_uri. */
  tokenUrl?: string;
}

export interface ServiceAccountKey {
  clientEmail: string;
  clientId?: string;
  privateKeyId?: string;
  privateKeyPem: string;
  tokenUri: string;
  projectId?: string;
}

/** A Google API Tributary calls: the scopes it accepts and whether it is read as the delegated admin. */
export interface GoogleApi {
  name: string;
  /** Scopes the API accepts, least privilege first (the default). */
  accepts: string[];
  /** required: the request is made as `subject` (domain-wide delegation); never: as the service account. */
  delegation: 'required' | 'never' | 'optional';
}

export const REPORTS_API: GoogleApi = {
  name: 'Admin SDK Reports API',
  accepts: [REPORTS_AUDIT_SCOPE],
  delegation: 'required',
};

export const LOGGING_API: GoogleApi = {
  name: 'Cloud Logging API',
  accepts: [
    LOGGING_READ_SCOPE,
    CLOUD_READ_ONLY_SCOPE,
    'https://www.googleapis.com/auth/logging.admin',
    'https://www.googleapis.com/auth/cloud-platform',
  ],
  delegation: 'never',
};

/** Cloud Storage uploads (gcs destination), as the service account (its IAM role on the bucket decides). */
export const STORAGE_WRITE_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';
export const STORAGE_API: GoogleApi = {
  name: 'Cloud Storage JSON API',
  accepts: [
    STORAGE_WRITE_SCOPE,
    'https://www.googleapis.com/auth/devstorage.full_control',
    'https://www.googleapis.com/auth/cloud-platform',
  ],
  delegation: 'never',
};

/**
 * The Chronicle API of Google Security Operations, for `logs.import` (cloud.google.com/chronicle/docs/reference/rest
 * → projects.locations.instances.logTypes.logs/import: "Requires one of the following OAuth scopes:
 * https://www.googleapis.com/auth/cloud-platform, https://www.googleapis.com/auth/chronicle", IAM
 * permission chronicle.logs.import). Called as the service account itself: its IAM role on the
 * SecOps project decides.
 */
export const CHRONICLE_API: GoogleApi = {
  name: 'Chronicle API',
  accepts: ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/chronicle'],
  delegation: 'never',
};

/**
 * Pub/Sub (cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/pull, "Authorization
 * scopes": https://www.googleapis.com/auth/pubsub or cloud-platform), as the service account itself.
 */
export const PUBSUB_API: GoogleApi = {
  name: 'Pub/Sub API',
  accepts: ['https://www.googleapis.com/auth/pubsub', 'https://www.googleapis.com/auth/cloud-platform'],
  delegation: 'never',
};

/**
 * Security Command Center API (cloud.google.com/security-command-center/docs/reference/rest/v2/organizations.sources.locations.findings/list,
 * "Authorization scopes": https://www.googleapis.com/auth/cloud-platform), as the service account itself.
 */
export const SECURITY_CENTER_API: GoogleApi = {
  name: 'Security Command Center API',
  accepts: ['https://www.googleapis.com/auth/cloud-platform'],
  delegation: 'never',
};

/**
 * BigQuery (cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query, "Authorization scopes"), as the
 * service account itself; bigquery.readonly suffices to query.
 */
export const BIGQUERY_API: GoogleApi = {
  name: 'BigQuery API',
  accepts: [
    'https://www.googleapis.com/auth/bigquery.readonly',
    'https://www.googleapis.com/auth/bigquery',
    CLOUD_READ_ONLY_SCOPE,
    'https://www.googleapis.com/auth/cloud-platform',
  ],
  delegation: 'never',
};

const OTHER_API: GoogleApi = { name: 'Google API', accepts: [CLOUD_READ_ONLY_SCOPE], delegation: 'optional' };

/** Which API a request goes to, by host or (for base-URL overrides) by path. */
export function apiFor(url: URL): GoogleApi {
  if (url.hostname === 'admin.googleapis.com' || url.pathname.startsWith('/admin/reports/'))
    return REPORTS_API;
  if (url.hostname === 'logging.googleapis.com' || url.pathname.startsWith('/v2/entries')) return LOGGING_API;
  if (
    url.hostname === 'pubsub.googleapis.com' ||
    /^\/v1\/projects\/[^/]+\/subscriptions\//.test(url.pathname)
  )
    return PUBSUB_API;
  if (
    url.hostname === 'securitycenter.googleapis.com' ||
    /^\/v[12]\/(organizations|folders|projects)\/[^/]+\/sources\//.test(url.pathname)
  )
    return SECURITY_CENTER_API;
  if (url.hostname === 'bigquery.googleapis.com' || url.pathname.startsWith('/bigquery/v2/'))
    return BIGQUERY_API;
  if (url.hostname === 'storage.googleapis.com' || /^\/(upload\/)?storage\/v1\//.test(url.pathname))
    return STORAGE_API;
  if (
    /(^|\.|-)chronicle\.([a-z0-9-]+\.rep\.)?googleapis\.com$/.test(url.hostname) ||
    /\/instances\/[^/]+\/logTypes\/[^/]+\/logs:import$/.test(url.pathname)
  )
    return CHRONICLE_API;
  return OTHER_API;
}

/** The scopes a token for `api` requests, or undefined when the account's scopes exclude the API. */
export function scopesFor(account: Pick<GoogleAccount, 'scopes'>, api: GoogleApi): string[] | undefined {
  if (!account.scopes) return [api.accepts[0]];
  if (api === OTHER_API) return account.scopes;
  const allowed = account.scopes.filter((s) => api.accepts.includes(s));
  return allowed.length ? allowed : undefined;
}

/** Checks what a source needs of the account before any request: the subject and a usable scope. */
export function checkAccountFor(account: GoogleAccount, api: GoogleApi): void {
  if (api.delegation === 'required' && !account.subject) {
    throw configError(
      'google_subject_required',
      `The ${api.name} is read as a Workspace administrator through domain-wide delegation, and the Google account has no subject.`,
      "Set the account's subject to the email of a super administrator (or an admin with the Reports privilege) of your Google Workspace domain.",
    );
  }
  if (!scopesFor(account, api)) {
    throw configError(
      'google_scope_missing',
      `The Google account's scopes include none the ${api.name} accepts (${api.accepts.join(', ')}).`,
      `Add ${api.accepts[0]} to the account's scopes (and, for domain-wide delegation, to the client ID's scopes in the Admin console), or remove the scopes field to use the defaults.`,
    );
  }
}

const issuesOf = (text: string): { key?: ServiceAccountKey; issues: string[] } => {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    return {
      issues: ['not valid JSON: paste the whole key file downloaded from IAM → Service accounts → Keys'],
    };
  }
  if (!j || typeof j !== 'object' || Array.isArray(j))
    return { issues: ['expected a JSON object (the key file)'] };
  const issues: string[] = [];
  if (j.type !== 'service_account') {
    issues.push(
      `type must be "service_account"${typeof j.type === 'string' ? `, got "${j.type}" (a user or external-account credential is not a service-account key)` : ''}`,
    );
  }
  const email = j.client_email;
  if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
    issues.push('client_email is missing or not an email address');
  const pem = j.private_key;
  if (typeof pem !== 'string' || !/-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem)) {
    issues.push('private_key is missing or not a PEM private key (-----BEGIN PRIVATE KEY-----)');
  } else {
    try {
      rsaPrivateKey(pem);
    } catch (err) {
      issues.push(`private_key: ${(err as Error).message}`);
    }
  }
  const tokenUri = j.token_uri;
  if (typeof tokenUri !== 'string') issues.push('token_uri is missing');
  else {
    let u: URL | undefined;
    try {
      u = new URL(tokenUri);
    } catch {
      issues.push('token_uri is not a URL');
    }
    if (u && !(u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname))))
      issues.push('token_uri must be an https:// URL');
  }
  if (issues.length) return { issues };
  return {
    issues,
    key: {
      clientEmail: email as string,
      clientId: typeof j.client_id === 'string' ? j.client_id : undefined,
      privateKeyId: typeof j.private_key_id === 'string' ? j.private_key_id : undefined,
      privateKeyPem: pem as string,
      tokenUri: tokenUri as string,
      projectId: typeof j.project_id === 'string' ? j.project_id : undefined,
    },
  };
};

const parsed = new Map<string, ServiceAccountKey>();

/** Parses and checks a service-account key file; throws a config error naming the problems. */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  const id = tokenKey('google-key', text); // hashed: the cache holds no key text as a map key
  const hit = parsed.get(id);
  if (hit) return hit;
  const { key, issues } = issuesOf(text);
  if (!key) {
    throw configError(
      'google_bad_key',
      `The Google account's serviceAccountKey is not a usable service-account key: ${issues.join('; ')}.`,
      'Create a new JSON key for the service account (IAM & Admin → Service accounts → Keys → Add key) and paste the whole file.',
    );
  }
  if (parsed.size >= 64) parsed.clear();
  parsed.set(id, key);
  return key;
}

const fields = z
  .object({
    serviceAccountKey: z
      .string({ error: 'required: the JSON key file text, e.g. serviceAccountKey: ${file:key.json}' })
      .superRefine((text, ctx) => {
        for (const message of issuesOf(text).issues) ctx.addIssue({ code: 'custom', message });
      })
      .meta(SECRET)
      .describe(
        'The service account JSON key file (type service_account), e.g. ${file:tributary-sa.json}; stored encrypted',
      )
      .meta({ title: 'Service account key (JSON)' }),
    subject: z
      .email({ message: 'expected the email address of a Workspace administrator' })
      .optional()
      .describe(
        'Workspace admin impersonated through domain-wide delegation: required for Google Workspace, not used for Cloud Logging',
      )
      .meta({ title: 'Subject (admin to impersonate)' }),
    scopes: z
      .array(
        z
          .string()
          .regex(
            /^https:\/\/www\.googleapis\.com\/auth\/[a-z0-9._-]+$/i,
            'expected a Google OAuth scope such as https://www.googleapis.com/auth/admin.reports.audit.readonly',
          ),
      )
      .min(1)
      .optional()
      .describe("OAuth scopes Tributary may request (default: each API's least-privilege read-only scope)")
      .meta({ title: 'OAuth scopes' }),
    tokenUrl: serviceUrl()
      .optional()
      .meta(ORIGIN)
      .describe("Token endpoint override (proxy or simulator); default: the key's token_uri")
      .meta({ title: 'Token URL override' }),
  })
  .strict();

/** The recommended action for a refused token request, naming what the admin has to fix. */
function tokenAction(key: ServiceAccountKey, sub: string | undefined, scopes: string[]) {
  return (r: TokenRefusal): string => {
    const d = r.description ?? '';
    if (r.error === 'unauthorized_client') {
      return `Domain-wide delegation is missing: in the Google Admin console (Security → Access and data control → API controls → Manage Domain Wide Delegation) add client ID ${key.clientId ?? "(the service account's unique ID)"} with exactly these scopes: ${scopes.join(',')}.`;
    }
    if (r.error === 'invalid_grant' && /signature/i.test(d)) {
      return `The key ${key.privateKeyId ?? ''} of ${key.clientEmail} was deleted, disabled or rotated: create a new JSON key and update the account.`;
    }
    if (r.error === 'invalid_grant' && /email|user id/i.test(d)) {
      return `The subject ${sub ?? ''} is not an active user of the Workspace domain: set the account's subject to an existing administrator's primary email.`;
    }
    if (r.error === 'invalid_grant' && /iat|exp|timeframe/i.test(d)) {
      return "The collector's clock is off: synchronise this host's clock (NTP) and retry.";
    }
    if (r.error === 'invalid_grant' && /account not found|not found/i.test(d)) {
      return `The service account ${key.clientEmail} no longer exists or is disabled: re-enable it or create a new one and its key.`;
    }
    if (r.error === 'invalid_scope') {
      return `Google rejected the scopes ${scopes.join(' ')}: check the account's scopes field.`;
    }
    return `Check the service account ${key.clientEmail} and its key are enabled, and the token endpoint is reachable.`;
  };
}

/** The signed RS256 JWT assertion of a token request (engine/jwt.ts signs it). */
export function signAssertion(
  key: ServiceAccountKey,
  claims: { scope: string; sub?: string },
  now = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return signJwt(
    {
      iss: key.clientEmail,
      scope: claims.scope,
      aud: key.tokenUri,
      iat,
      exp: iat + ASSERTION_LIFETIME_S,
      ...(claims.sub ? { sub: claims.sub } : {}),
    },
    rsaPrivateKey(key.privateKeyPem),
    { alg: 'RS256', header: key.privateKeyId ? { kid: key.privateKeyId } : {} },
  );
}

export const google = defineAccountKind<GoogleAccount>({
  id: 'google',
  title: 'Google (service account)',
  fields,
  // Token requests go to the key's token_uri (or tokenUrl); every Google API is on googleapis.com.
  origins: (a) => [
    'https://oauth2.googleapis.com',
    'https://*.googleapis.com',
    ...(a.tokenUrl ? [a.tokenUrl] : []),
    ...(() => {
      try {
        return [parseServiceAccountKey(a.serviceAccountKey).tokenUri];
      } catch {
        return [];
      }
    })(),
  ],
  async authorize(a, headers, { refresh, http, url }) {
    const api = apiFor(url);
    checkAccountFor(a, api);
    const key = parseServiceAccountKey(a.serviceAccountKey);
    const scopes = scopesFor(a, api) ?? [];
    const sub = api.delegation === 'never' ? undefined : a.subject;
    const endpoint = a.tokenUrl ?? key.tokenUri;
    const cacheKey = tokenKey(
      'google',
      key.clientEmail,
      key.privateKeyPem,
      sub ?? '',
      scopes.join(' '),
      endpoint,
    );
    const token = await tokenCache.get(cacheKey, refresh, () =>
      requestToken(http, {
        vendor: 'Google',
        tokenUrl: endpoint,
        form: async () => ({
          grant_type: JWT_BEARER,
          assertion: await signAssertion(key, { scope: scopes.join(' '), sub }),
        }),
        action: tokenAction(key, sub, scopes),
      }),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  // Budget per account, shared by its collectors: Cloud Logging allows 60 entries.list requests a minute
  // per project, a limit Google does not raise (cloud.google.com/logging/quotas), and one account usually
  // reads one project; 0.9/s with a burst of 5 stays under 60 in any minute. The Reports API's quota is
  // per project in the Cloud console and higher; an account used only for Workspace can raise its budget
  // with requestsPerMinute. Token requests (one an hour per API) share the budget.
  rateLimit: { perSecond: 0.9, burst: 5 },
});

/** What a Google API error body says: `error.status` and the reasons in `errors[]` and `details[]`. */
export function googleErrorOf(body: string): { status?: string; reasons: string[]; message: string } {
  try {
    const e = JSON.parse(body)?.error;
    if (!e || typeof e !== 'object') return { reasons: [], message: '' };
    const reasons = [
      ...(Array.isArray(e.errors) ? e.errors.map((x: { reason?: unknown }) => x?.reason) : []),
      ...(Array.isArray(e.details) ? e.details.map((x: { reason?: unknown }) => x?.reason) : []),
    ].filter((r): r is string => typeof r === 'string');
    return {
      status: typeof e.status === 'string' ? e.status : undefined,
      reasons,
      message: typeof e.message === 'string' ? e.message.slice(0, 500) : '',
    };
  } catch {
    return { reasons: [], message: '' };
  }
}

/** True when a 403 says the API is not enabled in the service account's project. */
export function isApiDisabled(e: { reasons: string[]; message: string }): boolean {
  return (
    e.reasons.some((r) => r === 'SERVICE_DISABLED' || r === 'accessNotConfigured') ||
    /has not been used in project|is disabled/i.test(e.message)
  );
}

/**
 * The answers every Google API source gives alike: 401 after a token refresh (clock, disabled key or
 * service account) and 403 for an API not enabled in the service account's project. Undefined otherwise.
 */
export function explainGoogleCommon(
  status: number,
  e: { reasons: string[]; message: string },
  api: { name: string; service: string },
): { code: string; action: string } | undefined {
  if (status === 401)
    return {
      code: 'google_unauthenticated',
      action: `Google rejected the access token even after a refresh: check this host's clock, that the service account and its key are enabled, and the base URL (https://${api.service}).`,
    };
  if (status === 403 && isApiDisabled(e))
    return {
      code: 'google_api_disabled',
      action: `The ${api.name} is not enabled in the service account's project: gcloud services enable ${api.service} (or APIs & Services → Library → ${api.name} → Enable), wait a few minutes and retry.`,
    };
  return undefined;
}
