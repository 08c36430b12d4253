/**
 * Push vendors, simulated from the sender's side: how a vendor encodes a batch of its records into one
 * request (body format, compression, auth header) and what it does with our answer (delivered, sent
 * again, or dropped), as its documentation says. The push presets' simulators (src/sources/<id>/
 * simulator.ts) are instances, each citing its vendor; tests and the benchmark post through `pushBatch`.
 * Assumed (a test harness choice, no vendor): a retried batch is sent again at once, without waiting out
 * Retry-After. `basicAuth` is RFC 7617 §2 (`user:password`, base64).
 */

export type Outcome = 'delivered' | 'retry' | 'drop';

export interface PushVendor {
  id: string;
  /** `n` records as the vendor produces them, a pure function of (`seed`, index). */
  records(n: number, seed?: number): unknown[];
  /** One request for `records`, authenticated with the collector's ingest token. */
  request(records: unknown[], token: string): { body: Buffer; headers: Record<string, string> };
  /** What the vendor does with an answer of this status. */
  outcome(status: number): Outcome;
}

export interface PushResult {
  outcome: Outcome;
  /** Statuses of every attempt, in order. */
  statuses: number[];
}

/**
 * Sends one batch like the vendor would: again (at once: tests do not wait out Retry-After) while the
 * vendor would retry, up to `maxAttempts`; `beforeRetry` runs between attempts (e.g. to end an outage).
 */
export async function pushBatch(
  url: string,
  vendor: PushVendor,
  records: unknown[],
  token: string,
  o: { maxAttempts?: number; beforeRetry?: (attempt: number, status: number) => Promise<void> | void } = {},
): Promise<PushResult> {
  const { body, headers } = vendor.request(records, token);
  const statuses: number[] = [];
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, { method: 'POST', headers, body });
    await res.arrayBuffer();
    statuses.push(res.status);
    const outcome = vendor.outcome(res.status);
    if (outcome !== 'retry' || attempt >= (o.maxAttempts ?? 5)) return { outcome, statuses };
    await o.beforeRetry?.(attempt, res.status);
  }
}

/** `Authorization: Basic` with any user name and the token as password. */
export const basicAuth = (user: string, token: string) =>
  `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
