/**
 * Every failure a user can see is a TributaryError: a type that decides what the runtime does with it,
 * a stable code, a message without secrets, and a recommended action (docs/architecture.md, "The run", Errors).
 *
 * - config:    credentials, permissions or settings are wrong; retrying will not help. The collector stops
 *              with status `error` until someone acts.
 * - transient: network, 5xx, 429, destination down; retried with backoff, reported if it persists.
 * - data:      one record is bad; it goes to the dead-letter store, the run continues.
 * - gap:       events were (or may have been) skipped, e.g. the checkpoint is older than the vendor's
 *              retention; a warning, the run continues.
 */
export type ErrorType = 'config' | 'transient' | 'data' | 'gap';

export interface ErrorInfo {
  type: ErrorType;
  code: string;
  message: string;
  action: string;
  /** HTTP status from the vendor or destination, when there was one. */
  status?: number;
  /** Seconds the vendor asked us to wait (Retry-After). */
  retryAfter?: number;
  /** The destination a delivery failure is about (health names it; a run it ended is not a vendor fault). */
  destination?: string;
  /**
   * The vendor asked for a pause longer than a run waits (Retry-After, see docs/architecture.md): every
   * run of the account's collectors waits until this time (ISO).
   */
  waitUntil?: string;
}

export class TributaryError extends Error {
  readonly type: ErrorType;
  readonly code: string;
  readonly action: string;
  readonly status?: number;
  readonly retryAfter?: number;
  readonly destination?: string;
  readonly waitUntil?: string;

  constructor(info: ErrorInfo, options?: { cause?: unknown }) {
    super(info.message, options);
    this.name = 'TributaryError';
    this.type = info.type;
    this.code = info.code;
    this.action = info.action;
    this.status = info.status;
    this.retryAfter = info.retryAfter;
    this.destination = info.destination;
    this.waitUntil = info.waitUntil;
  }

  toJSON(): ErrorInfo {
    const out: ErrorInfo = { type: this.type, code: this.code, message: this.message, action: this.action };
    if (this.status !== undefined) out.status = this.status;
    if (this.destination !== undefined) out.destination = this.destination;
    if (this.waitUntil !== undefined) out.waitUntil = this.waitUntil;
    return out;
  }

  /** The same error with more facts (the destination it came from, a vendor wait), caused by this one. */
  with(extra: Pick<ErrorInfo, 'destination' | 'waitUntil'>): TributaryError {
    return new TributaryError(
      {
        type: this.type,
        code: this.code,
        message: this.message,
        action: this.action,
        status: this.status,
        retryAfter: this.retryAfter,
        destination: this.destination,
        waitUntil: this.waitUntil,
        ...extra,
      },
      { cause: this },
    );
  }
}

export const configError = (code: string, message: string, action: string, status?: number) =>
  new TributaryError({ type: 'config', code, message, action, status });

export const transientError = (code: string, message: string, action: string, extra?: Partial<ErrorInfo>) =>
  new TributaryError({ type: 'transient', code, message, action, ...extra });

export const dataError = (
  code: string,
  message: string,
  action = 'Inspect the record in the dead-letter store.',
) => new TributaryError({ type: 'data', code, message, action });

export const gapWarning = (code: string, message: string, action: string) =>
  new TributaryError({ type: 'gap', code, message, action });

/** Anything thrown that is not a TributaryError becomes a transient internal error with a safe message. */
export function toTributaryError(err: unknown): TributaryError {
  if (err instanceof TributaryError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return transientError('aborted', 'The operation was cancelled.', 'None: the run was stopped.');
  }
  const message = err instanceof Error ? err.message : String(err);
  return transientError(
    'internal',
    `Internal error: ${message}`,
    'Retry; if it persists, report it with the logs.',
  );
}
