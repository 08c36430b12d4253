import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 (header-based), generic for any AWS service: the canonical request, the
 * string to sign, the derived signing key and the `Authorization` header, as AWS documents them
 * (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html) and as the
 * published SigV4 test suite checks them (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html;
 * the vectors are in sigv4.test.ts).
 *
 * Choices worth knowing:
 * - The request is given as a WHATWG `URL`, whose path is already percent-encoded once (the wire form).
 *   Each path segment is decoded and re-encoded with AWS's rules (RFC 3986 unreserved characters kept,
 *   upper-case hex), once for S3 and twice for every other service ("Each path segment must be
 *   URI-encoded twice (except for Amazon S3 which only gets URI-encoded once)"); non-S3 paths are also
 *   normalised (empty and dot segments removed). Sources must encode S3 object keys strictly
 *   (`encodeURIComponent`, plus `!'()*`) so the wire path is AWS's encoding.
 * - Query strings are decoded as `application/x-www-form-urlencoded` (a `+` is a space: that is what
 *   `URLSearchParams`, which builds every query in the engine, writes), then re-encoded and sorted.
 * - Every header present is signed except those a proxy or the HTTP stack may add or rewrite
 *   (`user-agent`, `content-length`, `accept-encoding`, …); `host` is always signed, from the URL.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** STS temporary credentials: sent (and signed) as `x-amz-security-token`. */
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  url: URL;
  /** The request's headers; `x-amz-date`, `authorization` and, as needed, `x-amz-security-token` and
   * `x-amz-content-sha256` are set on it. */
  headers: Headers;
  body?: string | Uint8Array;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** Signing time (default now). */
  date?: Date;
  /** Send `x-amz-content-sha256` (S3 requires it; default: only for service `s3`). */
  contentSha256?: boolean;
}

export interface Signed {
  authorization: string;
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
  amzDate: string;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Headers never signed: added or rewritten between us and AWS (HTTP stack, proxies, tracing). */
const UNSIGNED = new Set([
  'authorization',
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

export const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 percent-encoding: only A–Z a–z 0–9 - _ . ~ stay as they are; hex digits upper case. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray `%`: sign it as written
  }
};

/** `20150830T123600Z` */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The canonical URI: see the notes at the top of this file. */
export function canonicalUri(url: URL, service: string): string {
  const wire = url.pathname || '/';
  if (service === 's3') {
    return wire
      .split('/')
      .map((seg) => uriEncode(decode(seg)))
      .join('/');
  }
  const segments: string[] = [];
  for (const seg of wire.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = segments.length > 0 && wire.endsWith('/') ? '/' : '';
  return `/${segments.map((seg) => uriEncode(uriEncode(decode(seg)))).join('/')}${trailing}`;
}

/** The canonical query string: names and values decoded, re-encoded, sorted by name then value. */
export function canonicalQuery(url: URL): string {
  const pairs: Array<[string, string]> = [];
  for (const part of url.search.replace(/^\?/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    const form = (s: string) => uriEncode(decode(s.replace(/\+/g, '%20')));
    pairs.push([form(name), form(value)]);
  }
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/** Signs the request in place (see `SignInput.headers`) and returns the intermediate strings. */
export function signRequest(o: SignInput): Signed {
  const date = o.date ?? new Date();
  const stamp = amzDate(date);
  const day = stamp.slice(0, 8);
  const h = o.headers;
  h.delete('authorization');
  h.set('x-amz-date', stamp);
  if (o.credentials.sessionToken) h.set('x-amz-security-token', o.credentials.sessionToken);
  else h.delete('x-amz-security-token');
  const payloadHash = sha256Hex(o.body ?? '');
  if (o.contentSha256 ?? o.service === 's3') h.set('x-amz-content-sha256', payloadHash);

  const canonical = new Map<string, string>([['host', o.url.host]]);
  for (const [name, value] of h) {
    if (name === 'host' || UNSIGNED.has(name)) continue;
    canonical.set(name, value.trim().replace(/\s+/g, ' '));
  }
  const names = [...canonical.keys()].sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    o.method.toUpperCase(),
    canonicalUri(o.url, o.service),
    canonicalQuery(o.url),
    names.map((n) => `${n}:${canonical.get(n)}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${o.region}/${o.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256Hex(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', signingKey(o.credentials.secretAccessKey, day, o.region, o.service))
    .update(stringToSign)
    .digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${o.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  h.set('authorization', authorization);
  return { authorization, canonicalRequest, stringToSign, signedHeaders, signature, amzDate: stamp };
}

/** Where a request goes in AWS terms: the region and the service's signing name. */
export interface AwsScope {
  region: string;
  service: string;
}

const REGION = /^(?:[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d+)$/;
/** Endpoint prefixes whose signing name differs. */
const SIGNING_NAME: Record<string, string> = { email: 'ses', queue: 'sqs' };

/**
 * The region and service of an AWS endpoint host, or undefined when the host is not one:
 * `sqs.eu-west-1.amazonaws.com`, `bucket.s3.us-east-1.amazonaws.com`, `s3.dualstack.eu-west-1.amazonaws.com`,
 * `s3-us-west-2.amazonaws.com` (legacy), `s3.amazonaws.com` and the other global endpoints (us-east-1),
 * `us-east-1.queue.amazonaws.com` (legacy SQS), `…fips…` variants, VPC interface endpoints
 * (`vpce-0a1b-c2d3.sqs.us-east-1.vpce.amazonaws.com`) and China (`…amazonaws.com.cn`).
 */
export function awsScopeOf(hostname: string): AwsScope | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (!/\.amazonaws\.com(\.cn)?$|\.api\.aws$/.test(host)) return undefined;
  const labels = host.split('.');
  const global: Record<string, AwsScope> = {
    'sts.amazonaws.com': { region: 'us-east-1', service: 'sts' },
    'iam.amazonaws.com': { region: 'us-east-1', service: 'iam' },
    'queue.amazonaws.com': { region: 'us-east-1', service: 'sqs' },
    's3.amazonaws.com': { region: 'us-east-1', service: 's3' },
    's3-external-1.amazonaws.com': { region: 'us-east-1', service: 's3' },
  };
  if (global[host]) return global[host];
  // Virtual-hosted buckets on the global S3 endpoints.
  if (/\.s3(-external-1)?\.amazonaws\.com$/.test(host)) return { region: 'us-east-1', service: 's3' };
  for (let i = 0; i < labels.length; i++) {
    const legacy = /^s3-(?:fips-)?([a-z]{2}(?:-gov)?-[a-z]+-\d+)$/.exec(labels[i]);
    if (legacy) return { region: legacy[1], service: 's3' };
    if (!REGION.test(labels[i])) continue;
    const region = labels[i];
    if (labels[i + 1] === 'queue') return { region, service: 'sqs' };
    let j = i - 1;
    while (j >= 0 && (labels[j] === 'dualstack' || labels[j] === 'fips')) j--;
    if (j < 0) return undefined;
    const prefix = labels[j].replace(/-fips$/, '');
    if (prefix === 's3' || prefix.startsWith('s3-')) return { region, service: 's3' };
    return { region, service: SIGNING_NAME[prefix] ?? prefix };
  }
  return undefined;
}
