import { describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { hex, reason, useRealmDir } from './test-realm.js';
import { initRealm, openDatabase, KdcDbError } from './index.js';

// test/fixtures/mit/README.md: alice@LAB.TEST, password alice-pw-1, salt LAB.TESTalice, as MIT 1.20 derived them.
const ALICE_AES256 = '7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a';
const ALICE_AES128 = '9b128cb80cbbd33f80715c981db0ff14';
const POP_AES256 = '38e50ca48425ab5454c4f3a3e6f18f0362576e2600627e4a421136e46ea6d66e';

const realm = useRealmDir('kdc-db-');
const { track } = realm;

describe('initRealm', () => {
  it('makes a private directory, a 0600 database and stash, and krbtgt with random keys in all four enctypes', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    expect(statSync(realm.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(realm.dir, 'kdc.sqlite')).mode & 0o777).toBe(0o600);
    expect(statSync(join(realm.dir, 'stash')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(realm.dir, 'stash')).subarray(0, 8).toString()).toBe('KPOPSTSH');
    const tgt = db.lookup(['krbtgt', 'LAB.TEST'])!;
    expect(tgt.canonicalName).toBe('krbtgt/LAB.TEST@LAB.TEST');
    expect(tgt.principal.name.nameType).toBe(2);
    expect(tgt.kvno).toBe(1);
    expect(tgt.keys.map((k) => k.etype)).toEqual([18, 17, 20, 19]);
    expect(tgt.keys.map((k) => k.key.length)).toEqual([32, 16, 32, 16]);
    expect(new Set(tgt.keys.map((k) => hex(k.key))).size).toBe(4);
    expect(db.settings()).toEqual({ realm: 'LAB.TEST', maxLife: 36000, maxRenew: 604800, clockSkew: 300, lockout: { maxFailures: 0, failureWindow: 600, lockoutDuration: 600 }, enctypes: [18, 17, 20, 19] });
    // Another realm's krbtgt keys are independent randomness.
    const other = track(initRealm(join(realm.dir, '..', 'other'), { realm: 'LAB.TEST' }));
    expect(hex(other.lookup(['krbtgt', 'LAB.TEST'])!.keys[0]!.key)).not.toBe(hex(tgt.keys[0]!.key));
  });

  it('refuses a directory that already has a realm, and bad realm names', () => {
    track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    expect(reason(() => initRealm(realm.dir, { realm: 'LAB.TEST' }))).toBe('EXISTS');
    expect(reason(() => initRealm(join(realm.dir, 'x'), { realm: 'A@B' }))).toBe('BAD_ARGUMENT');
    expect(reason(() => initRealm(join(realm.dir, 'y'), { realm: 'LAB.TEST', enctypes: [23] }))).toBe('BAD_ARGUMENT');
    expect(reason(() => openDatabase(join(realm.dir, 'nothing')))).toBe('NO_DATABASE');
  });

  it('a file that is not our database is refused with a clear error', () => {
    const junk = join(realm.dir, '..', 'junk');
    mkdirSync(junk);
    writeFileSync(join(junk, 'kdc.sqlite'), 'this is not SQLite at all, not even close: '.repeat(100));
    expect(reason(() => openDatabase(junk))).toBe('CORRUPT');
    const other = join(realm.dir, '..', 'other-sqlite');
    mkdirSync(other);
    new Database(join(other, 'kdc.sqlite')).exec('CREATE TABLE t (x)').close();
    let msg = '';
    try {
      openDatabase(other);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/is not a kpop KDC database/);
  });
});

