import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { hex, reason, useRealmDir } from './test-realm.js';
import { initRealm, openDatabase, isLockedOut, LOCKED_FOREVER, type PeerLockoutEvent } from './index.js';

const realm = useRealmDir('kdc-store-');
const { track } = realm;

describe('key rotation', () => {
  it('a new kvno keeps the previous ones for tickets still out, up to two older kvnos', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    db.addPrincipal('pop/localhost', { randkey: true, enctypes: [18, 17] });
    const k1 = hex(db.lookup(['pop', 'localhost'])!.keys[0]!.key);
    const r2 = db.changePassword('pop/localhost', { randkey: true });
    expect(r2.kvno).toBe(2);
    expect(r2.keys.map((k) => [k.kvno, k.etype])).toEqual([[2, 18], [2, 17], [1, 18], [1, 17]]);
    expect(hex(r2.keys.find((k) => k.kvno === 1 && k.etype === 18)!.key)).toBe(k1);
    expect(hex(r2.keys[0]!.key)).not.toBe(k1);
    db.changePassword('pop/localhost', { randkey: true });
    const r4 = db.changePassword('pop/localhost', { password: 'now-a-password' });
    expect(r4.kvno).toBe(4);
    expect([...new Set(r4.keys.map((k) => k.kvno))]).toEqual([4, 3, 2]);
    // The current enctypes are kept across a change.
    expect(r4.keys.filter((k) => k.kvno === 4).map((k) => k.etype)).toEqual([18, 17]);
    const r5 = db.changePassword('pop/localhost', { randkey: true, keepOld: false });
    expect(r5.keys.map((k) => k.kvno)).toEqual([5, 5]);
    // From disk, in another view, the same.
    const other = track(openDatabase(realm.dir));
    expect(other.lookup(['pop', 'localhost'])!.keys.map((k) => hex(k.key))).toEqual(r5.keys.map((k) => hex(k.key)));
  });

  it('rotates krbtgt too, and lastPwChange moves', () => {
    let t = new Date('2026-11-29T06:00:00Z');
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST', now: () => t }));
    t = new Date('2026-11-30T06:00:00Z');
    const r = db.changePassword('krbtgt/LAB.TEST', { randkey: true });
    expect(r.kvno).toBe(2);
    expect(r.keys).toHaveLength(8);
    expect(r.lastPwChange).toEqual(t);
    expect(r.createdAt).toEqual(new Date('2026-11-29T06:00:00Z'));
  });
});

describe('refresh', () => {
  it('sees what another instance (the admin CLI) added, changed and deleted; nothing else costs a reload', () => {
    const kdc = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    kdc.addPrincipal('alice', { password: 'alice-pw-1' });
    expect(kdc.refresh()).toBe(false);
    const cli = openDatabase(realm.dir);
    cli.addPrincipal('bob', { password: 'bob-pw' });
    cli.changePassword('alice', { password: 'alice-pw-2' });
    cli.updateSettings({ maxLife: 7200, lockout: { maxFailures: 5 } });
    // alice was cached before the change and stays as read until the refresh; bob was never
    // read, so the first lookup reads him from the database.
    const aliceBefore = kdc.lookup(['alice'])!;
    expect(aliceBefore.kvno).toBe(1);
    expect(kdc.lookup(['bob'])?.canonicalName).toBe('bob@LAB.TEST');
    expect(kdc.refresh()).toBe(true);
    expect(kdc.refresh()).toBe(false);
    expect(kdc.lookup(['bob'])?.canonicalName).toBe('bob@LAB.TEST');
    expect(kdc.lookup(['alice'])!.kvno).toBe(2);
    expect(aliceBefore.kvno).toBe(1); // records handed out earlier are not changed under the caller
    expect(kdc.settings().maxLife).toBe(7200);
    expect(kdc.settings().lockout.maxFailures).toBe(5);
    cli.deletePrincipal('bob');
    cli.deletePrincipal('alice');
    cli.addPrincipal('alice', { password: 'alice-pw-1' });
    cli.close();
    expect(kdc.refresh()).toBe(true);
    expect(kdc.lookup(['bob'])).toBeUndefined();
    expect(kdc.lookup(['alice'])!.kvno).toBe(1);
    expect(kdc.listPrincipals()).toEqual(['alice@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST']);
    // Deleting a name again and again leaves one tombstone for it.
    for (let i = 0; i < 5; i++) {
      kdc.addPrincipal('tmp', { randkey: true });
      kdc.deletePrincipal('tmp');
    }
    const raw = new Database(join(realm.dir, 'kdc.sqlite'), { readonly: true });
    expect(raw.prepare("SELECT COUNT(*) FROM deleted WHERE name = 'tmp@LAB.TEST'").pluck().get()).toBe(1);
    raw.close();
  });
});

