/**
 * Account lockout, as MIT's lockout.c (kadm5 policy pw_max_fail,
 * pw_failcnt_interval, pw_lockout_duration), as pure functions over the
 * bookkeeping fields of a principal record:
 * - a failure older than `failureWindow` seconds restarts the count (window 0:
 *   failures never expire);
 * - `maxFailures` failures lock the principal for `lockoutDuration` seconds
 *   (duration 0: until an administrator unlocks it);
 * - failures while locked are not counted (the KDC refuses before checking
 *   the password); a lockout that has run out clears the count;
 * - a success clears the count.
 */
import type { LockoutPolicy, PrincipalRecord } from './types.js';

/** Stands for "until unlocked by an administrator" (MIT: lockout_duration 0). */
export const LOCKED_FOREVER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

export type LockoutFields = Pick<PrincipalRecord, 'failCount' | 'lastFailure' | 'lastSuccess' | 'lockedUntil'>;

/** True while the principal is locked out at `now` (the KDC answers CLIENT_REVOKED). */
export function isLockedOut(r: Pick<PrincipalRecord, 'lockedUntil'>, now: Date): boolean {
  return r.lockedUntil !== undefined && now.getTime() < r.lockedUntil.getTime();
}

/** Applies one failed pre-authentication at `at`; mutates and returns `r`. */
export function applyFailure<T extends LockoutFields>(r: T, at: Date, policy: LockoutPolicy): T {
  if (isLockedOut(r, at)) return r;
  if (r.lockedUntil !== undefined) {
    // The lockout ran out: start afresh (MIT resets fail_auth_count here).
    r.lockedUntil = undefined;
    r.failCount = 0;
  }
  if (policy.failureWindow > 0 && r.lastFailure !== undefined && at.getTime() - r.lastFailure.getTime() > policy.failureWindow * 1000) {
    r.failCount = 0;
  }
  r.failCount += 1;
  r.lastFailure = at;
  if (policy.maxFailures > 0 && r.failCount >= policy.maxFailures) {
    r.lockedUntil = policy.lockoutDuration > 0 ? new Date(at.getTime() + policy.lockoutDuration * 1000) : LOCKED_FOREVER;
  }
  return r;
}

/** Applies one failure or success at `at`; mutates and returns `r`. */
export function applyLockoutEvent<T extends LockoutFields>(r: T, kind: 'failure' | 'success', at: Date, policy: LockoutPolicy): T {
  return kind === 'failure' ? applyFailure(r, at, policy) : applySuccess(r, at);
}

/** Applies one successful authentication at `at`; mutates and returns `r`. */
export function applySuccess<T extends LockoutFields>(r: T, at: Date): T {
  r.lastSuccess = at;
  if (!isLockedOut(r, at)) {
    r.failCount = 0;
    r.lockedUntil = undefined;
  }
  return r;
}