describe('principals', () => {
  it('derives exactly the keys MIT 1.20 derives for alice (fixtures), in all four enctypes by default', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    const alice = db.addPrincipal('alice', { password: 'alice-pw-1' });
    expect(alice.canonicalName).toBe('alice@LAB.TEST');
    expect(alice.keys.map((k) => [k.etype, k.kvno, k.salt])).toEqual([[18, 1, 'LAB.TESTalice'], [17, 1, 'LAB.TESTalice'], [20, 1, 'LAB.TESTalice'], [19, 1, 'LAB.TESTalice']]);
    expect(hex(alice.keys[0]!.key)).toBe(ALICE_AES256);
    expect(hex(alice.keys[1]!.key)).toBe(ALICE_AES128);
    expect(alice.attributes.requiresPreauth).toBe(true);
    // The same keys come back from disk in a fresh process view.
    db.close();
    const again = track(openDatabase(realm.dir));
    expect(hex(again.lookup(['alice'])!.keys[0]!.key)).toBe(ALICE_AES256);
  });

  it('adds, modifies, lists and deletes; names with or without the realm; typed errors', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    db.addPrincipal('pop/localhost@LAB.TEST', { randkey: true, enctypes: [18, 17], maxLife: 3600 });
    db.addPrincipal('bob', { password: 'bob-pw', requiresPreauth: false, expiresAt: new Date('2030-01-01T00:00:00Z') });
    expect(db.listPrincipals()).toEqual(['bob@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST', 'pop/localhost@LAB.TEST']);
    expect(db.listPrincipals('pop/*')).toEqual(['pop/localhost@LAB.TEST']);
    expect(db.listPrincipals('*@LAB.TEST')).toHaveLength(3);
    expect(db.listPrincipals('b?b')).toEqual(['bob@LAB.TEST']);
    const pop = db.lookup(['pop', 'localhost'])!;
    expect(pop.keys.map((k) => k.etype)).toEqual([18, 17]);
    expect(pop.maxLife).toBe(3600);
    expect(db.getPrincipal('bob')!.attributes.requiresPreauth).toBe(false);
    expect(db.getPrincipal('bob')!.expiresAt).toEqual(new Date('2030-01-01T00:00:00Z'));

    const m = db.modifyPrincipal('bob@LAB.TEST', { maxRenew: 7200, expiresAt: null, attributes: { disallowForwardable: true, disallowAllTix: true } });
    expect(m.maxRenew).toBe(7200);
    expect(m.expiresAt).toBeUndefined();
    expect(m.attributes).toMatchObject({ disallowForwardable: true, disallowAllTix: true, requiresPreauth: false });
    expect(db.lookup(['bob'])).toBe(m);

    expect(reason(() => db.addPrincipal('bob', { password: 'x' }))).toBe('DUPLICATE');
    expect(reason(() => db.modifyPrincipal('carol', { maxLife: 1 }))).toBe('UNKNOWN_PRINCIPAL');
    expect(reason(() => db.changePassword('carol', { randkey: true }))).toBe('UNKNOWN_PRINCIPAL');
    expect(reason(() => db.deletePrincipal('carol'))).toBe('UNKNOWN_PRINCIPAL');
    expect(reason(() => db.addPrincipal('dave@OTHER.TEST', { password: 'x' }))).toBe('BAD_NAME');
    expect(reason(() => db.addPrincipal('dave', {}))).toBe('BAD_ARGUMENT');
    expect(reason(() => db.addPrincipal('dave', { password: 'x', randkey: true }))).toBe('BAD_ARGUMENT');
    expect(reason(() => db.addPrincipal('dave', { password: '' }))).toBe('BAD_ARGUMENT');
    expect(reason(() => db.addPrincipal('dave', { password: 'x', maxLife: -1 }))).toBe('BAD_ARGUMENT');
    expect(reason(() => db.addPrincipal('dave', { password: 'x', enctypes: [18, 18] }))).toBe('BAD_ARGUMENT');
    expect(reason(() => db.addPrincipal('da/', { password: 'x' }))).toBe('BAD_NAME');
    expect(reason(() => db.deletePrincipal('krbtgt/LAB.TEST'))).toBe('PROTECTED');
    expect(db.getPrincipal('dave')).toBeUndefined();

    db.deletePrincipal('bob');
    expect(db.lookup(['bob'])).toBeUndefined();
    expect(db.listPrincipals()).toEqual(['krbtgt/LAB.TEST@LAB.TEST', 'pop/localhost@LAB.TEST']);
  });

  it('takes given keys (e.g. the MIT fixtures\' random keys) with a chosen kvno', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    const r = db.addPrincipal('pop/localhost', { keys: [{ etype: 18, key: Buffer.from(POP_AES256, 'hex') }], kvno: 2 });
    expect(r.kvno).toBe(2);
    expect(hex(r.keys[0]!.key)).toBe(POP_AES256);
    expect(r.keys[0]!.salt).toBe('LAB.TESTpoplocalhost');
    expect(reason(() => db.addPrincipal('x', { keys: [{ etype: 18, key: new Uint8Array(16) }] }))).toBe('BAD_ARGUMENT');
  });

  it('lookup compares components exactly and ignores the name type', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    db.addPrincipal('pop/localhost', { randkey: true });
    expect(db.lookup(['pop', 'localhost'])?.canonicalName).toBe('pop/localhost@LAB.TEST');
    expect(db.lookup(['pop\0localhost'])).toBeUndefined();
    expect(db.lookup(['pop'])).toBeUndefined();
    expect(db.lookup(['POP', 'localhost'])).toBeUndefined();
  });
});

