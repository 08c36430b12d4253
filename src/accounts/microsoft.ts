import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { configError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { newJti, privateKey, signJwt, unescapeNewlines, x5tS256 } from '../engine/jwt.ts';
import { type AccessToken, requestToken, tokenCache, tokenKey } from '../engine/oauth.ts';

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
  /** `hosts` are exact names; `suffixes` cover APIs served on per-resource hosts (`*.ingest.monitor.azure.com`). */
  clouds: Partial<Record<MicrosoftCloud, { hosts: string[]; suffixes?: string[]; resource: string }>>;
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
    // `/api/v1.0/` is the documented root; the NextPageUri the same reference shows is under `/api/v1/`
    // (office-365-management-activity-api-reference, "List available content" → "Pagination").
    path: /^\/api\/v1(\.0)?\/[^/]+\/activity\//i,
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
    // "Resource ID ... https://storage.azure.com/"). Storage accounts have hosts of their own: matched by suffix.
    // The queue service takes the same resource (learn.microsoft.com/azure/storage/queues/authorize-access-azure-active-directory).
    name: 'Azure Blob Storage',
    clouds: {
      global: {
        hosts: [],
        suffixes: ['.blob.core.windows.net', '.queue.core.windows.net'],
        resource: 'https://storage.azure.com',
      },
      usgov: {
        hosts: [],
        suffixes: ['.blob.core.usgovcloudapi.net', '.queue.core.usgovcloudapi.net'],
        resource: 'https://storage.azure.com',
      },
      'usgov-dod': {
        hosts: [],
        suffixes: ['.blob.core.usgovcloudapi.net', '.queue.core.usgovcloudapi.net'],
        resource: 'https://storage.azure.com',
      },
      china: {
        hosts: [],
        suffixes: ['.blob.core.chinacloudapi.cn', '.queue.core.chinacloudapi.cn'],
        resource: 'https://storage.azure.com',
      },
    },
    path: /^$/, // container paths say nothing: recognised by host only
  },
  {
    // Event Hubs with Entra ID (learn.microsoft.com/azure/event-hubs/authenticate-application, "Authenticate
    // an application"): namespaces `{ns}.servicebus.windows.net`, token resource https://eventhubs.azure.net.
    name: 'Azure Event Hubs',
    clouds: {
      global: { hosts: [], suffixes: ['.servicebus.windows.net'], resource: 'https://eventhubs.azure.net' },
      usgov: {
        hosts: [],
        suffixes: ['.servicebus.usgovcloudapi.net'],
        resource: 'https://eventhubs.azure.net',
      },
      'usgov-dod': {
        hosts: [],
        suffixes: ['.servicebus.usgovcloudapi.net'],
        resource: 'https://eventhubs.azure.net',
      },
      china: {
        hosts: [],
        suffixes: ['.servicebus.chinacloudapi.cn'],
        resource: 'https://eventhubs.azure.net',
      },
    },
    path: /^$/, // AMQP: recognised by host only
  },
  {
    // Logs Ingestion API (learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview):
    // data collection endpoints and DCR ingestion endpoints are per resource, e.g.
    // `my-dce-a1b2.eastus-1.ingest.monitor.azure.com`; tokens are for the resource https://monitor.azure.com
    // (its sample code asks for the scope "https://monitor.azure.com//.default"; Azure Government:
    // monitor.azure.us, China: monitor.azure.cn, per the Azure SDK's audience constants).
    name: 'Azure Monitor Logs Ingestion API',
    clouds: {
      global: { hosts: [], suffixes: ['.ingest.monitor.azure.com'], resource: 'https://monitor.azure.com' },
      usgov: { hosts: [], suffixes: ['.ingest.monitor.azure.us'], resource: 'https://monitor.azure.us' },
      'usgov-dod': {
        hosts: [],
        suffixes: ['.ingest.monitor.azure.us'],
        resource: 'https://monitor.azure.us',
      },
      china: { hosts: [], suffixes: ['.ingest.monitor.azure.cn'], resource: 'https://monitor.azure.cn' },
    },
    path: /^\/dataCollectionRules\/[^/]+\/streams\//i,
  },
];

