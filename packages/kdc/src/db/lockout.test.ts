import { describe, expect, it } from 'vitest';
import { applyFailure, applySuccess, isLockedOut, LOCKED_FOREVER, type LockoutFields } from './lockout.js';

const t = (s: number) => new Date(Date.UTC(2026, 10, 29, 6, 0, 0) + s * 1000);
const fresh = (): LockoutFields => ({ failCount: 0 });

describe('lockout (MIT lockout.c semantics)', () => {
  it('counts failures within the window and locks at maxFailures for lockoutDuration', () => {
    const policy = { maxFailures: 3, failureWindow: 60, lockoutDuration: 120 };
    const r = fresh();
    applyFailure(r, t(0), policy);
    applyFailure(r, t(30), policy);
    expect(r).toMatchObject({ failCount: 2, lastFailure: t(30) });
    expect(r.lockedUntil).toBeUndefined();
    applyFailure(r, t(50), policy);
    expect(r.lockedUntil).toEqual(t(170));
    expect(isLockedOut(r, t(169))).toBe(true);
    expect(isLockedOut(r, t(170))).toBe(false);
  });

  it('a failure after the window starts the count again', () => {
    const policy = { maxFailures: 3, failureWindow: 60, lockoutDuration: 120 };
    const r = fresh();
    applyFailure(r, t(0), policy);
    applyFailure(r, t(10), policy);
    applyFailure(r, t(71), policy);
    expect(r.failCount).toBe(1);
    expect(r.lockedUntil).toBeUndefined();
  });

  it('window 0 never forgets; failures while locked are not counted; an expired lockout starts afresh', () => {
    const policy = { maxFailures: 2, failureWindow: 0, lockoutDuration: 100 };
    const r = fresh();
    applyFailure(r, t(0), policy);
    applyFailure(r, t(100_000), policy);
    expect(r.lockedUntil).toEqual(t(100_100));
    applyFailure(r, t(100_050), policy);
    expect(r.failCount).toBe(2);
    expect(r.lastFailure).toEqual(t(100_000));
    applyFailure(r, t(100_200), policy);
    expect(r).toMatchObject({ failCount: 1, lockedUntil: undefined });
  });

  it('a success clears the count but not a lockout in force; duration 0 locks until unlocked', () => {
    const policy = { maxFailures: 1, failureWindow: 60, lockoutDuration: 0 };
    const r = fresh();
    applyFailure(r, t(0), policy);
    expect(r.lockedUntil).toEqual(LOCKED_FOREVER);
    applySuccess(r, t(1));
    expect(r).toMatchObject({ failCount: 1, lastSuccess: t(1), lockedUntil: LOCKED_FOREVER });
    const s = fresh();
    applyFailure(s, t(0), { maxFailures: 5, failureWindow: 60, lockoutDuration: 10 });
    applySuccess(s, t(1));
    expect(s).toMatchObject({ failCount: 0, lastSuccess: t(1) });
  });

  it('maxFailures 0 counts but never locks', () => {
    const r = fresh();
    for (let i = 0; i < 50; i++) applyFailure(r, t(i), { maxFailures: 0, failureWindow: 0, lockoutDuration: 0 });
    expect(r.failCount).toBe(50);
    expect(isLockedOut(r, t(51))).toBe(false);
  });
});
