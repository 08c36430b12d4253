import { createHash } from 'node:crypto';
import { z } from 'zod';
import { configError, TributaryError, transientError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { egressAgents } from '../engine/egress-agents.ts';
import { type AccessToken, tokenCache, tokenKey } from '../engine/oauth.ts';

/**
 * The `aws` account kind, on the AWS SDK for JavaScript v3: credentials from
 * `@aws-sdk/credential-providers` (the account's access key; a role assumed with STS AssumeRole,
 * `fromTemporaryCredentials`; or, when no key is given and the host allows it, the SDK's default chain:
 * environment, SSO and shared config profiles, web identity (EKS IRSA), container and instance
 * metadata, `fromNodeProviderChain`), and every request signed with the SDK's Signature Version 4
 * signer (`@smithy/signature-v4`). Requests themselves still go through the engine's HttpClient, which
 * owns retries, rate-limit accounting, the vendor-write guard and the egress policy. Vendor facts:
 *
 * - Access key IDs are 16–128 characters (IAM API reference, AccessKey: "Length Constraints: Minimum
 *   length of 16. Maximum length of 128"); temporary credentials carry a session token sent as
 *   `X-Amz-Security-Token` (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 * - STS AssumeRole (docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): `RoleArn`,
 *   `RoleSessionName` (2–64 of `[\w+=,.@-]`), `DurationSeconds` "from 900 seconds (15 minutes) up to the
 *   maximum session duration set for the role … By default, the value is set to 3600 seconds",
 *   `ExternalId` (2–1224 of `[\w+=,.@:/-]`). Regional endpoints `sts.{region}.amazonaws.com`
 *   (`.amazonaws.com.cn` in China) (docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_region-endpoints.html).
 * - STS GetCallerIdentity (API_GetCallerIdentity.html) needs no permission ("No permissions are required
 *   to perform this operation"): Test Connection's proof of the credentials before the source's own
 *   read permission.
 * - Signing (Signature Version 4): S3 paths are encoded once, every other service's twice, and S3
 *   requires `x-amz-content-sha256` (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
 * - No per-credential request rate is documented across services (limits are per API and account),
 *   so the kind sets no rateLimit; 429/503 throttling answers are retried by the HTTP client.
 *
 * The region and service each request is signed for come from its host (`sqs.eu-west-1.amazonaws.com`,
 * `bucket.s3.us-east-1.amazonaws.com`, …; see `awsScopeOf`). A simulator, proxy or other endpoint whose
 * host does not say so is named in `endpoint`, with the `signingService` (and `signingRegion`) to use,
 * or per service in `endpoints`.
 *
 * The SDK's own calls (STS AssumeRole and GetCallerIdentity) connect through `egressAgents` (the egress
 * policy's DNS check; `HTTPS_PROXY`/`NO_PROXY` through Node's `proxyEnv`). The default chain's metadata
 * lookups (169.254.169.254, the container endpoint) are the host's own identity, which the egress policy
 * refuses to editors' URLs: so that chain is used only when the host's environment sets
 * `TRIBUTARY_AWS_HOST_CREDENTIALS=1` (an administrator's choice, not an editor's).
 */

/**
 * The SDK's modules, loaded when an aws account is first used: a process whose collectors use no AWS
 * account does not hold them (README, Performance). Node keeps each module once loaded.
 */
const stsSdk = () => import('@aws-sdk/client-sts');
const credentialProviders = () => import('@aws-sdk/credential-providers');
const signer = () => Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]);

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const ROLE_ARN = /^arn:aws(-cn|-us-gov|-iso[a-z-]*)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export interface AwsAccount {
  /** With secretAccessKey; both left out: the SDK's default chain (when the host allows it). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  roleArn?: string;
  externalId?: string;
  roleSessionName?: string;
  sessionDurationSeconds?: number;
  region: string;
  stsEndpoint?: string;
  endpoint?: string;
  signingService?: string;
  signingRegion?: string;
  /** Per service (its signing name: `s3`, `sqs`, …), another endpoint: a VPC endpoint or a simulator. */
  endpoints?: Record<string, string>;
}

