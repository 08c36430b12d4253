import type { Destination } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { TributaryError } from '../../core/errors.ts';
import { chunk, type DeliveryOptions, encodeBody, HttpDelivery, utf8Bytes } from '../http-delivery.ts';
import { envelopeLine } from '../ndjson.ts';

export { destinationUrlProblem } from '../http-delivery.ts';

export type HttpAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

export interface HttpDestinationOptions extends DeliveryOptions {
  url: string;
  format: 'ndjson' | 'json';
  gzip: boolean;
  auth?: HttpAuth;
  /** Sent with every request; they may override content-type, never the auth or content-encoding. */
  headers: Record<string, string>;
  /** Uncompressed body size above which a batch is split into several requests. */
  maxBatchBytes: number;
  /** Events per request above which a batch is split. */
  maxBatchEvents?: number;
  /** The kind reported (kinds built on this one, e.g. exabeam); default http. */
  kind?: string;
  /** One event as its line; default the envelope (`envelopeLine`). */
  encode?: (e: Envelope) => string;
}

/**
 * POSTs batches to an HTTP endpoint as NDJSON or a JSON array; only a 2xx acknowledges. Retries,
 * backoff, Retry-After and the refusal of redirects are the shared delivery's (http-delivery.ts).
 *
 * - A batch above `maxBatchBytes` (or `maxBatchEvents`) is sent as several requests, in order; a
 *   single larger event goes alone. If a later request fails, `send` rejects and the runtime re-sends
 *   the whole batch: the earlier requests' events arrive twice, with the same ids (at-least-once).
 * - 408, 429 and 5xx are retried; any other non-2xx is a config error `destination_rejected`. The
 *   answer's body is never shown: endpoints sometimes echo the request, credentials included.
 */
export class HttpDestination implements Destination {
  readonly kind: string;
  readonly name: string;
  private readonly o: HttpDestinationOptions;
  private readonly delivery: HttpDelivery;
  private readonly requestHeaders: Headers;

  constructor(name: string, options: HttpDestinationOptions) {
    this.name = name;
    this.kind = options.kind ?? 'http';
    this.o = options;
    this.delivery = new HttpDelivery(name, options.url, { maxResponseBytes: 64 * 1024, ...options });
    this.requestHeaders = this.buildHeaders();
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<void> {
    const lines = events.map(this.o.encode ?? envelopeLine);
    const { chunks } = chunk(lines, utf8Bytes, {
      maxBytes: this.o.maxBatchBytes,
      maxItems: this.o.maxBatchEvents ?? Number.MAX_SAFE_INTEGER,
      framing: this.o.format === 'json' ? 2 : 1, // '[' and ']'; NDJSON: the last line's '\n'
      separator: 1, // '\n' or ','
    });
    for (const c of chunks) await this.post(c, signal); // in order, as documented
  }

  private async body(lines: string[]): Promise<Buffer> {
    const text = this.o.format === 'json' ? `[${lines.join(',')}]` : lines.map((l) => `${l}\n`).join('');
    return encodeBody(text, this.o.gzip);
  }

  /** Built once, at construction: a header the HTTP client refuses fails there, not as an outage. */
  private buildHeaders(): Headers {
    const h = new Headers({
      'content-type': this.o.format === 'json' ? 'application/json' : 'application/x-ndjson',
      ...this.o.headers,
    });
    if (this.o.gzip) h.set('content-encoding', 'gzip');
    else h.delete('content-encoding');
    const a = this.o.auth;
    if (a?.type === 'bearer') h.set('authorization', `Bearer ${a.token}`);
    else if (a?.type === 'basic')
      h.set('authorization', `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`);
    else if (a?.type === 'header') h.set(a.name, a.value);
    return h;
  }

  private async post(lines: string[], signal: AbortSignal): Promise<void> {
    const body = await this.body(lines);
    await this.delivery.exchange(
      () => ({ url: this.o.url, headers: this.requestHeaders, body }),
      (a) =>
        this.delivery.statusVerdict(a, {
          actions: {
            401: `Check the credentials (auth) of destination ${this.name}.`,
            403: `Check the credentials (auth) of destination ${this.name}.`,
            400: `Check the url, format and headers of destination ${this.name}.`,
          },
        }),
      signal,
    );
  }

  /**
   * Test Connection: POSTs an empty batch once. A 2xx passes; 401/403/404 and redirects fail as config
   * errors; other 4xx pass, since the endpoint answered and accepted the credentials but may refuse
   * an empty body (Splunk HEC answers 400 "No data"). Network errors and 5xx fail as transient.
   */
  async test(signal: AbortSignal): Promise<void> {
    const body = await this.body([]);
    const once = new HttpDelivery(this.name, this.o.url, { ...this.o, maxAttempts: 1 });
    try {
      await once.exchange(
        () => ({ url: this.o.url, headers: this.requestHeaders, body }),
        (a) =>
          once.statusVerdict(a, {
            actions: {
              401: `Check the credentials (auth) of destination ${this.name}.`,
              403: `Check the credentials (auth) of destination ${this.name}.`,
            },
          }),
        signal,
      );
    } catch (err) {
      const status = err instanceof TributaryError ? err.status : undefined;
      if (status !== undefined && status >= 400 && status < 500 && ![401, 403, 404].includes(status)) return;
      throw err;
    }
  }

  async close(): Promise<void> {}
}
