import { describe, expect, it } from 'vitest';
import { initRealm, openDatabase } from './index.js';
import { DEFAULT_POLICY } from './policy.js';
import { characterClasses, checkPasswordQuality, PolicyRefusal } from './password-quality.js';
import { changePasswordUnderPolicy } from './password-change.js';
import { useRealmDir } from './test-realm.js';

const refusalOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof PolicyRefusal) return e.kind;
    throw e;
  }
  return 'accepted';
};

describe('password policies', () => {
  const realm = useRealmDir('kdc-policy-');

  it('counts server_misc.c\'s five character classes', () => {
    expect(characterClasses('abc')).toBe(1);
    expect(characterClasses('aB1')).toBe(3);
    expect(characterClasses('aB1!')).toBe(4);
    expect(characterClasses('aB1! é')).toBe(5);
  });

  it('quality: length in bytes, classes, and the realm and name components as words', () => {
    const p = { name: 'p', ...DEFAULT_POLICY, minLength: 6, minClasses: 2 };
    const who = { principal: { realm: 'LAB.TEST', name: { nameType: 1, nameString: ['alice'] } } };
    expect(refusalOf(() => checkPasswordQuality('Ab1', p, who))).toBe('TOOSHORT');
    expect(refusalOf(() => checkPasswordQuality('abcdefgh', p, who))).toBe('CLASS');
    expect(refusalOf(() => checkPasswordQuality('Lab.Test', p, who))).toBe('DICT');
    expect(refusalOf(() => checkPasswordQuality('Abcdef-1', p, who))).toBe('accepted');
  });

  it('history keeps the replaced keys (encrypted) and refuses them; min life only for one\'s own change; max life sets the expiry', () => {
    const db = realm.track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    db.addPrincipal('alice', { password: 'Alice-pw-1' });
    db.policies.add('p', { history: 3, minLife: 3600, maxLife: 86400 });
    db.policies.assign('alice@LAB.TEST', 'p');
    const t0 = new Date();
    expect(refusalOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-1', { self: false, now: t0 }))).toBe('REUSE');
    changePasswordUnderPolicy(db, 'alice', 'Alice-pw-2', { self: false, now: t0 });
    expect(refusalOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-3', { self: true, now: t0 }))).toBe('TOOSOON');
    const later = new Date(t0.getTime() + 2 * 3600 * 1000);
    expect(refusalOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-1', { self: true, now: later }))).toBe('REUSE');
    const r = changePasswordUnderPolicy(db, 'alice', 'Alice-pw-3', { self: true, now: later });
    expect(r.pwExpiresAt!.getTime()).toBe(later.getTime() + 86400 * 1000);
    // history 3: the current and two earlier passwords are refused, the third-oldest is allowed again.
    expect(refusalOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-2', { self: false, now: later }))).toBe('REUSE');
    changePasswordUnderPolicy(db, 'alice', 'Alice-pw-4', { self: false, now: later });
    expect(refusalOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-1', { self: false, now: later }))).toBe('accepted');
    expect(db.policies.history('alice@LAB.TEST').length).toBeGreaterThan(0);
  });

  it('a policy\'s lockout applies to its principals even when the realm has none; another process sees policies after refresh', () => {
    const db = realm.track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    db.addPrincipal('bob', { password: 'Bob-pw-1' });
    db.addPrincipal('carol', { password: 'Carol-pw-1' });
    db.policies.add('lock', { maxFailure: 2, lockoutDuration: 600 });
    db.policies.assign('bob@LAB.TEST', 'lock');
    const now = new Date();
    for (const who of ['bob@LAB.TEST', 'carol@LAB.TEST']) {
      db.recordFailure(who, now);
      db.recordFailure(who, now);
    }
    expect(db.getPrincipal('bob')!.lockedUntil!.getTime()).toBe(now.getTime() + 600_000);
    expect(db.getPrincipal('carol')!.lockedUntil).toBeUndefined();
    const other = realm.track(openDatabase(realm.dir));
    expect(other.policies.policyNameOf('bob@LAB.TEST')).toBe('lock');
    db.policies.modify('lock', { maxFailure: 9 });
    other.refresh();
    expect(other.policies.get('lock')!.maxFailure).toBe(9);
    expect(() => db.policies.delete('lock')).toThrow(/Policy is in use/);
    db.deletePrincipal('bob');
    db.policies.delete('lock');
    expect(db.policies.list()).toEqual([]);
  });
});

describe('kadmin/changepw', () => {
  const realm = useRealmDir('kdc-changepw-');
  it('a realm made without it gets it once (kdc start does this on its first run)', async () => {
    const { ensureChangepwPrincipal } = await import('../server/kpasswd-server.js');
    const db = realm.track(initRealm(realm.dir, { realm: 'OLD.TEST' }));
    expect(db.getPrincipal('kadmin/changepw')).toBeUndefined();
    expect(ensureChangepwPrincipal(db)).toBe(true);
    expect(ensureChangepwPrincipal(db)).toBe(false);
    expect(db.getPrincipal('kadmin/changepw')).toMatchObject({ canonicalName: 'kadmin/changepw@OLD.TEST', maxLife: 300 });
  });
});
