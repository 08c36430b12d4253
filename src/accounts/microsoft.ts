import {
  constants,
  createHash,
  createPrivateKey,
  type KeyObject,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';
import { z } from 'zod';
import { configError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { requestToken, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `microsoft` account kind: one Entra ID app registration (single tenant) that serves every
 * Microsoft collector — Graph, the Office 365 Management Activity API, Azure Resource Manager and Log
 * Analytics — as long as the app holds each API's application permissions with admin consent.
 *
 * Vendor facts this follows:
 * - OAuth 2.0 client credentials against the v2.0 endpoint `https://{login host}/{tenant}/oauth2/v2.0/token`,
 *   `scope = {resource}/.default` (the app's statically consented application permissions):
 *   learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow and
 *   learn.microsoft.com/entra/identity-platform/scenario-daemon-acquire-token ("The scope to request for a
 *   client credential flow is the name of the resource followed by /.default").
 * - Certificate credentials (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`):
 *   learn.microsoft.com/entra/identity-platform/certificate-credentials. The current page specifies header
 *   `alg: PS256`, `typ: JWT`, `x5t#S256` (base64url SHA-256 thumbprint of the certificate's DER) and
 *   "Use PSS padding"; earlier versions of the same page specified `RS256` with a SHA-1 `x5t`. We follow the
 *   current page (PS256 + x5t#S256). Claims: `aud` = the token endpoint, `iss` = `sub` = client ID, `jti`
 *   (a GUID), `nbf`/`iat` = now, `exp` a short time after ("5-10 minutes after nbf").
 * - National clouds, learn.microsoft.com/graph/deployments: Entra endpoints `login.microsoftonline.com`
 *   (global), `login.microsoftonline.us` (US Government), `login.chinacloudapi.cn` (21Vianet); Graph roots
 *   `graph.microsoft.com`, `graph.microsoft.us` (L4, GCC High), `dod-graph.microsoft.us` (L5, DoD),
 *   `microsoftgraph.chinacloudapi.cn`. "Any permission scope value (including the .default scope) that
 *   contains the Microsoft Graph domain MUST use the domain of the Microsoft Graph service root endpoint
 *   for the national cloud" (learn.microsoft.com/graph/sdks/national-clouds).
 * - Office 365 Management Activity API roots (office-365-management-activity-api-reference and
 *   get-started-with-office-365-management-apis): `manage.office.com` (Enterprise), `manage-gcc.office.com`
 *   (GCC, whose token resource is still `manage.office.com`: "Enterprise plan and GCC government plan:
 *   manage.office.com"), `manage.office365.us` (GCC High), `manage.protection.apps.mil` (DoD).
 * - Log Analytics: `api.loganalytics.azure.com` (current) and `api.loganalytics.io` ("continues to be
 *   supported"), China `api.loganalytics.azure.cn` (learn.microsoft.com/azure/azure-monitor/logs/api/access-api).
 * - Token endpoint errors carry `error` and `error_description` beginning with an `AADSTSnnnnn` code.
 */

export const CLOUDS = {
  global: { title: 'Global (commercial, GCC)', login: 'https://login.microsoftonline.com' },
  usgov: { title: 'US Government (GCC High)', login: 'https://login.microsoftonline.us' },
  'usgov-dod': { title: 'US Government DoD', login: 'https://login.microsoftonline.us' },
  china: { title: 'China (21Vianet)', login: 'https://login.chinacloudapi.cn' },
} as const;

export type MicrosoftCloud = keyof typeof CLOUDS;

/**
 * The Microsoft APIs an account can call, by cloud: the hosts that serve it and the token resource they
 * accept. A request's host picks the resource. `path` recognises the API when it is called through a
 * host we do not know (a proxy or a simulator given as a collector's base URL); the account's cloud then
 * picks the resource. A new API is one more entry here.
 */
export interface MicrosoftApi {
  name: string;
  clouds: Partial<Record<MicrosoftCloud, { hosts: string[]; resource: string }>>;
  path: RegExp;
}

export const MICROSOFT_APIS: MicrosoftApi[] = [
  {
    name: 'Microsoft Graph',
    clouds: {
      global: { hosts: ['graph.microsoft.com'], resource: 'https://graph.microsoft.com' },
      usgov: { hosts: ['graph.microsoft.us'], resource: 'https://graph.microsoft.us' },
      'usgov-dod': { hosts: ['dod-graph.microsoft.us'], resource: 'https://dod-graph.microsoft.us' },
      china: {
        hosts: ['microsoftgraph.chinacloudapi.cn'],
        resource: 'https://microsoftgraph.chinacloudapi.cn',
      },
    },
    path: /^\/(v1\.0|beta)(\/|$)/,
  },
  {
    name: 'Office 365 Management Activity API',
    clouds: {
      global: {
        hosts: ['manage.office.com', 'manage-gcc.office.com'],
        resource: 'https://manage.office.com',
      },
      usgov: { hosts: ['manage.office365.us'], resource: 'https://manage.office365.us' },
      'usgov-dod': { hosts: ['manage.protection.apps.mil'], resource: 'https://manage.protection.apps.mil' },
    },
    path: /^\/api\/v1\.0\/[^/]+\/activity\//,
  },
  {
    name: 'Azure Resource Manager',
    clouds: {
      global: { hosts: ['management.azure.com'], resource: 'https://management.azure.com' },
      usgov: { hosts: ['management.usgovcloudapi.net'], resource: 'https://management.usgovcloudapi.net' },
      'usgov-dod': {
        hosts: ['management.usgovcloudapi.net'],
        resource: 'https://management.usgovcloudapi.net',
      },
      china: { hosts: ['management.chinacloudapi.cn'], resource: 'https://management.chinacloudapi.cn' },
    },
    path: /^\/(subscriptions|providers|tenants)\//i,
  },
  {
    name: 'Log Analytics',
    clouds: {
      global: {
        hosts: ['api.loganalytics.azure.com', 'api.loganalytics.io'],
        resource: 'https://api.loganalytics.io',
      },
      china: { hosts: ['api.loganalytics.azure.cn'], resource: 'https://api.loganalytics.azure.cn' },
    },
    path: /^\/v1\/workspaces\//,
  },
  {
    // Blob Storage with Entra ID (azure-blob destination): any storage account's blob endpoint, token
    // resource https://storage.azure.com in every cloud (learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory,
    // "Resource ID ... https://storage.azure.com/"). A host may be a pattern `*.domain`.
    name: 'Azure Blob Storage',
    clouds: {
      global: { hosts: ['*.blob.core.windows.net'], resource: 'https://storage.azure.com' },
      usgov: { hosts: ['*.blob.core.usgovcloudapi.net'], resource: 'https://storage.azure.com' },
      'usgov-dod': { hosts: ['*.blob.core.usgovcloudapi.net'], resource: 'https://storage.azure.com' },
      china: { hosts: ['*.blob.core.chinacloudapi.cn'], resource: 'https://storage.azure.com' },
    },
    path: /^$/, // container paths say nothing: recognised by host only
  },
];

/** Whether `host` is `pattern`: a host name, or `*.domain` for any host under domain. */
const hostIs = (pattern: string, host: string) =>
  pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : pattern === host;

/** The Graph service root of a cloud, e.g. `https://graph.microsoft.com` (without the version). */
export function graphRoot(cloud: MicrosoftCloud): string {
  return `https://${MICROSOFT_APIS[0].clouds[cloud]!.hosts[0]}`;
}

/** The token resource for a request URL (see MICROSOFT_APIS), or a config error naming the host. */
export function resourceFor(url: URL, cloud: MicrosoftCloud): string {
  const host = url.hostname.toLowerCase();
  for (const api of MICROSOFT_APIS) {
    for (const [c, entry] of Object.entries(api.clouds)) {
      if (!entry.hosts.some((h) => hostIs(h, host))) continue;
      if (c !== cloud && !(api.clouds[cloud]?.hosts.some((h) => hostIs(h, host)) ?? false)) {
        throw configError(
          'microsoft_cloud_mismatch',
          `${host} is the ${api.name} of the ${CLOUDS[c as MicrosoftCloud].title} cloud, but the Microsoft account is set to ${CLOUDS[cloud].title}.`,
          "Set the account's cloud to the one your tenant lives in, or remove the collector's base URL override.",
        );
      }
      return entry.resource;
    }
  }
  for (const api of MICROSOFT_APIS) {
    if (!api.path.test(url.pathname)) continue;
    const entry = api.clouds[cloud];
    if (!entry) {
      throw configError(
        'microsoft_api_unavailable',
        `${api.name} has no endpoint Tributary knows in the ${CLOUDS[cloud].title} cloud.`,
        "Check the account's cloud; this API may not be offered there.",
      );
    }
    return entry.resource;
  }
  throw configError(
    'microsoft_unknown_api',
    `Tributary does not know which Microsoft API ${url.origin} serves, so it cannot ask Entra ID for a token for it.`,
    "Point the collector's base URL at a Microsoft Graph, Office 365 Management, Azure Resource Manager or Log Analytics endpoint.",
  );
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** PEMs pasted into forms or environment variables often carry literal "\\n" sequences. */
const pemText = (pem: string) =>
  pem.includes('\\n') && !pem.includes('\n') ? pem.replace(/\\n/g, '\n') : pem;

function parseKey(pem: string): KeyObject | undefined {
  try {
    const key = createPrivateKey(pemText(pem));
    return key.asymmetricKeyType === 'rsa' ? key : undefined;
  } catch {
    return undefined;
  }
}

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pemText(pem));
  } catch {
    return undefined;
  }
}

export const microsoftFields = z
  .object({
    tenantId: z
      .string({ error: 'required' })
      .trim()
      .refine((v) => GUID.test(v) || (DOMAIN.test(v) && !/^(common|organizations|consumers)$/i.test(v)), {
        message:
          'expected the Directory (tenant) ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47 (or the tenant domain, e.g. contoso.onmicrosoft.com)',
      })
      .describe('Directory (tenant) ID of the app registration (Entra admin center → App registrations)')
      .meta({ title: 'Directory (tenant) ID' }),
    clientId: z
      .string({ error: 'required' })
      .trim()
      .regex(GUID, 'expected the Application (client) ID, a GUID')
      .describe('Application (client) ID of the app registration')
      .meta({ title: 'Application (client) ID' }),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .meta(SECRET)
      .describe('Client secret Value (not its Secret ID); leave empty when using a certificate')
      .meta({ title: 'Client secret' }),
    privateKey: z
      .string()
      .optional()
      .meta(SECRET)
      .describe('PEM private key (RSA) of the certificate uploaded to the app registration')
      .meta({ title: 'Certificate private key (PEM)' }),
    certificate: z
      .string()
      .optional()
      .describe('PEM certificate uploaded to the app registration (its public part)')
      .meta({ title: 'Certificate (PEM)' }),
    cloud: z
      .enum(Object.keys(CLOUDS) as [MicrosoftCloud, ...MicrosoftCloud[]])
      .default('global')
      .meta(ORIGIN)
      .describe('National cloud: global (commercial and GCC), usgov (GCC High), usgov-dod, china')
      .meta({ title: 'National cloud' }),
    authorityHost: serviceUrl()
      .optional()
      .meta(ORIGIN)
      .describe('Override of the Entra login host, e.g. a proxy or a simulator (default: the cloud’s)')
      .meta({ title: 'Login host override' }),
  })
  .strict()
  .superRefine((a, ctx) => {
    const cert = a.privateKey !== undefined || a.certificate !== undefined;
    if (a.clientSecret && cert) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: 'give either clientSecret or privateKey + certificate, not both',
      });
      return;
    }
    if (!a.clientSecret && !cert) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message: 'required: a client secret, or privateKey + certificate for certificate credentials',
      });
      return;
    }
    if (!cert) return;
    const key = a.privateKey ? parseKey(a.privateKey) : undefined;
    const x509 = a.certificate ? parseCertificate(a.certificate) : undefined;
    if (!key)
      ctx.addIssue({
        code: 'custom',
        path: ['privateKey'],
        message: a.privateKey
          ? 'not a PEM RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)'
          : 'required with certificate',
      });
    if (!x509)
      ctx.addIssue({
        code: 'custom',
        path: ['certificate'],
        message: a.certificate
          ? 'not a PEM X.509 certificate (-----BEGIN CERTIFICATE-----)'
          : 'required with privateKey',
      });
    if (key && x509 && !x509.checkPrivateKey(key))
      ctx.addIssue({
        code: 'custom',
        path: ['certificate'],
        message: 'the certificate does not belong to the private key',
      });
  });

export type MicrosoftAccount = z.infer<typeof microsoftFields>;

export function tokenUrl(a: MicrosoftAccount): string {
  const host = (a.authorityHost ?? CLOUDS[a.cloud].login).replace(/\/+$/, '');
  return `${host}/${encodeURIComponent(a.tenantId)}/oauth2/v2.0/token`;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The signed client assertion (certificate-credentials page: PS256, `x5t#S256`, aud = token endpoint). */
export function clientAssertion(a: MicrosoftAccount, audience: string, now = Date.now()): string {
  const cert = new X509Certificate(pemText(a.certificate!));
  const header = {
    alg: 'PS256',
    typ: 'JWT',
    'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url'),
  };
  const t = Math.floor(now / 1000);
  const claims = {
    aud: audience,
    iss: a.clientId,
    sub: a.clientId,
    jti: randomUUID(),
    nbf: t,
    iat: t,
    exp: t + 600,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: createPrivateKey(pemText(a.privateKey!)),
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  });
  return `${input}.${b64url(signature)}`;
}

