import { gzipSync } from 'node:zlib';
import type { Destination } from '../../core/destination.ts';
import { type Envelope, encodeLine } from '../../core/envelope.ts';
import { configError, transientError } from '../../core/errors.ts';
import { retryAfterMs } from '../../engine/http.ts';
import { backoff, sleep } from '../../engine/sleep.ts';

export type HttpAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string };

export interface HttpDestinationOptions {
  url: string;
  format: 'ndjson' | 'json';
  gzip: boolean;
  auth?: HttpAuth;
  headers: Record<string, string>;
  timeout: number;
  maxBatchBytes: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * POSTs batches to an HTTP endpoint; only a 2xx acknowledges. Transient failures (network, 408, 429,
 * 5xx) are retried here with backoff, then reported as transient so the runner keeps retrying the same
 * batch: nothing is lost and the checkpoint does not move. Other 4xx are config errors.
 * Credentials never appear in errors or logs.
 */
export class HttpDestination implements Destination {
  readonly kind = 'http';
  readonly name: string;
  private readonly o: HttpDestinationOptions;

  constructor(name: string, o: HttpDestinationOptions) {
    this.name = name;
    this.o = o;
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<void> {
    for (const chunk of this.chunks(events)) await this.post(chunk, signal);
  }

  /** Splits a batch so no request body exceeds maxBatchBytes (a single larger event goes alone). */
  private *chunks(events: Envelope[]): Generator<string[]> {
    let lines: string[] = [];
    let size = 0;
    for (const e of events) {
      const line = encodeLine(e);
      if (lines.length && size + line.length + 1 > this.o.maxBatchBytes) {
        yield lines;
        lines = [];
        size = 0;
      }
      lines.push(line);
      size += line.length + 1;
    }
    if (lines.length) yield lines;
  }

  private body(lines: string[]): Buffer {
    const text = this.o.format === 'json' ? `[${lines.join(',')}]` : `${lines.join('\n')}\n`;
    return this.o.gzip ? gzipSync(text) : Buffer.from(text);
  }

  private headers(): Headers {
    const h = new Headers(this.o.headers);
    h.set('content-type', this.o.format === 'json' ? 'application/json' : 'application/x-ndjson');
    if (this.o.gzip) h.set('content-encoding', 'gzip');
    const a = this.o.auth;
    if (a?.type === 'bearer') h.set('authorization', `Bearer ${a.token}`);
    else if (a?.type === 'basic')
      h.set('authorization', `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`);
    else if (a?.type === 'header') h.set(a.name, a.value);
    return h;
  }

  private async post(lines: string[], signal: AbortSignal): Promise<void> {
    const body = this.body(lines);
    const where = new URL(this.o.url);
    const target = `${where.origin}${where.pathname}`;
    let detail = '';
    for (let attempt = 0; attempt < this.o.maxAttempts; attempt++) {
      signal.throwIfAborted();
      let wait: number | undefined;
      try {
        const res = await fetch(this.o.url, {
          method: 'POST',
          headers: this.headers(),
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeout)]),
        });
        await res.body?.cancel();
        if (res.ok) return;
        detail = `HTTP ${res.status}`;
        if (res.status !== 408 && res.status !== 429 && res.status < 500) {
          throw configError(
            'destination_rejected',
            `Destination ${this.name} refused the batch at ${target} (HTTP ${res.status}).`,
            `Check destination ${this.name}'s URL and credentials${res.status === 413 ? ', or lower maxBatchBytes' : ''}.`,
            res.status,
          );
        }
        wait = retryAfterMs(res.headers.get('retry-after'), Date.now());
      } catch (err) {
        if (signal.aborted || (err as { type?: string }).type === 'config') throw err;
        detail =
          (err as Error).name === 'TimeoutError' ? `no answer within ${this.o.timeout} ms` : 'network error';
      }
      if (attempt + 1 < this.o.maxAttempts)
        await sleep(wait ?? backoff(attempt, this.o.backoffBaseMs, this.o.backoffMaxMs), signal);
    }
    throw transientError(
      'destination_unavailable',
      `Destination ${this.name} is unavailable at ${target} (${detail}).`,
      `Check that destination ${this.name} is up and reachable; events wait and nothing is lost.`,
    );
  }

  async test(signal: AbortSignal): Promise<void> {
    await this.post([], signal).catch((err) => {
      throw err;
    });
  }

  async close(): Promise<void> {}
}