const ROLE_ONLY = ['externalId', 'roleSessionName', 'sessionDurationSeconds'] as const;

export const awsFields = z
  .object({
    accessKeyId: z
      .string()
      .trim()
      .regex(
        /^[A-Z0-9]{16,128}$/,
        'expected an AWS access key ID: 16–128 capital letters and digits, such as AKIAIOSFODNN7EXAMPLE',
      )
      .optional()
      .meta({ title: 'Access key ID' })
      .describe(
        'Access key ID of the IAM user (AKIA…), or of temporary credentials (ASIA…) with a session token; leave it and the secret empty to use the host’s own AWS identity (instance or container role, EKS IRSA, SSO profile), if the host allows it',
      ),
    secretAccessKey: z
      .string()
      .trim()
      .min(1, 'required: the secret access key shown once when the access key was created')
      .optional()
      .meta({ ...SECRET, title: 'Secret access key' })
      .describe('Secret access key that belongs to the access key ID'),
    sessionToken: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ ...SECRET, title: 'Session token' })
      .describe('Only for temporary credentials (access key ID ASIA…): their session token'),
    roleArn: z
      .string()
      .trim()
      .regex(ROLE_ARN, 'expected an IAM role ARN such as arn:aws:iam::123456789012:role/TributaryReader')
      .optional()
      .meta({ title: 'Role to assume (ARN)' })
      .describe(
        'IAM role assumed with STS AssumeRole for every request (recommended, also across AWS accounts); leave empty to use the access key directly',
      ),
    externalId: z
      .string()
      .trim()
      .regex(
        /^[\w+=,.@:/-]{2,1224}$/,
        'expected 2–1224 letters, digits or +=,.@:/-_ as set in the role’s trust policy',
      )
      .optional()
      .meta({ title: 'External ID' })
      .describe('External ID required by the role’s trust policy (sts:ExternalId condition), if any'),
    roleSessionName: z
      .string()
      .trim()
      .regex(/^[\w+=,.@-]{2,64}$/, 'expected 2–64 letters, digits or +=,.@-_')
      .optional()
      .meta({ title: 'Role session name' })
      .describe('Session name shown in CloudTrail for the assumed role (default: tributary)'),
    sessionDurationSeconds: z
      .number()
      .int()
      .min(900, 'AWS allows 900 seconds (15 minutes) at least')
      .max(
        43200,
        'AWS allows 43200 seconds (12 hours) at most, and no more than the role’s maximum session duration',
      )
      .optional()
      .meta({ title: 'Session duration (seconds)' })
      .describe(
        'Lifetime of the assumed-role credentials, 900–43200 and within the role’s maximum (default 3600)',
      ),
    region: z
      .string()
      .trim()
      .regex(REGION, 'expected an AWS region code such as us-east-1 or eu-west-1')
      .default('us-east-1')
      .meta({ title: 'Default region' })
      .describe(
        'Region of the STS endpoint used to assume the role, and the default for endpoints that do not name one',
      ),
    stsEndpoint: serviceUrl()
      .optional()
      .meta({ title: 'STS endpoint override' })
      .meta(ORIGIN)
      .describe(
        'Another STS endpoint (AssumeRole and the Test Connection identity check), e.g. a VPC endpoint (default: https://sts.REGION.amazonaws.com)',
      ),
    endpoint: serviceUrl()
      .optional()
      .meta({ title: 'Endpoint override' })
      .meta(ORIGIN)
      .describe(
        'A non-AWS host name for the API (simulator, proxy, private endpoint without a region in its name); requests to it are signed for signingService and signingRegion',
      ),
    signingService: z
      .string()
      .trim()
      .regex(/^[a-z0-9-]+$/, 'expected an AWS signing name such as sqs, s3 or logs')
      .optional()
      .meta({ title: 'Signing service (with endpoint)' })
      .describe('The AWS service requests to the endpoint override are signed for, e.g. sqs or s3'),
    signingRegion: z
      .string()
      .trim()
      .regex(REGION, 'expected an AWS region code such as us-east-1 or eu-west-1')
      .optional()
      .meta({ title: 'Signing region (with endpoint)' })
      .describe('The region requests to the endpoint override are signed for (default: the default region)'),
    endpoints: z
      .record(
        z.string().regex(/^[a-z0-9-]+$/, 'expected an AWS signing name such as s3 or sqs'),
        serviceUrl(),
      )
      .optional()
      .meta({ title: 'Endpoint per service' })
      .describe(
        'Another endpoint per AWS service, by its signing name: {"s3": "https://bucket.vpce-….s3.eu-west-1.vpce.amazonaws.com", "sqs": "…"} (VPC endpoints, simulators); requests to it are signed for that service and signingRegion',
      ),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.accessKeyId && !a.secretAccessKey)
      ctx.addIssue({
        code: 'custom',
        path: ['secretAccessKey'],
        message:
          'required with accessKeyId: the secret access key shown once when the access key was created',
      });
    if (!a.accessKeyId && a.secretAccessKey)
      ctx.addIssue({
        code: 'custom',
        path: ['accessKeyId'],
        message: 'required with secretAccessKey: the access key ID it belongs to (AKIA… or ASIA…)',
      });
    if (!a.accessKeyId && a.sessionToken)
      ctx.addIssue({
        code: 'custom',
        path: ['sessionToken'],
        message: 'only used with accessKeyId and secretAccessKey (temporary credentials)',
      });
    if (!a.roleArn) {
      for (const f of ROLE_ONLY) {
        if (a[f] !== undefined)
          ctx.addIssue({ code: 'custom', path: [f], message: 'only used with roleArn (the role to assume)' });
      }
    }
    if (a.endpoint && !a.signingService)
      ctx.addIssue({
        code: 'custom',
        path: ['signingService'],
        message: 'required with endpoint: the AWS service requests to it are signed for, e.g. sqs',
      });
    if (!a.endpoint && a.signingService)
      ctx.addIssue({
        code: 'custom',
        path: ['signingService'],
        message: 'only used with endpoint (the endpoint override it applies to)',
      });
    if (!a.endpoint && !a.endpoints && a.signingRegion)
      ctx.addIssue({
        code: 'custom',
        path: ['signingRegion'],
        message: 'only used with endpoint or endpoints (the endpoint overrides it applies to)',
      });
    if (a.sessionToken && a.accessKeyId?.startsWith('AKIA'))
      ctx.addIssue({
        code: 'custom',
        path: ['sessionToken'],
        message:
          'a session token belongs to temporary credentials (ASIA…), not to a long-term access key (AKIA…)',
      });
  });

