import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Destination } from '../../core/destination.ts';
import type { Envelope } from '../../core/envelope.ts';
import { configError, type TributaryError } from '../../core/errors.ts';
import { ndjson } from '../ndjson.ts';

/**
 * NDJSON on standard output (or any writable stream given), one envelope a line. A batch is one
 * `write`, so concurrent sends never interleave within a line. `send` resolves once the stream has
 * taken the bytes and, when it signalled backpressure, drained: a slow reader slows the collectors
 * instead of growing memory. What the reader does with the lines afterwards is outside our reach.
 *
 * A stream that failed (EPIPE: the reader went away) never recovers, so that is a config error: the
 * collector stops with a clear status instead of retrying forever.
 */
export class StdoutDestination implements Destination {
  readonly kind = 'stdout';
  readonly name: string;
  private readonly out: Writable;
  private failure: TributaryError | undefined;
  /** Kept attached while the destination lives: an unhandled 'error' on the stream would end the process. */
  private readonly onError = (err: Error) => {
    this.failure ??= this.broken(err);
  };

  constructor(name: string, out: Writable = process.stdout) {
    this.name = name;
    this.out = out;
    out.on('error', this.onError);
  }

  async send(events: Envelope[], signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const text = ndjson(events);
    if (!text) return;
    if (this.failure) throw this.failure;
    if (this.out.destroyed || this.out.writableEnded) throw this.broken(new Error('stream closed'));
    let needDrain = false;
    const written = new Promise<void>((ok, fail) => {
      needDrain = !this.out.write(text, (err) => (err ? fail(this.failure ?? this.broken(err)) : ok()));
    });
    // The callback says our chunk was handed on; a full buffer also waits for 'drain'. A cancelled
    // send stops waiting (its bytes may still go out: at-least-once allows that).
    await untilAborted(written, signal);
    if (needDrain && this.out.writableNeedDrain) await once(this.out, 'drain', { signal });
  }

  private broken(err: Error): TributaryError {
    const code = (err as NodeJS.ErrnoException).code ?? err.message;
    return configError(
      'destination_closed',
      `Destination ${this.name} cannot write to its output stream (${code}).`,
      `The reader of Tributary's standard output went away; restart Tributary with its output connected, or use another destination than ${this.name}.`,
    );
  }

  /** Leaves the stream open (it is usually the process's stdout) and stops listening to it. */
  async close(): Promise<void> {
    this.out.off('error', this.onError);
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((ok, fail) => {
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(ok, fail).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