const servedBy = (entry: { hosts: string[]; suffixes?: string[] } | undefined, host: string) =>
  Boolean(entry && (entry.hosts.includes(host) || entry.suffixes?.some((s) => host.endsWith(s))));

/** The Graph service root of a cloud, e.g. `https://graph.microsoft.com` (without the version). */
export function graphRoot(cloud: MicrosoftCloud): string {
  return `https://${MICROSOFT_APIS[0].clouds[cloud]!.hosts[0]}`;
}

/**
 * The budget of one Microsoft API for one app in one tenant (the account), at the vendor's documented
 * limit:
 * - Graph identity and access reports — `auditLogs` (signIns, directoryAudits, provisioning): "5 requests
 *   per 10 seconds" per app per tenant (learn.microsoft.com/graph/throttling-limits, "Identity and access
 *   reports service limits").
 * - Graph security — alerts and incidents under `/security`: "150 requests per minute" per app per tenant
 *   (same page, "Security detections and incidents service limits").
 * - The rest of Graph the sources read (users and groups delta): identity and access, 3,500 resource units
 *   per 10 seconds per app and tenant for the smallest tenants, a GET on users costing 2 (same page,
 *   "Identity and access service limits"): 175 requests a second.
 * - Office 365 Management Activity API: a tenant-level quota, "initially allocated a baseline of 2,000
 *   requests per minute" (office-365-management-activity-api-reference, "API throttling").
 * Each bucket holds one request (burst 1): a fuller bucket would let a burst plus the steady rate into the
 * first window (5 + 5 audit-log requests in 10 s), which Graph answers with 429. The API is recognised by
 * host, or by path behind an unknown host (a proxy or simulator given as base URL). Token requests and the
 * SDK-served APIs (Storage, Event Hubs) have no budget here. Azure Resource Manager and Log Analytics: below.
 */
export function microsoftRateLimit(url: URL): { key: string; perSecond: number; burst: number } | undefined {
  const host = url.hostname.toLowerCase();
  const api =
    MICROSOFT_APIS.find((a) => Object.values(a.clouds).some((c) => c?.hosts.includes(host)))?.name ??
    MICROSOFT_APIS.find((a) => a.path.test(url.pathname))?.name;
  if (api === 'Microsoft Graph') {
    if (/^\/(v1\.0|beta)\/auditLogs(\/|$)/i.test(url.pathname))
      return { key: 'graph:identity-and-access-reports', perSecond: 5 / 10, burst: 1 };
    if (/^\/(v1\.0|beta)\/security(\/|$)/i.test(url.pathname))
      return { key: 'graph:security', perSecond: 150 / 60, burst: 1 };
    return { key: 'graph:identity-and-access', perSecond: 3500 / 10 / 2, burst: 1 };
  }
  if (api === 'Office 365 Management Activity API')
    return { key: 'office-365-management', perSecond: 2000 / 60, burst: 1 };
  // ARM: subscription reads, 12,000 an hour per principal at the documented default (the token-bucket
  // regional limits, 250 refilled at 25 a second, are higher): learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling.
  if (api === 'Azure Resource Manager') return { key: 'arm:reads', perSecond: 12_000 / 3600, burst: 1 };
  // Log Analytics Query API: "200 requests per 30 seconds per Microsoft Entra user or client IP address"
  // (learn.microsoft.com/azure/azure-monitor/fundamentals/service-limits, "Query API").
  if (api === 'Log Analytics') return { key: 'log-analytics:query', perSecond: 200 / 30, burst: 1 };
  return undefined;
}