/** Credentials a request is signed with. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** STS temporary credentials: sent (and signed) as `x-amz-security-token`. */
  sessionToken?: string;
}

/** Where a request goes in AWS terms: the region and the service's signing name. */
export interface AwsScope {
  region: string;
  service: string;
}

/** Endpoint prefixes whose signing name differs. */
const SIGNING_NAME: Record<string, string> = { email: 'ses', queue: 'sqs' };
const GLOBAL: Record<string, AwsScope> = {
  'sts.amazonaws.com': { region: 'us-east-1', service: 'sts' },
  'iam.amazonaws.com': { region: 'us-east-1', service: 'iam' },
  'queue.amazonaws.com': { region: 'us-east-1', service: 'sqs' },
  's3.amazonaws.com': { region: 'us-east-1', service: 's3' },
  's3-external-1.amazonaws.com': { region: 'us-east-1', service: 's3' },
};

/**
 * The region and service of an AWS endpoint host, or undefined when the host is not one:
 * `sqs.eu-west-1.amazonaws.com`, `bucket.s3.us-east-1.amazonaws.com`, `s3.dualstack.eu-west-1.amazonaws.com`,
 * `s3-us-west-2.amazonaws.com` (legacy), `s3.amazonaws.com` and the other global endpoints (us-east-1),
 * `us-east-1.queue.amazonaws.com` (legacy SQS), `…fips…` variants, VPC interface endpoints
 * (`vpce-0a1b-c2d3.sqs.us-east-1.vpce.amazonaws.com`) and China (`…amazonaws.com.cn`)
 * (AWS General Reference, "Service endpoints").
 */