/** A recommended action for an Entra token error, by its AADSTS code (the part a user can act on). */
export function tokenErrorAction(message: string): string {
  const code = /AADSTS(\d+)/.exec(message)?.[1];
  switch (code) {
    case '7000215':
      return 'The client secret is wrong. In App registrations → Certificates & secrets, copy the secret’s Value (not its Secret ID) or create a new secret, and update the Microsoft account.';
    case '7000222':
      return 'The client secret has expired. Create a new one under App registrations → Certificates & secrets and update the Microsoft account.';
    case '700016':
      return 'Entra ID has no application with this client ID in the tenant. Check the Application (client) ID and Directory (tenant) ID, and that the app was registered in the cloud the account is set to.';
    case '90002':
    case '90033':
      return 'The tenant was not found. Check the Directory (tenant) ID and the account’s cloud (global, usgov, usgov-dod, china).';
    case '700027':
    case '700024':
    case '7000274':
      return 'Entra ID did not accept the certificate assertion. Upload this certificate (its public .cer/.pem part) under App registrations → Certificates & secrets, check it has not expired, and check this machine’s clock.';
    case '500011':
    case '1002012':
    case '65001':
      return 'The API is not available to this app in the tenant. Add the API’s application permissions to the app registration and grant admin consent.';
    case '7000112':
      return 'The application is disabled in the tenant. Enable its enterprise application (service principal) in the Entra admin center.';
    default:
      return 'Check the Microsoft account: Directory (tenant) ID, Application (client) ID, the client secret or certificate, and the cloud.';
  }
}

