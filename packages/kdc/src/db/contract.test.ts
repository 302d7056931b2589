/**
 * One contract, two stores: the same test bodies run against SQLite's
 * KdcDatabase and PostgreSQL's PgKdcDatabase (a throwaway cluster from
 * test/helpers/postgres.ts, one database per test). Every call is awaited,
 * which is a no-op for the synchronous SQLite store. The PostgreSQL part
 * skips only where PostgreSQL is not installed, saying so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getEnctype } from '@kpop/common';
import { hasPostgres, NO_POSTGRES, startPostgres, type Postgres } from '../../../../test/helpers/postgres.js';
import {
  changePasswordUnderPolicy, initPgRealm, initRealm, isLockedOut, KdcDbError, lookupLoaded, openDatabase, openPgDatabase, OLD_KVNOS_KEPT,
  PolicyRefusal, type InitRealmOptions, type RealmDatabase,
} from './index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function reasonOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof PolicyRefusal) return e.kind;
    if (e instanceof KdcDbError) return e.reason;
    throw e;
  }
  return 'accepted';
}

/** A store under test: init a realm, open more handles on it. */
interface StoreKind {
  name: string;
  available: boolean;
  skipWhy?: string;
  /** A fresh realm (its own directory and, for PostgreSQL, its own database). */
  init(opts: InitRealmOptions): Promise<RealmDatabase>;
  /** Another handle on the realm last made by init (another process's view). */
  open(): Promise<RealmDatabase>;
}

let cluster: Postgres | undefined;
let dbCount = 0;
const handles: RealmDatabase[] = [];
const dirs: string[] = [];
const track = <T extends RealmDatabase>(db: T): T => (handles.push(db), db);
const newDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'kdc-contract-'));
  dirs.push(d);
  return join(d, 'realm');
};

afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
});
afterAll(async () => {
  await cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sqlite: StoreKind = (() => {
  let dir = '';
  return {
    name: 'SQLite',
    available: true,
    async init(opts) {
      dir = newDir();
      return track(initRealm(dir, opts));
    },
    async open() {
      return track(openDatabase(dir));
    },
  };
})();

const postgres: StoreKind = (() => {
  let dir = '';
  let url = '';
  return {
    name: 'PostgreSQL',
    available: hasPostgres,
    skipWhy: NO_POSTGRES,
    async init(opts) {
      cluster ??= await startPostgres();
      const name = `realm${++dbCount}`;
      cluster.createDatabase(name);
      url = cluster.urlFor(name);
      dir = newDir();
      const { now, ...rest } = opts;
      return track(await initPgRealm(url, dir, { ...rest, ...(now ? { now } : {}) }));
    },
    async open() {
      return track(await openPgDatabase(url, dir));
    },
  };
})();

for (const kind of [sqlite, postgres]) {
  describe.skipIf(!kind.available)(`the principal database contract: ${kind.name}${kind.available ? '' : ` (skipped: ${kind.skipWhy})`}`, () => {
    beforeAll(async () => {
      if (kind === postgres) cluster ??= await startPostgres();
    });

    it('adds, modifies, changes keys of and deletes principals; bad input changes nothing', async () => {
      const db = await kind.init({ realm: 'LAB.TEST' });
      const alice = await db.addPrincipal('alice', { password: 'Alice-pw-1', maxLife: 3600 });
      expect(alice.canonicalName).toBe('alice@LAB.TEST');
      expect(alice.kvno).toBe(1);
      expect(alice.keys.map((k) => k.etype)).toEqual([18, 17, 20, 19]);
      // The keys are the password's (RFC 3962 string-to-key with the default salt).
      const k18 = alice.keys.find((k) => k.etype === 18)!;
      expect(hex(k18.key)).toBe(hex(getEnctype(18).stringToKey('Alice-pw-1', 'LAB.TESTalice')));
      expect(await reasonOf(() => db.addPrincipal('alice', { randkey: true }))).toBe('DUPLICATE');
      expect(await reasonOf(() => db.addPrincipal('bob', { randkey: true, maxLife: -1 }))).toBe('BAD_ARGUMENT');
      expect(await reasonOf(() => db.addPrincipal('bob@OTHER.TEST', { randkey: true }))).toBe('BAD_NAME');
      expect(await db.getPrincipal('bob')).toBeUndefined();

      const m = await db.modifyPrincipal('alice', { maxRenew: 7200, attributes: { disallowForwardable: true }, expiresAt: new Date('2030-01-01T00:00:00Z') });
      expect(m.maxLife).toBe(3600);
      expect(m.maxRenew).toBe(7200);
      expect(m.attributes.disallowForwardable).toBe(true);
      expect(m.expiresAt).toEqual(new Date('2030-01-01T00:00:00Z'));
      expect((await db.modifyPrincipal('alice', { expiresAt: null })).expiresAt).toBeUndefined();

      // kvno history: the new kvno and OLD_KVNOS_KEPT older ones.
      await db.addPrincipal('pop/mail.lab.test', { randkey: true, enctypes: [18, 17] });
      const first = hex((await lookupLoaded(db, ['pop', 'mail.lab.test']))!.keys[0]!.key);
      const r2 = await db.changePassword('pop/mail.lab.test', { randkey: true });
      expect(r2.keys.map((k) => [k.kvno, k.etype])).toEqual([[2, 18], [2, 17], [1, 18], [1, 17]]);
      expect(hex(r2.keys.find((k) => k.kvno === 1 && k.etype === 18)!.key)).toBe(first);
      await db.changePassword('pop/mail.lab.test', { randkey: true });
      const r4 = await db.changePassword('pop/mail.lab.test', { password: 'now-a-password' });
      expect([...new Set(r4.keys.map((k) => k.kvno))]).toEqual([4, 3, 2].slice(0, OLD_KVNOS_KEPT + 1));
      const r5 = await db.changePassword('pop/mail.lab.test', { randkey: true, keepOld: false });
      expect(r5.keys.map((k) => k.kvno)).toEqual([5, 5]);

      await db.deletePrincipal('alice');
      expect(await db.getPrincipal('alice')).toBeUndefined();
      expect((await lookupLoaded(db, ['alice']))).toBeUndefined();
      expect(await reasonOf(() => db.deletePrincipal('alice'))).toBe('UNKNOWN_PRINCIPAL');
      expect(await reasonOf(() => db.deletePrincipal('krbtgt/LAB.TEST'))).toBe('PROTECTED');
      expect(await db.listPrincipals()).toEqual(['krbtgt/LAB.TEST@LAB.TEST', 'pop/mail.lab.test@LAB.TEST']);
      expect(await db.listPrincipals('pop/*')).toEqual(['pop/mail.lab.test@LAB.TEST']);

      // Another handle (another process) reads the same from the database, keys decrypted alike.
      const other = await kind.open();
      expect(await other.listPrincipals()).toEqual(await db.listPrincipals());
      expect((await lookupLoaded(other, ['pop', 'mail.lab.test']))!.keys.map((k) => hex(k.key))).toEqual(r5.keys.map((k) => hex(k.key)));
      expect((await other.keytabEntries(['pop/mail.lab.test'])).map((e) => [e.kvno, e.key.keytype])).toEqual([[5, 18], [5, 17]]);
    });

    it('keeps realm settings', async () => {
      const db = await kind.init({ realm: 'LAB.TEST', maxLife: 7200 });
      expect(db.settings().maxLife).toBe(7200);
      const s = await db.updateSettings({ clockSkew: 120, lockout: { maxFailures: 5 }, enctypes: [18] });
      expect(s.clockSkew).toBe(120);
      expect(s.lockout).toEqual({ maxFailures: 5, failureWindow: 600, lockoutDuration: 600 });
      expect(await reasonOf(() => db.updateSettings({ enctypes: [1] }))).toBe('BAD_ARGUMENT');
      expect((await db.addPrincipal('carol', { randkey: true })).keys.map((k) => k.etype)).toEqual([18]);
      const other = await kind.open();
      expect(other.settings()).toEqual(db.settings());
    });

    it('applies password policies and their history', async () => {
      const t0 = new Date('2026-11-30T08:00:00Z');
      let clock = t0;
      const db = await kind.init({ realm: 'LAB.TEST', now: () => clock });
      await db.policies.add('users', { minLength: 8, minClasses: 2, history: 3, minLife: 3600 });
      expect(await reasonOf(() => db.policies.add('users', {}))).toBe('DUPLICATE');
      await db.addPrincipal('alice', { password: 'Alice-pw-1' });
      await db.policies.assign('alice@LAB.TEST', 'users');
      expect(db.policies.policyNameOf('alice@LAB.TEST')).toBe('users');
      expect(await reasonOf(() => changePasswordUnderPolicy(db, 'alice', 'short', { self: false, now: t0 }))).toBe('TOOSHORT');
      expect(await reasonOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-1', { self: false, now: t0 }))).toBe('REUSE');
      await changePasswordUnderPolicy(db, 'alice', 'Alice-pw-2', { self: false, now: t0 });
      expect(await reasonOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-3', { self: true, now: t0 }))).toBe('TOOSOON');
      const later = new Date(t0.getTime() + 2 * 3600_000);
      clock = later;
      expect(await reasonOf(() => changePasswordUnderPolicy(db, 'alice', 'Alice-pw-1', { self: true, now: later }))).toBe('REUSE');
      const r = await changePasswordUnderPolicy(db, 'alice', 'Alice-pw-3', { self: true, now: later });
      expect(r.kvno).toBe(3);
      expect((await db.policies.history('alice@LAB.TEST')).map((k) => k.kvno).filter((v, i, a) => a.indexOf(v) === i)).toEqual([2, 1]);
      expect(await reasonOf(() => db.policies.delete('users'))).toBe('BAD_ARGUMENT');
      await db.policies.modify('users', { maxFailure: 2 });
      expect(db.policies.lockoutOf('alice@LAB.TEST')).toEqual({ maxFailures: 2, failureWindow: 0, lockoutDuration: 0 });
      const other = await kind.open();
      expect(other.policies.get('users')).toEqual(db.policies.get('users'));
      // An assignment is known with its principal (PostgreSQL reads both on demand).
      expect(await other.getPrincipal('alice')).toBeDefined();
      expect(other.policies.policyNameOf('alice@LAB.TEST')).toBe('users');
      await db.policies.assign('alice@LAB.TEST', undefined);
      await db.policies.delete('users');
      expect(db.policies.list()).toEqual([]);
    });

    it('locks a principal out after the realm\'s failures, on disk too, until unlocked', async () => {
      const t0 = new Date('2026-11-30T08:00:00Z');
      const db = await kind.init({ realm: 'LAB.TEST', lockout: { maxFailures: 3, failureWindow: 600, lockoutDuration: 0 } });
      await db.addPrincipal('alice', { password: 'Alice-pw-1' });
      for (let i = 0; i < 3; i++) db.recordFailure('alice@LAB.TEST', new Date(t0.getTime() + i * 1000));
      expect(isLockedOut((await lookupLoaded(db, ['alice']))!, t0)).toBe(true);
      await db.flush();
      const other = await kind.open();
      const seen = (await lookupLoaded(other, ['alice']))!;
      expect(seen.failCount).toBe(3);
      expect(isLockedOut(seen, new Date(t0.getTime() + 86400_000))).toBe(true);
      await other.modifyPrincipal('alice', { unlock: true });
      await db.refresh();
      expect((await lookupLoaded(db, ['alice']))!.failCount).toBe(0);
      expect((await lookupLoaded(db, ['alice']))!.lockedUntil).toBeUndefined();
      db.recordSuccess('alice@LAB.TEST', new Date(t0.getTime() + 5000));
      await db.flush();
    });

    it('dumps and loads (full and --update), refusing a damaged dump whole', async () => {
      const db = await kind.init({ realm: 'LAB.TEST' });
      await db.addPrincipal('alice', { password: 'Alice-pw-1' });
      await db.addPrincipal('imap/mail.lab.test', { randkey: true });
      await db.changePassword('imap/mail.lab.test', { randkey: true });
      const dump = (await db.dump()) as { principals: { name: string; keys: { key: string }[] }[] };
      expect(dump.principals.map((p) => p.name)).toEqual(['alice@LAB.TEST', 'imap/mail.lab.test@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST']);
      const before = (await lookupLoaded(db, ['imap', 'mail.lab.test']))!.keys.map((k) => [k.kvno, k.etype, hex(k.key)]);
      await db.deletePrincipal('alice');
      await db.addPrincipal('mallory', { randkey: true });
      // A key that does not open under the master key: nothing is loaded.
      const bad = structuredClone(dump);
      bad.principals[0]!.keys[0]!.key = Buffer.alloc(60, 1).toString('base64');
      expect(await reasonOf(() => db.load(bad))).toMatch(/MASTER_KEY_MISMATCH|BAD_DUMP|CORRUPT/);
      expect(await db.getPrincipal('mallory')).toBeDefined();
      await db.load(dump, { update: true });
      expect(await db.getPrincipal('mallory')).toBeDefined();
      expect(await db.getPrincipal('alice')).toBeDefined();
      await db.load(dump);
      expect(await db.getPrincipal('mallory')).toBeUndefined();
      expect((await lookupLoaded(db, ['imap', 'mail.lab.test']))!.keys.map((k) => [k.kvno, k.etype, hex(k.key)])).toEqual(before);
      const other = await kind.open();
      expect(await other.listPrincipals()).toEqual(['alice@LAB.TEST', 'imap/mail.lab.test@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST']);
      expect(await other.dump()).toEqual(await db.dump());
    });

    it('exports and imports policies, assignments and the password history (kdc dump / load)', async () => {
      const db = await kind.init({ realm: 'LAB.TEST' });
      await db.policies.add('users', { minLength: 6, history: 3 });
      await db.addPrincipal('erin', { password: 'Erin-pw-1' });
      await db.policies.assign('erin@LAB.TEST', 'users');
      await changePasswordUnderPolicy(db, 'erin', 'Erin-pw-2', { self: false, now: new Date('2026-11-30T08:00:00Z') });
      const exported = await db.policies.exportAll();
      expect(exported.policies.map((p) => p.name)).toEqual(['users']);
      expect(exported.assignments).toEqual([{ principal: 'erin@LAB.TEST', policy: 'users' }]);
      expect(exported.history.map((h) => h.kvno)).toEqual([1, 1, 1, 1]);
      await db.policies.assign('erin@LAB.TEST', undefined);
      await db.policies.delete('users');
      // A dry run checks without writing; a bad part is refused whole.
      await db.policies.importAll(exported, false, { principals: new Set(['erin@LAB.TEST']) });
      expect(db.policies.list()).toEqual([]);
      expect(await reasonOf(() => db.policies.importAll({ ...exported, assignments: [{ principal: 'nobody@LAB.TEST', policy: 'users' }] }, false))).toBe('BAD_DUMP');
      await db.policies.importAll(exported, false);
      expect(db.policies.get('users')?.history).toBe(3);
      expect(db.policies.policyNameOf('erin@LAB.TEST')).toBe('users');
      expect(await db.policies.exportAll()).toEqual(exported);
      // The history came back: the first password is still refused.
      expect(await reasonOf(() => changePasswordUnderPolicy(db, 'erin', 'Erin-pw-1', { self: false, now: new Date('2026-11-30T09:00:00Z') }))).toBe('REUSE');
    });

    it('shows a change made through one handle to another on refresh', async () => {
      const a = await kind.init({ realm: 'LAB.TEST' });
      const b = await kind.open();
      await a.addPrincipal('dave', { password: 'Dave-pw-1' });
      await b.refresh();
      expect(hex((await lookupLoaded(b, ['dave']))!.keys[0]!.key)).toBe(hex((await lookupLoaded(a, ['dave']))!.keys[0]!.key));
      await b.deletePrincipal('dave');
      await a.refresh();
      expect((await lookupLoaded(a, ['dave']))).toBeUndefined();
    });
  });
}