describe('lockout', () => {
  it('workers share one count: each relays its failures (and a success that clears them) to the others\' copies, and only the recorder writes them', () => {
    const t0 = new Date('2026-11-29T06:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const a = track(initRealm(realm.dir, { realm: 'LAB.TEST', lockout: { maxFailures: 3, failureWindow: 60, lockoutDuration: 300 }, flushIntervalMs: 60_000 }));
    a.addPrincipal('alice', { password: 'alice-pw-1' });
    const b = track(openDatabase(realm.dir, { flushIntervalMs: 60_000 }));
    const sent: PeerLockoutEvent[] = [];
    a.relayLockout((ev) => (sent.push(ev), b.applyPeerLockout(ev)));
    b.relayLockout((ev) => (sent.push(ev), a.applyPeerLockout(ev)));
    // Both hold alice (each served her once); an ordinary login relays nothing.
    a.recordSuccess('alice@LAB.TEST', at(0));
    expect(b.lookup(['alice'])!.failCount).toBe(0);
    expect(sent).toEqual([]);
    // Two failures through a, one through b: locked on both, as one KDC would be.
    a.recordFailure('alice@LAB.TEST', at(10));
    a.recordFailure('alice@LAB.TEST', at(11));
    expect(isLockedOut(b.lookup(['alice'])!, at(12))).toBe(false);
    b.recordFailure('alice@LAB.TEST', at(12));
    for (const k of [a, b]) expect(isLockedOut(k.lookup(['alice'])!, at(13))).toBe(true);
    expect(sent.map((e) => e.kind)).toEqual(['failure', 'failure', 'failure']);
    // Each writes only its own events: the row counts three, not six.
    a.flush();
    b.flush();
    const row = track(openDatabase(realm.dir)).lookup(['alice'])!;
    expect(row.failCount).toBe(3);
    // After the lockout, a success through b clears the count on a too.
    b.recordSuccess('alice@LAB.TEST', at(400));
    expect(a.lookup(['alice'])!.failCount).toBe(0);
    expect(sent.at(-1)).toEqual({ name: 'alice@LAB.TEST', kind: 'success', at: at(400).getTime() });
    // A relayed event for a principal a worker does not hold is not read in for it; malformed ones are ignored.
    a.applyPeerLockout({ name: 'nobody@LAB.TEST', kind: 'failure', at: at(500).getTime() });
    a.applyPeerLockout({ name: 'alice@LAB.TEST', kind: 'bogus', at: 0 } as unknown as PeerLockoutEvent);
    expect(a.lookup(['alice'])!.failCount).toBe(0);
  });

  it('locks after maxFailures within the window, persists in batches, and an admin unlock clears it', () => {
    const t0 = new Date('2026-11-29T06:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const kdc = track(initRealm(realm.dir, { realm: 'LAB.TEST', lockout: { maxFailures: 3, failureWindow: 60, lockoutDuration: 300 }, flushIntervalMs: 60_000 }));
    kdc.addPrincipal('alice', { password: 'alice-pw-1' });
    kdc.recordFailure('alice@LAB.TEST', at(0));
    kdc.recordFailure('alice@LAB.TEST', at(100)); // outside the 60 s window: the count restarts
    expect(kdc.lookup(['alice'])!.failCount).toBe(1);
    kdc.recordFailure('alice@LAB.TEST', at(110));
    expect(isLockedOut(kdc.lookup(['alice'])!, at(111))).toBe(false);
    kdc.recordFailure('alice@LAB.TEST', at(120));
    const a = kdc.lookup(['alice'])!;
    expect(a.failCount).toBe(3);
    expect(a.lockedUntil).toEqual(at(420));
    expect(isLockedOut(a, at(121))).toBe(true);
    expect(isLockedOut(a, at(420))).toBe(false);
    kdc.recordFailure('alice@LAB.TEST', at(130)); // not counted while locked
    expect(a.failCount).toBe(3);

    // Nothing on disk yet (batched, flush interval 60 s): no synchronous write per request.
    const raw = new Database(join(realm.dir, 'kdc.sqlite'), { readonly: true });
    const row = () => raw.prepare("SELECT fail_count, locked_until, last_failure FROM principals WHERE name = 'alice@LAB.TEST'").get() as { fail_count: number; locked_until: number | null; last_failure: number | null };
    expect(row().fail_count).toBe(0);
    kdc.flush();
    expect(row()).toEqual({ fail_count: 3, locked_until: at(420).getTime(), last_failure: at(120).getTime() });

    // Another process sees the lockout; the admin unlocks; the KDC's view follows.
    const cli = openDatabase(realm.dir);
    expect(isLockedOut(cli.getPrincipal('alice')!, at(200))).toBe(true);
    cli.modifyPrincipal('alice', { unlock: true });
    cli.close();
    kdc.refresh();
    expect(kdc.lookup(['alice'])!.failCount).toBe(0);
    expect(isLockedOut(kdc.lookup(['alice'])!, at(200))).toBe(false);
    expect(row()).toMatchObject({ fail_count: 0, locked_until: null });

    // A success clears the count; a lockout that ran out starts afresh.
    kdc.recordFailure('alice@LAB.TEST', at(500));
    kdc.recordSuccess('alice@LAB.TEST', at(501));
    expect(kdc.lookup(['alice'])).toMatchObject({ failCount: 0, lastSuccess: at(501) });
    kdc.close();
    expect(row()).toMatchObject({ fail_count: 0 });
    raw.close();
    realm.forget();
  });

  it('lockoutDuration 0 locks until an administrator unlocks; maxFailures 0 never locks', () => {
    const kdc = track(initRealm(realm.dir, { realm: 'LAB.TEST', lockout: { maxFailures: 1, lockoutDuration: 0 } }));
    kdc.addPrincipal('alice', { password: 'x' });
    kdc.addPrincipal('bob', { password: 'y' });
    kdc.recordFailure('alice@LAB.TEST', new Date('2026-01-01T00:00:00Z'));
    expect(kdc.lookup(['alice'])!.lockedUntil).toEqual(LOCKED_FOREVER);
    kdc.updateSettings({ lockout: { maxFailures: 0 } });
    for (let i = 0; i < 20; i++) kdc.recordFailure('bob@LAB.TEST', new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    expect(kdc.lookup(['bob'])!.failCount).toBe(20);
    expect(kdc.lookup(['bob'])!.lockedUntil).toBeUndefined();
    kdc.recordFailure('nobody@LAB.TEST', new Date()); // unknown names are ignored
  });

  it('events queued in two KDC processes on one database add up instead of overwriting each other', () => {
    const a = track(initRealm(realm.dir, { realm: 'LAB.TEST', lockout: { maxFailures: 10 }, flushIntervalMs: 60_000 }));
    a.addPrincipal('alice', { password: 'x' });
    const b = track(openDatabase(realm.dir, { flushIntervalMs: 60_000 }));
    a.recordFailure('alice@LAB.TEST', new Date('2026-01-01T00:00:01Z'));
    b.recordFailure('alice@LAB.TEST', new Date('2026-01-01T00:00:02Z'));
    a.flush();
    b.flush();
    const c = track(openDatabase(realm.dir));
    expect(c.getPrincipal('alice')!.failCount).toBe(2);
  });
});

describe('dump and load', () => {
  it('round-trips every principal; keys stay encrypted in the dump', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST', maxLife: 86400 }));
    const alice = db.addPrincipal('alice', { password: 'alice-pw-1', pwExpiresAt: new Date('2027-01-01T00:00:00Z') });
    db.addPrincipal('pop/localhost', { randkey: true, enctypes: [18] });
    db.changePassword('pop/localhost', { randkey: true });
    db.modifyPrincipal('pop/localhost', { attributes: { disallowSvr: true } });
    const before = db.listPrincipals().map((n) => db.getPrincipal(n));
    const dump = JSON.parse(JSON.stringify(db.dump())) as { principals: { keys: { key: string }[] }[] };
    const text = JSON.stringify(dump);
    expect(text).not.toContain(hex(alice.keys[0]!.key));
    expect(text).not.toContain(Buffer.from(alice.keys[0]!.key).toString('base64'));
    expect(dump.principals).toHaveLength(3);

    db.deletePrincipal('alice');
    db.addPrincipal('zed', { password: 'z' });
    db.load(dump);
    expect(db.listPrincipals()).toEqual(['alice@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST', 'pop/localhost@LAB.TEST']);
    expect(db.listPrincipals().map((n) => db.getPrincipal(n))).toEqual(before);
    expect(db.settings().maxLife).toBe(86400);

    // Into a fresh database made with the same stash file.
    db.close();
    realm.forget();
    const copy = join(realm.dir, '..', 'copy');
    const fresh = track(initRealm(copy, { realm: 'LAB.TEST' }));
    expect(reason(() => fresh.load(dump))).toBe('MASTER_KEY_MISMATCH');
    expect(fresh.listPrincipals()).toEqual(['krbtgt/LAB.TEST@LAB.TEST']);
  });

  it('refuses damaged or foreign dumps and changes nothing', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    db.addPrincipal('alice', { password: 'alice-pw-1' });
    const good = JSON.parse(JSON.stringify(db.dump())) as Record<string, unknown> & { principals: Record<string, unknown>[] };
    const variants: unknown[] = [
      null, 42, [], {}, { ...good, format: 'other' }, { ...good, version: 2 }, { ...good, realm: 'OTHER.TEST' },
      { ...good, principals: 'x' }, { ...good, principals: [null] },
      { ...good, principals: good.principals.filter((p) => p.name !== 'krbtgt/LAB.TEST@LAB.TEST') },
      { ...good, principals: good.principals.map((p) => ({ ...p, name: 'eve@LAB.TEST' })) },
      { ...good, principals: good.principals.map((p) => ({ ...p, kvno: -1 })) },
      { ...good, principals: good.principals.map((p) => ({ ...p, attributes: ['NOPE'] })) },
      { ...good, principals: good.principals.map((p) => ({ ...p, createdAt: 'yesterday' })) },
      { ...good, principals: [...good.principals, good.principals[0]] },
      { ...good, settings: { ...(good.settings as object), enctypes: [1] } },
    ];
    for (const v of variants) expect(reason(() => db.load(v))).toBe('BAD_DUMP');
    // A key blob altered in the dump fails the test-decrypt.
    const tampered = JSON.parse(JSON.stringify(good)) as { principals: { keys: { key: string }[] }[] };
    const k = Buffer.from(tampered.principals[0]!.keys[0]!.key, 'base64');
    k[20]! ^= 1;
    tampered.principals[0]!.keys[0]!.key = k.toString('base64');
    expect(reason(() => db.load(tampered))).toBe('MASTER_KEY_MISMATCH');
    expect(db.listPrincipals()).toEqual(['alice@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST']);
    // update mode keeps what the dump lacks
    db.addPrincipal('bob', { password: 'b' });
    db.load({ ...good, principals: good.principals.filter((p) => p.name === 'alice@LAB.TEST') }, { update: true });
    expect(db.listPrincipals()).toEqual(['alice@LAB.TEST', 'bob@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST']);
  });
});

describe('principals read on demand, in a bounded cache', () => {
  const keys = [{ etype: 18, key: new Uint8Array(32).fill(1) }];
  const keyOf = (i: number) => [{ etype: 18, key: new Uint8Array(32).fill(i % 250) }];

  it('opening a realm reads no principal; a lookup reads one once; a second lookup is served from memory', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    for (let i = 0; i < 50; i++) db.addPrincipal(`user${i}`, { keys: keyOf(i) });
    db.close();
    const kdc = track(openDatabase(realm.dir));
    expect(kdc.cacheStats().cached).toBe(0);
    expect(kdc.cacheStats().reads).toBe(0);
    expect(kdc.lookup(['user7'])!.canonicalName).toBe('user7@LAB.TEST');
    expect(kdc.lookup(['user7'])!.keys[0]!.key[0]).toBe(7);
    expect(kdc.cacheStats()).toMatchObject({ reads: 1, cached: 1 });
    expect(kdc.lookup(['nobody'])).toBeUndefined();
    expect(kdc.lookup(['user7', 'x'])).toBeUndefined();
    expect(kdc.cacheStats().cached).toBe(1);
    // The admin view reads the database, not the cache: every name is listed.
    expect(kdc.listPrincipals('user*')).toHaveLength(50);
  });

  it('with room for 4 records, lookups over 20 principals stay right and memory holds at most 4', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST', cacheSize: 4 }));
    for (let i = 0; i < 20; i++) db.addPrincipal(`user${i}`, { keys: keyOf(i), kvno: i + 1 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        const r = db.lookup([`user${i}`])!;
        expect(r.canonicalName).toBe(`user${i}@LAB.TEST`);
        expect(r.kvno).toBe(i + 1);
        expect(r.keys[0]!.key[0]).toBe(i);
        // krbtgt is looked up by every TGS exchange: it stays (second chance) while others come and go.
        expect(db.lookup(['krbtgt', 'LAB.TEST'])).toBeDefined();
      }
    }
    expect(db.cacheStats().cached).toBeLessThanOrEqual(4);
    const reads = db.cacheStats().reads;
    db.lookup(['krbtgt', 'LAB.TEST']);
    expect(db.cacheStats().reads).toBe(reads);
  });

  it('a record evicted before its lockout bookkeeping was written keeps its failures when read again', () => {
    const db = track(initRealm(realm.dir, { realm: 'LAB.TEST', cacheSize: 2, flushIntervalMs: 3_600_000, lockout: { maxFailures: 3, failureWindow: 600, lockoutDuration: 600 } }));
    db.addPrincipal('alice', { keys });
    for (let i = 0; i < 5; i++) db.addPrincipal(`user${i}`, { keys });
    const at = new Date('2026-12-01T10:00:00Z');
    db.recordFailure('alice@LAB.TEST', at);
    db.recordFailure('alice@LAB.TEST', at);
    for (let i = 0; i < 5; i++) db.lookup([`user${i}`]);
    expect(db.cacheStats().cached).toBeLessThanOrEqual(2);
    expect(db.lookup(['alice'])!.failCount).toBe(2);
    db.recordFailure('alice@LAB.TEST', at);
    expect(isLockedOut(db.lookup(['alice'])!, at)).toBe(true);
    db.flush();
    const other = track(openDatabase(realm.dir));
    expect(other.lookup(['alice'])!.failCount).toBe(3);
  });

  it('a bulk change by another process drops the cache at the next refresh; a small one drops only the names changed', () => {
    const kdc = track(initRealm(realm.dir, { realm: 'LAB.TEST' }));
    kdc.addPrincipal('alice', { keys: keyOf(1) });
    kdc.addPrincipal('carol', { keys: keyOf(3) });
    kdc.refresh();
    expect(kdc.lookup(['alice'])!.keys[0]!.key[0]).toBe(1);
    expect(kdc.lookup(['carol'])!.keys[0]!.key[0]).toBe(3);
    const cached = kdc.cacheStats().cached;
    const cli = track(openDatabase(realm.dir));
    cli.changePassword('alice', { keys: keyOf(2) });
    expect(kdc.refresh()).toBe(true);
    expect(kdc.cacheStats().cached).toBe(cached - 1); // alice went, carol stayed
    const reads = kdc.cacheStats().reads;
    expect(kdc.lookup(['carol'])!.keys[0]!.key[0]).toBe(3);
    expect(kdc.cacheStats().reads).toBe(reads);
    expect(kdc.lookup(['alice'])!.keys[0]!.key[0]).toBe(2);
    // 1,100 changes at once: more than are dropped one by one.
    for (let i = 0; i < 1100; i++) cli.addPrincipal(`bulk${i}`, { keys: keyOf(i) });
    cli.changePassword('alice', { keys: keyOf(4) });
    cli.close();
    expect(kdc.refresh()).toBe(true);
    expect(kdc.cacheStats().cached).toBe(0);
    expect(kdc.lookup(['alice'])!.keys[0]!.key[0]).toBe(4);
    expect(kdc.lookup(['bulk1099'])!.keys[0]!.key[0]).toBe(1099 % 250);
    expect(kdc.lookup(['carol'])!.keys[0]!.key[0]).toBe(3);
  });
});

describe('another process holding the write lock', () => {
  it('the KDC\'s own flush gives up at once and keeps its events; refresh still works; the events land once the lock is gone', () => {
    const kdc = track(initRealm(realm.dir, { realm: 'LAB.TEST', flushIntervalMs: 3_600_000, lockout: { maxFailures: 5, failureWindow: 600, lockoutDuration: 600 } }));
    kdc.addPrincipal('alice', { keys: [{ etype: 18, key: new Uint8Array(32).fill(1) }] });
    const at = new Date('2026-12-01T10:00:00Z');
    kdc.recordFailure('alice@LAB.TEST', at);
    const holder = new Database(join(realm.dir, 'kdc.sqlite'));
    holder.pragma('busy_timeout = 0');
    holder.exec('BEGIN IMMEDIATE');
    try {
      expect(() => kdc.flush({ wait: false })).toThrow(/locked|busy/i);
      expect(kdc.refresh()).toBe(false);
      kdc.recordFailure('alice@LAB.TEST', at);
      expect(kdc.lookup(['alice'])!.failCount).toBe(2);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    kdc.flush({ wait: false });
    const other = track(openDatabase(realm.dir));
    expect(other.lookup(['alice'])!.failCount).toBe(2);
  });
});