export function awsScopeOf(hostname: string): AwsScope | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (!/\.amazonaws\.com(\.cn)?$|\.api\.aws$/.test(host)) return undefined;
  if (GLOBAL[host]) return GLOBAL[host];
  // Virtual-hosted buckets on the global S3 endpoints.
  if (/\.s3(-external-1)?\.amazonaws\.com$/.test(host)) return { region: 'us-east-1', service: 's3' };
  const labels = host.split('.');
  for (let i = 0; i < labels.length; i++) {
    const legacy = /^s3-(?:fips-)?([a-z]{2}(?:-gov)?-[a-z]+-\d+)$/.exec(labels[i]!);
    if (legacy) return { region: legacy[1]!, service: 's3' };
    if (!REGION.test(labels[i]!)) continue;
    const region = labels[i]!;
    if (labels[i + 1] === 'queue') return { region, service: 'sqs' };
    let j = i - 1;
    while (j >= 0 && (labels[j] === 'dualstack' || labels[j] === 'fips')) j--;
    if (j < 0) return undefined;
    const prefix = labels[j]!.replace(/-fips$/, '');
    if (prefix === 's3' || prefix.startsWith('s3-')) return { region, service: 's3' };
    return { region, service: SIGNING_NAME[prefix] ?? prefix };
  }
  return undefined;
}

