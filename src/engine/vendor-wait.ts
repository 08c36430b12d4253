import { TributaryError } from '../core/errors.ts';
import type { Store, VendorWaitRecord } from '../core/store.ts';

/**
 * Vendor waits (docs/architecture.md, "Waiting for the vendor"): a vendor that answers with a
 * Retry-After longer than a run waits (the HTTP client's maxRetryAfterMs) ends the run, and the wait
 * is stored for the collector's account, the key of its rate-limit bucket. Until then no run of any
 * collector of that account starts: the schedulers (embedded and cluster) hold them back, Run now
 * answers 409, and a run started anyway (`run --once`, a job queued before the wait) refuses before
 * its first request.
 */

/** The account's wait, if it lasts beyond `now`. */
export async function activeVendorWait(
  store: Store,
  accountId: string,
  now: number,
): Promise<VendorWaitRecord | undefined> {
  const w = await store.getVendorWait(accountId);
  return w && Date.parse(w.until) > now ? w : undefined;
}

/** What a run that may not start yet fails with (before it records anything). */
export function vendorWaitError(collector: string, w: VendorWaitRecord): TributaryError {
  return new TributaryError({
    type: 'transient',
    code: 'vendor_wait',
    message: `Collector ${collector} is waiting for the vendor until ${w.until}: ${w.error.message}`,
    action: `None needed: its runs start again at ${w.until}. Running it earlier would only be refused by the vendor again.`,
    waitUntil: w.until,
  });
}

export const isVendorWait = (err: unknown): boolean =>
  err instanceof TributaryError && err.code === 'vendor_wait';
