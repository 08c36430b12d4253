import { z } from 'zod';
import { configError, transientError } from '../core/errors.ts';
import { ORIGIN, SECRET } from '../core/secret-spec.ts';
import { defineAccountKind, type HttpClient } from '../core/source.ts';
import { serviceUrl } from '../core/validation.ts';
import { type AccessToken, tokenCache, tokenKey } from '../engine/oauth.ts';
import { type AwsCredentials, type AwsScope, awsScopeOf, signRequest } from '../engine/sigv4.ts';

/**
 * The `aws` account kind: an IAM user's access key (optionally with a session token), optionally
 * assuming a role with STS, signing every request with Signature Version 4 (engine/sigv4.ts). Vendor
 * facts this follows:
 *
 * - Access key IDs are 16–128 characters (IAM API reference, AccessKey: "Length Constraints: Minimum
 *   length of 16. Maximum length of 128"); temporary credentials carry a session token sent as
 *   `X-Amz-Security-Token` (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 * - STS AssumeRole (docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): Query API,
 *   `Action=AssumeRole&Version=2011-06-15`, `RoleArn`, `RoleSessionName` (2–64 of `[\w+=,.@-]`),
 *   `DurationSeconds` "from 900 seconds (15 minutes) up to the maximum session duration set for the
 *   role … By default, the value is set to 3600 seconds", `ExternalId` (2–1224 of `[\w+=,.@:/-]`); the
 *   answer's `Credentials` hold `AccessKeyId`, `SecretAccessKey`, `SessionToken` and `Expiration`.
 *   Regional endpoints `sts.{region}.amazonaws.com` (`.amazonaws.com.cn` in China)
 *   (docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_region-endpoints.html).
 * - S3 requires `x-amz-content-sha256` on SigV4 requests
 *   (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
 * - No per-credential request rate is documented across services (limits are per API and account),
 *   so the kind sets no rateLimit; 429/503 throttling answers are retried by the HTTP client.
 *
 * The region and service each request is signed for come from its host (`sqs.eu-west-1.amazonaws.com`,
 * `bucket.s3.us-east-1.amazonaws.com`, …; see `awsScopeOf`). A simulator, proxy or other endpoint whose
 * host does not say so is named in `endpoint`, with the `signingService` (and `signingRegion`) to use.
 */

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
const ROLE_ARN = /^arn:aws(-cn|-us-gov|-iso[a-z-]*)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export interface AwsAccount {
  accessKeyId: string;
  secretAccessKey: string;
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

const ROLE_ONLY = ['externalId', 'roleSessionName', 'sessionDurationSeconds', 'stsEndpoint'] as const;

export const awsFields = z
  .object({
    accessKeyId: z
      .string()
      .trim()
      .regex(
        /^[A-Z0-9]{16,128}$/,
        'expected an AWS access key ID: 16–128 capital letters and digits, such as AKIAIOSFODNN7EXAMPLE',
      )
      .meta({ title: 'Access key ID' })
      .describe(
        'Access key ID of the IAM user (AKIA…), or of temporary credentials (ASIA…) with a session token',
      ),
    secretAccessKey: z
      .string()
      .trim()
      .min(1, 'required: the secret access key shown once when the access key was created')
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
      .describe('Another STS endpoint, e.g. a VPC endpoint (default: https://sts.REGION.amazonaws.com)'),
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
    if (a.sessionToken && a.accessKeyId.startsWith('AKIA'))
      ctx.addIssue({
        code: 'custom',
        path: ['sessionToken'],
        message:
          'a session token belongs to temporary credentials (ASIA…), not to a long-term access key (AKIA…)',
      });
  });

const baseCredentials = (a: AwsAccount): AwsCredentials => ({
  accessKeyId: a.accessKeyId,
  secretAccessKey: a.secretAccessKey,
  sessionToken: a.sessionToken,
});

/** The STS endpoint used for AssumeRole. */
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

const xmlText = (xml: string, tag: string): string | undefined => {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m?.[1]
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
};

function assumeRoleAction(code: string | undefined, a: AwsAccount): string {
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

/**
 * STS AssumeRole with the account's own credentials: the role's temporary credentials, whose lifetime is
 * measured against the server's `Date` so a skewed local clock cannot keep expired credentials in use.
 */
export async function assumeRole(http: HttpClient, a: AwsAccount): Promise<AccessToken> {
  const started = Date.now();
  const url = stsUrl(a);
  const form: Record<string, string> = {
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: a.roleArn ?? '',
    RoleSessionName: a.roleSessionName ?? 'tributary',
    DurationSeconds: String(a.sessionDurationSeconds ?? 3600),
  };
  if (a.externalId) form.ExternalId = a.externalId;
  const body = new URLSearchParams(form).toString();
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
  const scope = awsScopeOf(url.hostname) ?? { region: a.region, service: 'sts' };
  signRequest({
    method: 'POST',
    url,
    headers,
    body,
    region: scope.region,
    service: 'sts',
    credentials: baseCredentials(a),
  });
  const res = await http.request({
    method: 'POST',
    url: url.toString(),
    readOnly: true, // issues temporary credentials; changes nothing
    noAuth: true,
    headers: Object.fromEntries(headers),
    body,
    accept: [400, 403],
  });
  const xml = await res.text();
  if (res.status >= 400) {
    const code = xmlText(xml, 'Code');
    const message = xmlText(xml, 'Message');
    const said = message ? `: ${message.slice(0, 300).replace(/[.\s]+$/, '')}` : '';
    throw configError(
      'aws_assume_role_refused',
      `AWS STS refused to assume ${a.roleArn} (${code ?? `HTTP ${res.status}`})${said}.`,
      assumeRoleAction(code, a),
      res.status,
    );
  }
  const creds = {
    accessKeyId: xmlText(xml, 'AccessKeyId'),
    secretAccessKey: xmlText(xml, 'SecretAccessKey'),
    sessionToken: xmlText(xml, 'SessionToken'),
  };
  const expiration = Date.parse(xmlText(xml, 'Expiration') ?? '');
  if (!creds.accessKeyId || !creds.secretAccessKey || !creds.sessionToken || !Number.isFinite(expiration)) {
    throw transientError(
      'aws_bad_assume_role_response',
      `AWS STS answered ${res.status} to AssumeRole without credentials.`,
      "Retry; if it persists, check the account's stsEndpoint points at AWS STS.",
    );
  }
  const serverNow = Date.parse(res.headers.get('date') ?? '');
  const ttl = expiration - (Number.isFinite(serverNow) ? serverNow : started);
  return { token: JSON.stringify(creds), expiresAt: started + Math.max(0, ttl) };
}

/** The credentials requests are signed with: the account's own, or the role's (cached, shared). */
export async function awsCredentials(
  a: AwsAccount,
  http: HttpClient,
  refresh = false,
): Promise<AwsCredentials> {
  if (!a.roleArn) return baseCredentials(a);
  const key = tokenKey(
    'aws-assume-role',
    stsUrl(a).toString(),
    a.accessKeyId,
    a.secretAccessKey,
    a.sessionToken ?? '',
    a.roleArn,
    a.externalId ?? '',
    a.roleSessionName ?? '',
    String(a.sessionDurationSeconds ?? ''),
  );
  return JSON.parse(await tokenCache.get(key, refresh, () => assumeRole(http, a))) as AwsCredentials;
}

export const aws = defineAccountKind<AwsAccount>({
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
  async authorize(a, headers, { refresh, http, url, method, body }) {
    const scope = signingScope(a, url);
    // The role's credentials are renewed 5 minutes before they expire (engine/oauth.ts TokenCache);
    // a 401 drops them (AWS mostly answers 403 ExpiredToken, which renewal before expiry avoids).
    const credentials = await awsCredentials(a, http, refresh);
    signRequest({ method: method ?? 'GET', url, headers, body, ...scope, credentials });
  },
});
