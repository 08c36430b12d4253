import type { AttemptLimit, AttemptReservation, AttemptRow, AuditRecord } from '../core/store.ts';

export type { AttemptDecision, AttemptLimit, AttemptReservation, AttemptRow } from '../core/store.ts';

/**
 * The sign-in throttle both stores keep (docs/control-plane.md, "Sign-in throttling"): what one attempt
 * does to the counters of the keys it is counted against (a username, a client address), decided
 * inside the store's transaction so that every `serve` process sharing the store sees the same counts.
 */

/** The lockout after `failures` attempts: none below `free`, then base, 2×base, 4×base … up to cap. */
export const lockoutMs = (limit: AttemptLimit, failures: number): number =>
  failures < limit.free ? 0 : Math.min(limit.capMs, limit.baseMs * 2 ** Math.min(failures - limit.free, 40));

/**
 * One attempt against `limits`, given the current rows (missing: never counted) at `now`: refused while
 * any key is locked (nothing counted), else counted against every key, locking those that reached
 * their allowance. Returns the rows to write.
 */
export function decideAttempt(
  limits: AttemptLimit[],
  rows: ReadonlyMap<string, AttemptRow>,
  now: number,
):
  | { granted: false; retryAfterMs: number }
  | { granted: true; rows: AttemptRow[]; reservation: AttemptReservation } {
  let wait = 0;
  for (const l of limits) {
    const r = rows.get(l.key);
    if (r?.lockedUntil !== undefined && r.lockedUntil > now) wait = Math.max(wait, r.lockedUntil - now);
  }
  if (wait > 0) return { granted: false, retryAfterMs: wait };
  const next: AttemptRow[] = [];
  const reservation: AttemptReservation = { keys: [] };
  for (const l of limits) {
    const r = rows.get(l.key);
    const before = r && now - r.updatedAt <= l.forgetMs ? r.failures : 0;
    const failures = before + 1;
    const lock = lockoutMs(l, failures);
    const row: AttemptRow = { key: l.key, failures, updatedAt: now };
    if (lock > 0) row.lockedUntil = now + lock;
    next.push(row);
    reservation.keys.push(
      row.lockedUntil === undefined ? { key: l.key } : { key: l.key, lockedUntil: row.lockedUntil },
    );
  }
  return { granted: true, rows: next, reservation };
}

export const UNKNOWN_LOGIN_ACTION = 'user.login-failed-unknown';
/** The actor of entries no signed-in user caused; no username can be written this way. */
export const ANONYMOUS_ACTOR = '(anonymous)';

/** The audit entry of one address's failed sign-ins with unknown usernames in one window. */
export function unknownLoginAudit(
  address: string,
  count: number,
  firstAt: string,
  lastAt: string,
  at: string,
): Omit<AuditRecord, 'id'> {
  return {
    at,
    actor: ANONYMOUS_ACTOR,
    action: UNKNOWN_LOGIN_ACTION,
    targetType: 'user',
    ip: address,
    after: { attempts: count, firstAt, lastAt },
  };
}