async function fetchToken(http: HttpClient, a: MicrosoftAccount, url: string, resource: string) {
  const form: Record<string, string> = {
    client_id: a.clientId,
    scope: `${resource}/.default`,
    grant_type: 'client_credentials',
  };
  if (a.clientSecret) form.client_secret = a.clientSecret;
  else {
    form.client_assertion_type = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
    form.client_assertion = clientAssertion(a, url);
  }
  return requestToken(http, {
    vendor: 'Microsoft Entra ID',
    tokenUrl: url,
    form,
    action: (refusal) => tokenErrorAction(refusal.description ?? ''),
  });
}

/** The token cache key: the account's identity, the credential (hashed) and the resource. */
function cacheKey(a: MicrosoftAccount, url: string, resource: string): string {
  const credential =
    a.clientSecret ??
    createHash('sha256')
      .update(a.privateKey ?? '')
      .digest('hex');
  return tokenKey('microsoft', url, a.clientId, credential, resource);
}

export const microsoft = defineAccountKind<MicrosoftAccount>({
  id: 'microsoft',
  title: 'Microsoft (Entra ID app)',
  fields: microsoftFields as z.ZodType<MicrosoftAccount>,
  // The cloud's sign-in host and the hosts of the APIs it serves (MICROSOFT_APIS).
  origins: (a) => [
    a.authorityHost ?? CLOUDS[a.cloud].login,
    ...MICROSOFT_APIS.flatMap((api) => (api.clouds[a.cloud]?.hosts ?? []).map((h) => `https://${h}`)),
  ],
  async authorize(a, headers, { refresh, http, url }) {
    const resource = resourceFor(url, a.cloud ?? 'global');
    const endpoint = tokenUrl(a);
    const token = await tokenCache.get(cacheKey(a, endpoint, resource), refresh, () =>
      fetchToken(http, a, endpoint, resource),
    );
    headers.set('authorization', `Bearer ${token}`);
  },
  // One budget for every Microsoft API the app calls. The tightest documented per-app-per-tenant limits
  // are Graph's identity and access reports (auditLogs: 5 requests per 10 s) and security alerts and
  // incidents (150 requests a minute) (learn.microsoft.com/graph/throttling-limits). A 5-request burst
  // fits the reports limit, and 1 request a second stays under the security limit with room for a second
  // collector; sustained audit-log paging beyond 0.5/s meets Graph's 429 + Retry-After, which pauses the
  // whole account. Directory reads (3,500+ per 10 s) and the Management Activity API (2,000 a minute per
  // tenant) allow more: raise it per account with `requestsPerMinute`.
  rateLimit: { perSecond: 1, burst: 5 },
});