/** RFC 3986 percent-encoding (what SigV4 signs for S3 keys): only A–Z a–z 0–9 - _ . ~ stay as they are. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The STS endpoint used for AssumeRole and GetCallerIdentity. */
export function stsUrl(a: Pick<AwsAccount, 'region' | 'stsEndpoint'>): URL {
  const region = a.region ?? 'us-east-1';
  const base = a.stsEndpoint ?? `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
  return new URL(`${base.replace(/\/+$/, '')}/`);
}

/** The region and service a request to `url` is signed for. */
export function signingScope(a: AwsAccount, url: URL): AwsScope {
  if (a.endpoint && a.signingService && new URL(a.endpoint).origin === url.origin)
    return { region: a.signingRegion ?? a.region, service: a.signingService };
  for (const [service, endpoint] of Object.entries(a.endpoints ?? {})) {
    if (new URL(endpoint).origin === url.origin) return { region: a.signingRegion ?? a.region, service };
  }
  const scope = awsScopeOf(url.hostname);
  if (scope) return scope;
  throw configError(
    'aws_unknown_endpoint',
    `Cannot tell the AWS region and service to sign for from the host ${url.host}.`,
    "Use the service's regional AWS endpoint (e.g. https://sqs.eu-west-1.amazonaws.com), or set the account's endpoint to this URL with its signingService (and signingRegion).",
  );
}

/** Headers a proxy or the HTTP stack may add or rewrite: never signed. */
const UNSIGNED = new Set([
  'user-agent',
  'content-length',
  'connection',
  'expect',
  'transfer-encoding',
  'accept-encoding',
  'x-amzn-trace-id',
  'keep-alive',
  'te',
  'upgrade',
  'proxy-authorization',
]);
const SIGNED_OUT = ['authorization', 'x-amz-date', 'x-amz-security-token'] as const;

/**
 * Signs a request in place with the SDK's SigV4 signer: `authorization`, `x-amz-date`,
 * `x-amz-security-token` (temporary credentials) and, for S3, `x-amz-content-sha256`. `url` is the
 * wire form (its path percent-encoded once); every header present is signed but those in UNSIGNED.
 */
export async function signAwsRequest(o: {
  method: string;
  url: URL;
  headers: Headers;
  body?: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  date?: Date;
}): Promise<void> {
  const h = o.headers;
  for (const n of SIGNED_OUT) h.delete(n);
  if (o.service === 's3')
    h.set(
      'x-amz-content-sha256',
      createHash('sha256')
        .update(o.body ?? '')
        .digest('hex'),
    );
  const headers: Record<string, string> = { host: o.url.host };
  for (const [n, v] of h) if (!UNSIGNED.has(n)) headers[n] = v;
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of o.url.searchParams) {
    const had = query[k];
    query[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  const [{ SignatureV4 }, { Hash }] = await signer();
  const sigv4 = new SignatureV4({
    credentials: o.credentials,
    region: o.region,
    service: o.service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: o.service !== 's3', // S3 signs the path encoded once, other services twice
    applyChecksum: false,
  });
  const signed = await sigv4.sign(
    {
      method: o.method.toUpperCase(),
      protocol: o.url.protocol,
      hostname: o.url.hostname,
      port: o.url.port ? Number(o.url.port) : undefined,
      path: o.url.pathname || '/',
      query,
      headers,
      body: o.body,
    },
    { signingDate: o.date },
  );
  for (const n of SIGNED_OUT) {
    const v = signed.headers[n];
    if (v) h.set(n, v);
  }
}

/** The connections the SDK's own calls use: through the egress policy (and any proxy environment). */
let sdkAgents: ReturnType<typeof egressAgents> | undefined;
export function awsRequestHandler() {
  sdkAgents ??= egressAgents({ proxy: true });
  return {
    httpAgent: sdkAgents.http,
    httpsAgent: sdkAgents.https,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
  };
}

const HOST_CREDENTIALS_ENV = 'TRIBUTARY_AWS_HOST_CREDENTIALS';

async function hostCredentials(): Promise<() => Promise<AwsCredentials>> {
  if (process.env[HOST_CREDENTIALS_ENV] !== '1')
    throw configError(
      'aws_no_credentials',
      'The aws account has no access key, and this host does not lend its own AWS identity to accounts.',
      `Set the account's accessKeyId and secretAccessKey (with roleArn to assume a role), or have an administrator start Tributary with ${HOST_CREDENTIALS_ENV}=1 to use the host's identity (instance or container role, EKS IRSA, SSO profile).`,
    );
  const { fromNodeProviderChain } = await credentialProviders();
  return fromNodeProviderChain({ clientConfig: { requestHandler: awsRequestHandler() } });
}

/** The account's own credentials: its key, or the host's default chain. */
const baseCredentials = async (a: AwsAccount): Promise<AwsCredentials | (() => Promise<AwsCredentials>)> =>
  a.accessKeyId && a.secretAccessKey
    ? { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey, sessionToken: a.sessionToken }
    : hostCredentials();

/** An STS error's code and HTTP status, as the SDK reports them. */
function stsFailure(err: unknown): { code?: string; status?: number; message: string } {
  const e = err as {
    name?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e?.$metadata?.httpStatusCode;
  return {
    code: status ? (e.Code ?? e.name) : undefined,
    status,
    message: String(e?.message ?? err),
  };
}

function stsAction(code: string | undefined, a: AwsAccount): string {
  switch (code) {
    case 'InvalidClientTokenId':
    case 'SignatureDoesNotMatch':
    case 'IncompleteSignature':
      return "Check the account's accessKeyId and secretAccessKey: the key may be wrong, deleted or inactive (IAM → Users → Security credentials).";
    case 'ExpiredToken':
      return "The account's session token has expired: replace the temporary credentials, or use a long-term access key with roleArn.";
    case 'AccessDenied':
      return `The caller may not assume ${a.roleArn}: allow sts:AssumeRole on it in the IAM user's policy, make the role's trust policy trust that user (or its account)${a.externalId ? ', and check that externalId matches its sts:ExternalId condition' : ', and set externalId if the trust policy requires one'}.`;
    case 'RegionDisabledException':
      return `STS is not activated in ${a.region}: activate it (IAM → Account settings → STS endpoints) or set region or stsEndpoint to an active one.`;
    case 'ValidationError':
      return "Check roleArn, roleSessionName and sessionDurationSeconds (at most the role's maximum session duration).";
    default:
      return "Check the account's roleArn, externalId and access key; if they are right, report this with the logs.";
  }
}

/** STS's throttling answers (400): `Throttling` in practice, `ThrottlingException` in the API Reference's "Common Errors". */
const STS_THROTTLED = new Set(['Throttling', 'ThrottlingException']);

/** An STS failure as a Tributary error: refusals are config errors naming the fix, the rest transient. */
function stsError(
  err: unknown,
  a: AwsAccount,
  what: string,
  code = 'aws_assume_role_refused',
): TributaryError {
  if (err instanceof TributaryError) return err;
  const f = stsFailure(err);
  if (f.status && f.status < 500 && !STS_THROTTLED.has(f.code ?? ''))
    return configError(
      code,
      `AWS STS refused ${what} (${f.code ?? `HTTP ${f.status}`}): ${f.message.slice(0, 300).replace(/[.\s]+$/, '')}.`,
      stsAction(f.code, a),
      f.status,
    );
  return transientError(
    'aws_sts_unavailable',
    `AWS STS did not answer ${what}: ${f.message.slice(0, 200)}`,
    "Retried; if it persists, check the network path to the account's STS endpoint (stsEndpoint, proxy).",
  );
}

/**
 * The SDK's STS calls do not go through the engine's HttpClient (whose retries cover every data-plane
 * request, accounts/aws-sdk-http.ts), so they get one retry of their own: a throttled or failed credential
 * fetch is tried twice, then reported as a transient error (the collector's run is retried later).
 */
const stsClientConfig = (a: AwsAccount) => ({
  region: a.region ?? 'us-east-1',
  ...(a.stsEndpoint ? { endpoint: a.stsEndpoint } : {}),
  requestHandler: awsRequestHandler(),
  maxAttempts: 2,
});

/** STS AssumeRole with the account's own credentials (SDK `fromTemporaryCredentials`). */
export async function assumeRole(a: AwsAccount): Promise<AccessToken> {
  const { fromTemporaryCredentials } = await credentialProviders();
  const provider = fromTemporaryCredentials({
    masterCredentials: await baseCredentials(a),
    params: {
      RoleArn: a.roleArn,
      RoleSessionName: a.roleSessionName ?? 'tributary',
      DurationSeconds: a.sessionDurationSeconds ?? 3600,
      ...(a.externalId ? { ExternalId: a.externalId } : {}),
    },
    clientConfig: stsClientConfig(a),
  });
  try {
    const c = await provider();
    const creds: AwsCredentials = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
    };
    return { token: JSON.stringify(creds), expiresAt: c.expiration?.getTime() ?? Date.now() + 900_000 };
  } catch (err) {
    throw stsError(err, a, `to assume ${a.roleArn}`);
  }
}

/** The credentials requests are signed with: the account's own, the host's, or the role's (cached, shared). */
export async function awsCredentials(
  a: AwsAccount,
  _http?: HttpClient,
  refresh = false,
): Promise<AwsCredentials> {
  const key = tokenKey(
    'aws-credentials',
    stsUrl(a).toString(),
    a.accessKeyId ?? '(host)',
    a.secretAccessKey ?? '',
    a.sessionToken ?? '',
    a.roleArn ?? '',
    a.externalId ?? '',
    a.roleSessionName ?? '',
    String(a.sessionDurationSeconds ?? ''),
  );
  if (!a.roleArn) {
    const base = await baseCredentials(a);
    if (typeof base !== 'function') return base;
    return JSON.parse(
      await tokenCache.get(key, refresh, async () => {
        try {
          const c = await base();
          const creds = {
            accessKeyId: c.accessKeyId,
            secretAccessKey: c.secretAccessKey,
            sessionToken: c.sessionToken,
          };
          const expiration = (c as { expiration?: Date }).expiration;
          return { token: JSON.stringify(creds), expiresAt: expiration?.getTime() ?? Date.now() + 3600_000 };
        } catch (err) {
          throw configError(
            'aws_no_credentials',
            `The host's AWS credential chain found no credentials: ${String((err as Error)?.message ?? err).slice(0, 200)}`,
            "Give the host an identity (instance profile, task role, IRSA, AWS_PROFILE with SSO) or set the account's accessKeyId and secretAccessKey.",
          );
        }
      }),
    ) as AwsCredentials;
  }
  return JSON.parse(await tokenCache.get(key, refresh, () => assumeRole(a))) as AwsCredentials;
}

