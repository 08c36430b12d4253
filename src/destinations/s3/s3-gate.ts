import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * A local S3 for tests and benchmarks: the `s3rver` npm package (a real S3 REST implementation that
 * stores objects on disk) behind a gate that checks what s3rver leaves out — Signature Version 4,
 * verified by re-signing each request with the AWS SDK's own signer (`@smithy/signature-v4`) and the
 * gate's secret — and that injects faults. AWS behaviour followed (S3 API reference):
 *
 * - SigV4 header auth (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html): an
 *   unknown access key is 403 `InvalidAccessKeyId`, a wrong signature 403 `SignatureDoesNotMatch`, a
 *   body whose SHA-256 differs from `x-amz-content-sha256` 400 `XAmzContentSHA256Mismatch`, a request
 *   dated more than 15 minutes away 403 `RequestTimeTooSkewed`.
 * - A key may be limited to a prefix (an IAM policy allowing s3:PutObject on `bucket/prefix*`): other
 *   keys get 403 `AccessDenied`.
 * - Faults: `failNext(n, status)` answers the next n requests with that status (503 `SlowDown`, 500
 *   `InternalError`) without storing; `failAfterStore(n)` stores the object and then answers 500, as
 *   a store that failed after receiving (the client must not take it as acknowledged).
 *
 * Assumed where the docs are silent: s3rver's own answers pass through unchanged.
 */

export interface S3GateOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  /** Buckets created at start. */
  buckets?: string[];
  /** Only keys starting with this may be written (else 403 AccessDenied). */
  allowedPrefix?: string;
}

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Buffer =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

/** The hash the signer needs (SHA-256, or HMAC-SHA256 with a secret), from node:crypto. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

export class S3Gate {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  private readonly o: S3GateOptions;
  private s3rver?: { run(): Promise<AddressInfo>; close(): Promise<void> };
  private server?: Server;
  private upstream = 0;
  private dir = '';
  private faults: { status: number; n: number } = { status: 0, n: 0 };
  private afterStore = 0;
  /** Signed requests seen, and PUTs that reached the store. */
  readonly stats = { requests: 0, puts: 0, refused: 0 };
  url = '';

  constructor(o: S3GateOptions = {}) {
    this.o = o;
    // s3rver knows the access key "S3RVER" only; the gate owns the real check and forwards as S3RVER.
    this.accessKeyId = o.accessKeyId ?? 'AKIATRIBUTARYTEST01';
    this.secretAccessKey = o.secretAccessKey ?? 'gate-secret-key/for+tests';
    this.region = o.region ?? 'us-east-1';
  }

  async start(): Promise<void> {
    const { default: S3rver } = (await import('s3rver')) as unknown as {
      default: new (o: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };
    };
    this.dir = mkdtempSync(join(tmpdir(), 'tributary-s3rver-'));
    this.s3rver = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: this.dir,
      configureBuckets: (this.o.buckets ?? []).map((name) => ({ name, configs: [] })),
    });
    this.upstream = (await this.s3rver.run()).port;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
    await this.s3rver?.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  failNext(n: number, status = 503): void {
    this.faults = { status, n };
  }

  failAfterStore(n: number): void {
    this.afterStore = n;
  }

  /** Credentials for an SDK client talking to s3rver directly (reading back what was stored). */
  get direct() {
    return {
      endpoint: `http://127.0.0.1:${this.upstream}`,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    this.stats.requests++;
    const refusal = await this.check(req, body);
    if (refusal) {
      this.stats.refused++;
      return xmlError(res, refusal.status, refusal.code, refusal.message);
    }
    if (this.faults.n > 0) {
      this.faults.n--;
      const s = this.faults.status;
      return xmlError(res, s, s === 503 ? 'SlowDown' : 'InternalError', 'injected fault');
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const headers = { ...req.headers };
    delete headers.authorization; // s3rver does not check SigV4; it is forwarded unsigned as S3RVER
    const out = await new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
      (ok, fail) => {
        const r = httpRequest(
          {
            host: '127.0.0.1',
            port: this.upstream,
            method: req.method,
            path: url.pathname + url.search,
            headers: {
              ...headers,
              host: `127.0.0.1:${this.upstream}`,
              'content-length': String(body.length),
            },
          },
          (up) => {
            const b: Buffer[] = [];
            up.on('data', (c) => b.push(c));
            up.on('end', () =>
              ok({ status: up.statusCode ?? 500, headers: up.headers, body: Buffer.concat(b) }),
            );
            up.on('error', fail);
          },
        );
        r.on('error', fail);
        r.end(body);
      },
    );
    if (req.method === 'PUT' && out.status === 200) {
      this.stats.puts++;
      if (this.afterStore > 0) {
        this.afterStore--;
        return xmlError(res, 500, 'InternalError', 'injected fault after storing');
      }
    }
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(out.headers))
      if (typeof v === 'string' && !['transfer-encoding', 'connection'].includes(k)) h[k] = v;
    h['content-length'] = String(out.body.length);
    res.writeHead(out.status, h);
    res.end(out.body);
  }

  /** The SigV4 check and the prefix policy; undefined when the request may pass. */
  private async check(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; code: string; message: string } | undefined> {
    const auth = req.headers.authorization ?? '';
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m) return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
    const [, keyId, , region, signedHeaders, signature] = m as unknown as string[];
    if (keyId !== this.accessKeyId)
      return {
        status: 403,
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
      };
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const dm = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(amzDate);
    if (!dm) return { status: 403, code: 'AccessDenied', message: 'missing x-amz-date' };
    const signingDate = new Date(Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!));
    if (Math.abs(Date.now() - signingDate.getTime()) > 15 * 60_000)
      return {
        status: 403,
        code: 'RequestTimeTooSkewed',
        message: 'The difference between the request time and the current time is too large.',
      };
    const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== createHash('sha256').update(body).digest('hex'))
      return {
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      };
    const url = new URL(req.url ?? '/', 'http://x');
    const headers: Record<string, string> = {};
    for (const name of signedHeaders!.split(';')) {
      const v = req.headers[name];
      headers[name] = Array.isArray(v) ? v.join(',') : String(v ?? '');
    }
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signer = new SignatureV4({
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
      region: region!,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false, // S3 signs the path as sent, encoded once
      applyChecksum: false,
    });
    const expected = await signer.sign(
      {
        method: req.method ?? 'GET',
        protocol: 'http:',
        hostname: String(req.headers.host ?? '').replace(/:\d+$/, ''),
        port: Number(String(req.headers.host ?? '').split(':')[1]) || undefined,
        path: url.pathname,
        query,
        headers,
      },
      { signingDate, signingRegion: region, signableHeaders: new Set(signedHeaders!.split(';')) },
    );
    const ok = String(expected.headers.authorization ?? expected.headers.Authorization ?? '').endsWith(
      `Signature=${signature}`,
    );
    if (!ok)
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided.',
      };
    if (region !== this.region)
      return {
        status: 400,
        code: 'AuthorizationHeaderMalformed',
        message: `the region '${region}' is wrong; expecting '${this.region}'`,
      };
    if (req.method === 'PUT' && this.o.allowedPrefix !== undefined) {
      const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
      if (!key.startsWith(this.o.allowedPrefix))
        return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
    }
    return undefined;
  }
}

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>gate</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
