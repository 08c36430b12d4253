import type { RunRecord } from '../store/store.ts';

/**
 * Status and health of a collector, as the seed's troubleshooting model has them. Status: stopped
 * (disabled), error (its last run failed), running. Health from the last 3 finished runs: OK when
 * none failed, ERROR when all of them failed, WARNING otherwise; a credential expiring within 14 days
 * is a WARNING too. `silent` when the last 4 hours brought at most a quarter of the collector's usual
 * hourly volume (the 7 days before), which catches a source that quietly stopped sending.
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

export function collectorStatus(enabled: boolean, runs: RunRecord[]): Status {
  if (!enabled) return 'stopped';
  const last = runs.find((r) => r.status !== 'running');
  return last?.status === 'failed' ? 'error' : 'running';
}

export function collectorHealth(o: {
  runs: RunRecord[];
  volume: Array<{ hour: string; count: number }>;
  now: number;
  accountExpiresAt?: string;
}): Health {
  const reasons: string[] = [];
  const finished = o.runs.filter((r) => r.status === 'succeeded' || r.status === 'failed').slice(0, 3);
  const failed = finished.filter((r) => r.status === 'failed').length;
  let level: HealthLevel = 'OK';
  if (failed > 0 && failed === finished.length) {
    level = 'ERROR';
    reasons.push(failed === 1 ? 'the last run failed' : `the last ${failed} runs failed`);
  } else if (failed > 0) {
    level = 'WARNING';
    reasons.push(`${failed} of the last ${finished.length} runs failed`);
  }
  // Not "the last runs succeeded": there are none yet.
  if (o.runs.length && o.runs.every((r) => r.status === 'running')) reasons.push('first run in progress');
  if (o.accountExpiresAt) {
    const left = Date.parse(o.accountExpiresAt) - o.now;
    if (left < EXPIRY_WARNING_MS) {
      if (level === 'OK') level = 'WARNING';
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