/**
 * STS GetCallerIdentity (needs no permission): Test Connection's proof that the credentials (and the
 * role, if any) work before the source's own read permission is tried. Returns the caller's ARN.
 */
export async function awsCallerIdentity(a: AwsAccount): Promise<string> {
  const { GetCallerIdentityCommand, STSClient } = await stsSdk();
  const sts = new STSClient({ ...stsClientConfig(a), credentials: () => awsCredentials(a) });
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    return out.Arn ?? '';
  } catch (err) {
    throw stsError(err, a, 'GetCallerIdentity', 'aws_invalid_credentials');
  }
  // Not destroyed: its request handler's agents are the process's shared ones (awsRequestHandler), and
  // destroying it would cut every STS call other accounts have in flight.
}

export const aws = defineAccountKind<AwsAccount>({
  // No key of its own: it would sign with the host's identity (an administrator's choice, see above).
  usesHostIdentity: (a) => !(a.accessKeyId && a.secretAccessKey),
  id: 'aws',
  title: 'Amazon Web Services (AWS)',
  fields: awsFields as unknown as z.ZodType<AwsAccount>,
  // Every AWS endpoint (regional, FIPS, dual-stack, China) is under these domains; others are named in the account.
  origins: (a) => [
    'https://*.amazonaws.com',
    'https://*.amazonaws.com.cn',
    'https://*.api.aws',
    ...[a.endpoint, a.stsEndpoint, ...Object.values(a.endpoints ?? {})].filter((u): u is string =>
      Boolean(u),
    ),
  ],
  // Temporary credentials that expired early (a revoked role session) are answered `ExpiredToken` (403
  // XML: S3, STS, SQS Query) or `ExpiredTokenException` (400 JSON): the role is assumed again once.
  credentialsExpired: ({ body }) =>
    /<Code>ExpiredToken<\/Code>|"__type"\s*:\s*"(?:[^"#]*#)?ExpiredToken(?:Exception)?"/.test(body),
  // CloudWatch Logs' FilterLogEvents: 5 transactions per second per account and region, not raisable
  // (AWS re:Post knowledge center, "How do I determine throttling in my CloudWatch logs?").
  endpointRateLimit(url) {
    const scope = awsScopeOf(url.hostname);
    return scope?.service === 'logs' ? { key: `logs:${scope.region}`, perSecond: 5, burst: 5 } : undefined;
  },
  async authorize(a, headers, { refresh, http, url, method, body }) {
    const scope = signingScope(a, url);
    // The role's credentials are renewed 5 minutes before they expire (engine/oauth.ts TokenCache);
    // a 401 drops them (AWS mostly answers 403 ExpiredToken, which renewal before expiry avoids).
    const credentials = await awsCredentials(a, http, refresh);
    await signAwsRequest({ method: method ?? 'GET', url, headers, body, ...scope, credentials });
  },
});
