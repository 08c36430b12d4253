import { Readable } from 'node:stream';
import { configError } from '../core/errors.ts';
import type { HttpClient } from '../core/source.ts';

/**
 * The AWS SDK's clients (client-sqs, …) on the engine's HTTP client: the SDK builds and parses each call
 * (its serializers, its validation of answers such as MD5 checks); the request goes through `HttpClient`,
 * signed there by the `aws` account (its credentials, role renewal, `ExpiredToken` refresh and the check
 * that signed requests go only to the account's origins), which also owns retries with backoff, 429 and
 * `ThrottlingException` waits (the source's `rateLimited`) under the account's budget, the vendor-write
 * guard, the egress policy and proxy, and error classification. The SDK's own retries are off
 * (`maxAttempts: 1`), so no throttling is hidden from the engine's rate-limit accounting, and the
 * signature the SDK computed with placeholder credentials is dropped.
 */

interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** Headers the SDK sets that the engine sets itself: the account signs each attempt. */
const SDK_ONLY = new Set([
  'host',
  'content-length',
  'authorization',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

/**
 * What a call is: `'read'`, or the reason a call that changes vendor state is made (declared in the
 * source's `vendorWrites`); undefined for any other call, which is refused before it is sent.
 */
export type CallKind = (
  req: SdkRequest,
) => 'read' | { write: string } | { read: true; accept: number[] } | undefined;

/** The request handler an SDK client is given. */
export function engineRequestHandler(http: HttpClient, kind: CallKind) {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: SdkRequest) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(request.query ?? {}))
        for (const item of Array.isArray(v) ? v : [v])
          if (item !== null && item !== undefined) q.append(k, item);
      const query = q.toString().replace(/\+/g, '%20');
      const url = `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}${query ? `?${query}` : ''}`;
      const headers: Record<string, string> = {};
      for (const [name, v] of Object.entries(request.headers))
        if (!SDK_ONLY.has(name.toLowerCase())) headers[name] = v;
      const body =
        typeof request.body === 'string'
          ? request.body
          : request.body instanceof Uint8Array
            ? Buffer.from(request.body).toString('utf8')
            : undefined;
      const call = kind(request);
      if (!call)
        throw configError(
          'vendor_write_refused',
          `Tributary refused an undeclared AWS call (${request.method} ${request.path} ${request.headers['x-amz-target'] ?? ''}).`.replace(
            / \)/,
            ')',
          ),
          'This is a bug: report it with the logs. Collectors only make the calls their source declares.',
        );
      const res = await http.request({
        method: request.method as 'GET' | 'POST',
        url,
        headers,
        body,
        ...(call === 'read' || 'read' in call
          ? { readOnly: true, ...(call !== 'read' ? { accept: call.accept } : {}) }
          : { vendorWrite: call.write }),
      });
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        out[k] = v;
      });
      // Streamed as it arrives (an S3 object of a gigabyte is never held): the SDK collects small answers.
      const stream = res.body ? Readable.fromWeb(res.body as never) : Readable.from([]);
      return { response: { statusCode: res.status, reason: '', headers: out, body: stream } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

/** The SDK client settings every engine-backed client shares: region, no SDK retries, the engine's handler. */
export function sdkClientConfig(http: HttpClient, region: string, kind: CallKind) {
  return {
    region,
    maxAttempts: 1,
    // The SDK must sign, but its signature is dropped: the account signs each attempt (see above).
    credentials: { accessKeyId: 'SIGNED-BY-THE-ACCOUNT', secretAccessKey: 'unused' },
    requestHandler: engineRequestHandler(http, kind),
  };
}
