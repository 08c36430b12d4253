import type { DeliveryFailureRecord, IngestAnswerCount, RunRecord, VendorWaitRecord } from '../core/store.ts';

/**
 * Status and health of a collector (docs/control-plane.md). Status: stopped (disabled), error (its
 * last run failed), running. Health is the worst of:
 *
 * - runs: of the last 3 finished runs, OK when none failed, ERROR when all of them failed, WARNING
 *   otherwise. A run that failed because a destination did, or because the vendor asked for a long
 *   wait, is left to the two rules below, which know when that problem ended.
 * - deliveries: a destination that failed to acknowledge a delivery and has not acknowledged one since
 *   is a WARNING from its first failure (recorded while the runner still retries), and an ERROR once
 *   a run gave up on it, once it has lasted 15 minutes, or — push collectors — after 10 pushed
 *   requests in a row were answered 503 because of it. The next acknowledged delivery ends it.
 * - buffers: a destination whose buffer holds the collector's batches because the destination does not
 *   take them (docs/destinations.md, "Buffering") is a WARNING while it does: the events are safe on
 *   disk and the checkpoint moved, but they have not arrived. (A full buffer makes deliveries fail:
 *   the deliveries rule.)
 * - vendor: while the vendor told the account to wait (a Retry-After beyond what a run waits), WARNING.
 * - credential: expiring within 14 days, WARNING.
 * - push collectors, what their endpoint answered in the last hour: requests refused as malformed, too
 *   large or unsupported (400, 413, 415) or failing inside (500) are an ERROR — senders do not retry
 *   them, so their events are lost; over the rate (429), stopped or unable to record (503), or with a
 *   wrong token or signature (401), a WARNING. 503s for a failing destination are the deliveries rule's.
 *
 * `silent` when the last 4 hours brought at most a quarter of the collector's usual hourly volume (the
 * 7 days before), which catches a source that quietly stopped sending.
 */

export type Status = 'running' | 'stopped' | 'error';
export type HealthLevel = 'OK' | 'WARNING' | 'ERROR';

export interface Health {
  level: HealthLevel;
  silent: boolean;
  reasons: string[];
}

const HOUR = 3_600_000;
export const EXPIRY_WARNING_MS = 14 * 24 * HOUR;
/** A destination failing this long is an ERROR, even while runs (or senders) still retry. */
export const DELIVERY_ERROR_AFTER_MS = 15 * 60_000;
/** Push collectors: this many pushed requests in a row answered 503 for a destination is an ERROR. */
export const PUSH_ERROR_AFTER_FAILURES = 10;

const RANK: Record<HealthLevel, number> = { OK: 0, WARNING: 1, ERROR: 2 };
const worse = (a: HealthLevel, b: HealthLevel): HealthLevel => (RANK[b] > RANK[a] ? b : a);

export function collectorStatus(enabled: boolean, runs: RunRecord[]): Status {
  if (!enabled) return 'stopped';
  const last = runs.find((r) => r.status !== 'running');
  return last?.status === 'failed' ? 'error' : 'running';
}

/** A failed run whose cause another rule tracks (and clears when it ends). */
const explainedElsewhere = (r: RunRecord) =>
  r.status === 'failed' && Boolean(r.error?.destination || r.error?.waitUntil);