describe('keys at rest', () => {
  it('never stores a plaintext key: the database files hold none of the key bytes', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    const alice = db.addPrincipal('alice', { password: 'alice-pw-1' });
    const tgt = db.lookup(['krbtgt', 'LAB.TEST'])!;
    const secrets = [...alice.keys, ...tgt.keys].map((k) => Buffer.from(k.key));
    const files = readdirSync(realm.dir).filter((f) => f.startsWith('kdc.sqlite'));
    expect(files).toContain('kdc.sqlite');
    for (const f of files) {
      const raw = readFileSync(join(realm.dir, f));
      for (const s of secrets) expect(raw.indexOf(s)).toBe(-1);
    }
    // Nor the password.
    for (const f of files) expect(readFileSync(join(realm.dir, f)).indexOf(Buffer.from('alice-pw-1'))).toBe(-1);
  });

  it('a key row moved onto another principal fails to decrypt instead of granting the key', () => {
    const db = initRealm(realm.dir, { realm: 'LAB.TEST' });
    db.addPrincipal('alice', { password: 'alice-pw-1', enctypes: [18] });
    db.addPrincipal('mallory', { password: 'other', enctypes: [18] });
    db.close();
    const raw = new Database(join(realm.dir, 'kdc.sqlite'));
    raw.prepare("UPDATE principal_keys SET key_enc = (SELECT key_enc FROM principal_keys WHERE principal = 'alice@LAB.TEST') WHERE principal = 'mallory@LAB.TEST'").run();
    raw.close();
    // Principals are read on demand: the moved key fails when mallory is read, and alice's still opens.
    const db2 = openDatabase(realm.dir);
    expect(reason(() => db2.lookup(['mallory']))).toBe('MASTER_KEY_MISMATCH');
    expect(db2.lookup(['alice'])?.keys).toHaveLength(1);
    db2.close();
  });
});

describe('master key', () => {
  it('from a master password: no stash file, the right password opens, a wrong one is refused clearly', () => {
    const db = initRealm(realm.dir, { realm: 'LAB.TEST', masterPassword: 'correct horse' });
    db.addPrincipal('alice', { password: 'alice-pw-1' });
    db.close();
    expect(readdirSync(realm.dir)).not.toContain('stash');
    expect(reason(() => openDatabase(realm.dir))).toBe('MASTER_PASSWORD_REQUIRED');
    let err: unknown;
    try {
      openDatabase(realm.dir, { masterPassword: 'wrong horse' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KdcDbError);
    expect((err as KdcDbError).reason).toBe('MASTER_KEY_MISMATCH');
    expect((err as Error).message).toBe('wrong master password for realm LAB.TEST');
    const ok = track(openDatabase(realm.dir, { masterPassword: 'correct horse' }));
    expect(hex(ok.lookup(['alice'])!.keys[0]!.key)).toBe(ALICE_AES256);
  });

  it('a stash file of another realm, a damaged or a missing one are refused', () => {
    initRealm(realm.dir, { realm: 'LAB.TEST' }).close();
    const other = join(realm.dir, '..', 'other');
    initRealm(other, { realm: 'LAB.TEST' }).close();
    const stash = join(realm.dir, 'stash');
    const saved = readFileSync(stash);
    copyFileSync(join(other, 'stash'), stash);
    expect(reason(() => openDatabase(realm.dir))).toBe('MASTER_KEY_MISMATCH');
    rmSync(stash);
    expect(reason(() => openDatabase(realm.dir))).toBe('NO_MASTER_KEY');
    writeFileSync(stash, saved.subarray(0, 20), { mode: 0o600 });
    expect(reason(() => openDatabase(realm.dir))).toBe('BAD_STASH');
    writeFileSync(stash, saved, { mode: 0o600 });
    track(openDatabase(realm.dir));
  });
});
