import { setTimeout as delay } from 'node:timers/promises';

/** Sleeps `ms`, rejecting with an AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(Math.max(0, ms), undefined, { signal }) as Promise<void>;
}

/** Exponential backoff with full jitter: a random delay in [0, min(max, base·2^attempt)]. */
export function backoff(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}