export function collectorHealth(o: {
  runs: RunRecord[];
  volume: Array<{ hour: string; count: number }>;
  now: number;
  accountExpiresAt?: string;
  /** The failing destinations the collector still delivers to. */
  deliveryFailures?: DeliveryFailureRecord[];
  /** A push collector: its failures are pushed requests answered 503. */
  push?: boolean;
  vendorWait?: VendorWaitRecord;
  /** A push collector's answers of the last hour (5-minute buckets). */
  ingestAnswers?: IngestAnswerCount[];
  /** Buffers of the collector's destinations that hold batches (docs/destinations.md, "Buffering"). */
  buffers?: Array<{
    destination: string;
    batches: number;
    events: number;
    oldestAt?: string;
    lastError?: { message: string };
  }>;
}): Health {
  const reasons: string[] = [];
  let level: HealthLevel = 'OK';
  const finished = o.runs
    .filter((r) => r.status === 'succeeded' || r.status === 'failed')
    .slice(0, 3)
    .filter((r) => !explainedElsewhere(r));
  const failed = finished.filter((r) => r.status === 'failed').length;
  if (failed > 0 && failed === finished.length) {
    level = 'ERROR';
    reasons.push(failed === 1 ? 'the last run failed' : `the last ${failed} runs failed`);
  } else if (failed > 0) {
    level = 'WARNING';
    reasons.push(`${failed} of the last ${finished.length} runs failed`);
  }
  // Not "the last runs succeeded": there are none yet.
  if (o.runs.length && o.runs.every((r) => r.status === 'running')) reasons.push('first run in progress');
  const retrying = o.runs[0]?.status === 'running';
  for (const f of o.deliveryFailures ?? []) {
    const lasting = o.now - Date.parse(f.since) >= DELIVERY_ERROR_AFTER_MS;
    const tooMany = Boolean(o.push) && f.failures >= PUSH_ERROR_AFTER_FAILURES;
    level = worse(level, f.gaveUpAt || lasting || tooMany ? 'ERROR' : 'WARNING');
    const what = o.push
      ? `${plural(f.failures, 'pushed request')} answered 503, senders retry`
      : [
          `${plural(f.failures, 'failed attempt')}`,
          ...(f.gaveUpAt ? [`the run gave up at ${f.gaveUpAt}`] : []),
          ...(retrying ? ['the run is retrying'] : []),
        ].join(', ');
    reasons.push(
      `deliveries to destination ${f.destination} are failing since ${f.since} (${what}): ${f.error.message}`,
    );
  }
  for (const b of o.buffers ?? []) {
    if (!b.batches || !b.lastError) continue; // draining normally: behind, not failing
    level = worse(level, 'WARNING');
    reasons.push(
      `destination ${b.destination} is not taking events; ${plural(b.events, 'event')} wait in its buffer${b.oldestAt ? ` since ${b.oldestAt}` : ''}: ${b.lastError.message}`,
    );
  }
  for (const r of refusalReasons(o.ingestAnswers ?? [])) {
    level = worse(level, r.level);
    reasons.push(r.reason);
  }
  if (o.vendorWait && Date.parse(o.vendorWait.until) > o.now) {
    level = worse(level, 'WARNING');
    reasons.push(`waiting for the vendor until ${o.vendorWait.until}: ${o.vendorWait.error.message}`);
  }
  if (o.accountExpiresAt) {
    const left = Date.parse(o.accountExpiresAt) - o.now;
    if (left < EXPIRY_WARNING_MS) {
      level = worse(level, 'WARNING');
      reasons.push(
        left <= 0
          ? `the account's credential expired at ${o.accountExpiresAt}`
          : `the account's credential expires at ${o.accountExpiresAt}`,
      );
    }
  }
  const silent = isSilent(o.volume, o.now);
  if (silent) reasons.push('volume dropped by 75 % or more over the last 4 hours against the usual rate');
  return { level, silent, reasons };
}

/**
 * Refusals a push collector's senders do not retry, so their events are lost: a malformed, too large or
 * unsupported body (400, 413, 415), an internal failure (500). Not a wrong token (401: anyone who knows
 * the collector's name can cause those), nor 429 and 503, which senders retry.
 */
const lost = (status: number) =>
  (status >= 400 && status < 500 && status !== 401 && status !== 429) || (status >= 500 && status !== 503);
/** 503s the deliveries rule reports (with the destination, since when, and its end). */
const DELIVERY_CODES = new Set(['destination_unavailable']);

/** One reason per refusal code answered in `answers` (the last hour's), worst first, then most frequent. */
export function refusalReasons(answers: IngestAnswerCount[]): Array<{ level: HealthLevel; reason: string }> {
  const byCode = new Map<string, { status: number; requests: number; lastAt: string; message?: string }>();
  for (const a of answers) {
    if (a.status < 400 || DELIVERY_CODES.has(a.code) || !a.requests) continue;
    const c = byCode.get(a.code);
    if (!c)
      byCode.set(a.code, { status: a.status, requests: a.requests, lastAt: a.lastAt, message: a.message });
    else {
      c.requests += a.requests;
      if (a.lastAt >= c.lastAt) Object.assign(c, { lastAt: a.lastAt, message: a.message, status: a.status });
    }
  }
  return [...byCode.entries()]
    .map(([code, c]) => ({
      level: (lost(c.status) ? 'ERROR' : 'WARNING') as HealthLevel,
      requests: c.requests,
      reason: `${plural(c.requests, 'pushed request')} answered ${c.status} ${code} in the last hour${
        lost(c.status) ? ' (senders do not retry these: their events are lost)' : ''
      }, the latest at ${c.lastAt}${c.message ? `: ${c.message}` : ''}`,
    }))
    .sort((a, b) => RANK[b.level] - RANK[a.level] || b.requests - a.requests)
    .map(({ level, reason }) => ({ level, reason }));
}

/** Usual rate: events per hour over the 7 days before the last 4 hours; needs a day of history. */
export function isSilent(volume: Array<{ hour: string; count: number }>, now: number): boolean {
  const recentFrom = now - 4 * HOUR;
  const baselineFrom = recentFrom - 7 * 24 * HOUR;
  let recent = 0;
  let baseline = 0;
  let first = Number.POSITIVE_INFINITY;
  for (const v of volume) {
    const t = Date.parse(v.hour);
    if (t >= recentFrom) recent += v.count;
    else if (t >= baselineFrom) {
      baseline += v.count;
      first = Math.min(first, t);
    }
  }
  if (!baseline || recentFrom - first < 24 * HOUR) return false;
  const usualPerHour = baseline / ((recentFrom - first) / HOUR);
  return recent / 4 <= usualPerHour * 0.25;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