/** The token resource for a request URL (see MICROSOFT_APIS), or a config error naming the host. */
export function resourceFor(url: URL, cloud: MicrosoftCloud): string {
  const host = url.hostname.toLowerCase();
  for (const api of MICROSOFT_APIS) {
    for (const [c, entry] of Object.entries(api.clouds)) {
      if (!servedBy(entry, host)) continue;
      if (c !== cloud && !servedBy(api.clouds[cloud], host)) {
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
    "Point the collector's base URL at a Microsoft Graph, Office 365 Management, Azure Resource Manager, Log Analytics or Logs Ingestion endpoint.",
  );
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

function parseKey(pem: string): KeyObject | undefined {
  try {
    return privateKey(pem, 'rsa');
  } catch {
    return undefined;
  }
}

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(unescapeNewlines(pem));
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
  .superRefine((a, ctx) => entraCredentialIssues(a, ctx));

/**
 * Checks the app's credential: a client secret, or a private key and the certificate that belongs to it
 * (shared with the account kinds that hold an Entra app of their own: azure-event-hubs).
 */
export function entraCredentialIssues(
  a: { clientSecret?: string; privateKey?: string; certificate?: string },
  ctx: z.RefinementCtx,
): void {
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
}

export type MicrosoftAccount = z.infer<typeof microsoftFields>;

export function tokenUrl(a: MicrosoftAccount): string {
  const host = (a.authorityHost ?? CLOUDS[a.cloud].login).replace(/\/+$/, '');
  return `${host}/${encodeURIComponent(a.tenantId)}/oauth2/v2.0/token`;
}

/** The signed client assertion (certificate-credentials page: PS256, `x5t#S256`, aud = token endpoint). */
export function clientAssertion(a: MicrosoftAccount, audience: string, now = Date.now()): Promise<string> {
  const cert = new X509Certificate(unescapeNewlines(a.certificate!));
  const t = Math.floor(now / 1000);
  const claims = {
    aud: audience,
    iss: a.clientId,
    sub: a.clientId,
    jti: newJti(),
    nbf: t,
    iat: t,
    exp: t + 600,
  };
  return signJwt(claims, privateKey(a.privateKey!, 'rsa'), {
    alg: 'PS256',
    header: { 'x5t#S256': x5tS256(cert.raw) },
  });
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
  return requestToken(http, {
    vendor: 'Microsoft Entra ID',
    tokenUrl: url,
    form: async () => {
      const form: Record<string, string> = {
        client_id: a.clientId,
        scope: `${resource}/.default`,
        grant_type: 'client_credentials',
      };
      if (a.clientSecret) form.client_secret = a.clientSecret;
      else {
        form.client_assertion_type = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
        form.client_assertion = await clientAssertion(a, url);
      }
      return form;
    },
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

/**
 * An access token of the account for `resource` (e.g. `https://storage.azure.com`), from the process-wide
 * cache shared with every collector using the account; `refresh` drops the cached one (after a 401).
 */
export function microsoftToken(
  http: HttpClient,
  a: MicrosoftAccount,
  resource: string,
  refresh = false,
): Promise<AccessToken> {
  const endpoint = tokenUrl(a);
  return tokenCache.entry(cacheKey(a, endpoint, resource), refresh, () =>
    fetchToken(http, a, endpoint, resource),
  );
}

export const microsoft = defineAccountKind<MicrosoftAccount>({
  id: 'microsoft',
  title: 'Microsoft (Entra ID app)',
  fields: microsoftFields as z.ZodType<MicrosoftAccount>,
  // The cloud's sign-in host and the hosts of the APIs it serves (MICROSOFT_APIS).
  origins: (a) => [
    a.authorityHost ?? CLOUDS[a.cloud].login,
    ...MICROSOFT_APIS.flatMap((api) => [
      ...(api.clouds[a.cloud]?.hosts ?? []).map((h) => `https://${h}`),
      ...(api.clouds[a.cloud]?.suffixes ?? []).map((s) => `https://*${s}`),
    ]),
  ],
  async authorize(a, headers, { refresh, http, url }) {
    const token = await microsoftToken(http, a, resourceFor(url, a.cloud ?? 'global'), refresh);
    headers.set('authorization', `Bearer ${token.token}`);
  },
  // No account-wide budget: each Microsoft API is budgeted at its own documented limit (below), shared by
  // every collector using the account. An account's `requestsPerMinute` still caps all of them together.
  endpointRateLimit: microsoftRateLimit,
});
