import type { IncomingHttpHeaders } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Signature Version 4 checking for the AWS simulators: a request's `Authorization` header is parsed,
 * and its signature recomputed from what arrived with the AWS SDK's own signer (`@smithy/signature-v4`),
 * not Tributary's. Follows "Create a signed AWS API request" (IAM User Guide): the credential scope
 * `<key>/<yyyymmdd>/<region>/<service>/aws4_request`, the signed headers, `X-Amz-Date`, a session token
 * in `X-Amz-Security-Token`; S3 signs the path encoded once, other services twice. AWS refuses requests
 * dated more than 15 minutes away ("Elements of an AWS API request signature": "the request is no
 * longer valid … 15 minutes").
 */

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | {
      ok: false;
      /** missing: no SigV4 header; unknown-key: the key (or its session token) is not known; expired: dated too far away. */
      reason: 'missing' | 'unknown-key' | 'expired' | 'mismatch';
    };

export interface SigV4Request {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer | string;
}

/** Checks a request's signature against the keys `secretOf` knows (a secret and, if temporary, its token). */
export async function checkSigV4(
  req: SigV4Request,
  secretOf: (accessKeyId: string) => { secretAccessKey: string; sessionToken?: string } | undefined,
): Promise<SigV4Result> {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      String(req.headers.authorization ?? ''),
    );
  if (!m) return { ok: false, reason: 'missing' };
  const [, accessKeyId, day, region, service, signedHeaders, signature] = m as unknown as string[];
  const key = secretOf(accessKeyId!);
  if (!key) return { ok: false, reason: 'unknown-key' };
  if (key.sessionToken && req.headers['x-amz-security-token'] !== key.sessionToken)
    return { ok: false, reason: 'unknown-key' };
  const stamp = String(req.headers['x-amz-date'] ?? '');
  const dm = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(stamp);
  if (!dm || !stamp.startsWith(day!)) return { ok: false, reason: 'mismatch' };
  const signingDate = new Date(Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!));
  if (Math.abs(Date.now() - signingDate.getTime()) > 15 * 60_000) return { ok: false, reason: 'expired' };
  const url = new URL(req.url, 'http://x');
  const names = signedHeaders!.split(';');
  const headers: Record<string, string> = {};
  for (const name of names) {
    const v = req.headers[name];
    if (v === undefined) return { ok: false, reason: 'mismatch' };
    headers[name] = Array.isArray(v) ? v.join(',') : String(v);
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const had = query[k];
    query[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: accessKeyId!,
      secretAccessKey: key.secretAccessKey,
      sessionToken: key.sessionToken,
    },
    region: region!,
    service: service!,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: service !== 's3',
    applyChecksum: false,
  });
  const host = String(req.headers.host ?? '');
  const body =
    typeof req.body === 'string' ? req.body : req.body.length ? req.body.toString('utf8') : undefined;
  const expected = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      port: Number(host.split(':')[1]) || undefined,
      path: url.pathname,
      query,
      headers,
      body: body || undefined,
    },
    { signingDate, signingRegion: region, signableHeaders: new Set(names) },
  );
  const auth = String(expected.headers.authorization ?? '');
  if (!auth.endsWith(`Signature=${signature}`) || !auth.includes(`SignedHeaders=${signedHeaders},`))
    return { ok: false, reason: 'mismatch' };
  return { ok: true, accessKeyId: accessKeyId!, region: region!, service: service! };
}
