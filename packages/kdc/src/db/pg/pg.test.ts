/**
 * What only a shared PostgreSQL store has: several KDCs (handles here, each
 * as a KDC process holds one) see an administrator's change within a second
 * without asking, count failed pre-authentications exactly across KDCs and
 * enforce a lockout reached through one on all of them, and keep serving
 * from memory while the database is away. Skips only where PostgreSQL is
 * not installed, saying so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, NO_POSTGRES, startPostgres, type Postgres } from '../../../../../test/helpers/postgres.js';
import { buildAsReq, serveRequest } from '../../index.js';
import { initPgRealm, isLockedOut, KdcDbError, lookupLoaded, openPgDatabase, type OpenPgDatabaseOptions, type PgKdcDatabase } from '../index.js';

/** An update dump of the named principals with new random keys (added where new); the database is put back as it was. */
async function changesDump(db: PgKdcDatabase, names: string[]): Promise<unknown> {
  const before = await db.dump();
  for (const n of names) {
    if ((await db.getPrincipal(n)) === undefined) await db.addPrincipal(n, { randkey: true });
    else await db.changePassword(n, { randkey: true });
  }
  const after = (await db.dump()) as { principals: { name: string }[] };
  await db.load(before);
  const wanted = new Set(names.map((n) => `${n}@LAB.TEST`));
  return { ...after, principals: after.principals.filter((p) => wanted.has(p.name)) };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

describe.skipIf(!hasPostgres)(`PostgreSQL store across KDCs${hasPostgres ? '' : ` (skipped: ${NO_POSTGRES})`}`, () => {
  let pg: Postgres;
  let dir = '';
  // Every realm folder made here (each holds a stash), removed at the end.
  const dirs: string[] = [];
  let n = 0;
  let url = '';
  const handles: PgKdcDatabase[] = [];
  const open = async (o: OpenPgDatabaseOptions = {}): Promise<PgKdcDatabase> => {
    const db = await openPgDatabase(url, dir, o);
    handles.push(db);
    return db;
  };

  beforeAll(async () => {
    pg = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'kdc-pg-'));
    dirs.push(dir);
  });
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.close();
  });
  afterAll(async () => {
    await pg?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function freshRealm(opts: Parameters<typeof initPgRealm>[2] = { realm: 'LAB.TEST' }): Promise<PgKdcDatabase> {
    const name = `r${++n}`;
    pg.createDatabase(name);
    url = pg.urlFor(name);
    dir = mkdtempSync(join(tmpdir(), 'kdc-pg-'));
    dirs.push(dir);
    const db = await initPgRealm(url, dir, { follow: false, ...opts });
    handles.push(db);
    return db;
  }

  it('a KDC sees a change made through another handle within a second, without asking (LISTEN/NOTIFY)', async () => {
    const admin = await freshRealm();
    const kdc = await open();
    // A request for alice before she exists: the KDC holds her absence ...
    expect(await lookupLoaded(kdc, ['alice'])).toBeUndefined();
    await admin.addPrincipal('alice', { password: 'Alice-pw-1' });
    // ... which the change feed drops, so she is served once added.
    const t = await until('alice on the KDC', async () => (await lookupLoaded(kdc, ['alice'])) !== undefined, 1000);
    expect(t).toBeLessThan(1000);
    const seen = (await lookupLoaded(kdc, ['alice']))!;
    expect(Buffer.from(seen.keys[0]!.key).toString('hex')).toBe(Buffer.from((await lookupLoaded(admin, ['alice']))!.keys[0]!.key).toString('hex'));
    await admin.changePassword('alice', { password: 'Alice-pw-2' });
    await until('kvno 2 on the KDC', async () => (await lookupLoaded(kdc, ['alice']))!.kvno === 2, 1000);
    await admin.updateSettings({ maxLife: 1800 });
    await until('the new max life on the KDC', async () => kdc.settings().maxLife === 1800, 1000);
    await admin.deletePrincipal('alice');
    await until('alice gone from the KDC', async () => (await lookupLoaded(kdc, ['alice'])) === undefined, 1000);
  });

  it('counts failures spread over two KDCs exactly, and a lockout reached through one holds on the other', async () => {
    const admin = await freshRealm();
    await admin.addPrincipal('alice', { password: 'Alice-pw-1' });
    const a = await open();
    const b = await open();
    // Each KDC reads alice on her first AS-REQ, before it can record anything for her.
    for (const k of [a, b]) expect(await lookupLoaded(k, ['alice'])).toBeDefined();
    const t0 = new Date('2026-11-30T08:00:00Z');
    const at = (i: number) => new Date(t0.getTime() + i * 10);
    // No lockout: 13 failures recorded at once on both KDCs, written concurrently; none is lost.
    for (let i = 0; i < 13; i++) (i % 2 === 0 ? a : b).recordFailure('alice@LAB.TEST', at(i));
    await Promise.all([a.flush(), b.flush()]);
    const check = await open({ follow: false });
    expect((await lookupLoaded(check, ['alice']))!.failCount).toBe(13);
    // Each KDC's copy follows the row (the other's notification).
    await until('both KDCs at 13', async () => (await lookupLoaded(a, ['alice']))!.failCount === 13 && (await lookupLoaded(b, ['alice']))!.failCount === 13, 1000);

    await admin.updateSettings({ lockout: { maxFailures: 5, failureWindow: 600, lockoutDuration: 600 } });
    await admin.modifyPrincipal('alice', { unlock: true });
    await until('the policy and the unlock on both', async () => (await Promise.all([a, b].map(async (k) => k.settings().lockout.maxFailures === 5 && (await lookupLoaded(k, ['alice']))!.failCount === 0))).every(Boolean), 1000);
    const t1 = new Date(t0.getTime() + 60_000);
    // 2 + 2 through alternate KDCs, then the fifth through a: locked there at once ...
    for (const [k, i] of [[a, 0], [b, 1], [a, 2], [b, 3]] as const) {
      k.recordFailure('alice@LAB.TEST', new Date(t1.getTime() + i));
      await k.flush();
    }
    await until('4 failures on both', async () => (await lookupLoaded(a, ['alice']))!.failCount === 4 && (await lookupLoaded(b, ['alice']))!.failCount === 4, 1000);
    expect(isLockedOut((await lookupLoaded(b, ['alice']))!, t1)).toBe(false);
    a.recordFailure('alice@LAB.TEST', new Date(t1.getTime() + 4));
    expect(isLockedOut((await lookupLoaded(a, ['alice']))!, new Date(t1.getTime() + 5))).toBe(true);
    await a.flush();
    // ... and on b as soon as the lockout's notification arrives (milliseconds).
    const lag = await until('the lockout on b', async () => isLockedOut((await lookupLoaded(b, ['alice']))!, new Date(t1.getTime() + 5)), 1000);
    expect(lag).toBeLessThan(1000);
    expect((await lookupLoaded(b, ['alice']))!.failCount).toBe(5);
    const row = await open({ follow: false });
    expect((await lookupLoaded(row, ['alice']))!.failCount).toBe(5);
    expect((await lookupLoaded(row, ['alice']))!.lockedUntil).toEqual(new Date(t1.getTime() + 4 + 600_000));
  });

  it('reads principals on demand into a bounded cache; a bulk change re-reads only the changed names it holds', async () => {
    const admin = await freshRealm();
    for (let i = 0; i < 20; i++) await admin.addPrincipal(`u${i}`, { randkey: true });
    // The bulk change to come, made beforehand: u1 with a new key, nobody and 1,100 others added.
    const extra = await changesDump(admin, ['u1', 'nobody', ...Array.from({ length: 1100 }, (_, i) => `bulk${i}`)]);
    const kdc = await open({ cacheSize: 8 });
    expect(kdc.cacheStats()).toEqual({ reads: 0, cached: 0, capacity: 8, absent: 0 });
    for (let i = 0; i < 20; i++) expect((await lookupLoaded(kdc, [`u${i}`]))?.canonicalName).toBe(`u${i}@LAB.TEST`);
    expect(kdc.cacheStats().reads).toBe(20);
    expect(kdc.cacheStats().cached).toBeLessThanOrEqual(8);
    // Names asked for in one turn of the event loop are read together, each once.
    const many = await Promise.all(['u0', 'u1', 'u2', 'u1', 'nobody'].map((n) => lookupLoaded(kdc, [n])));
    expect(many.map((r) => r?.canonicalName)).toEqual(['u0@LAB.TEST', 'u1@LAB.TEST', 'u2@LAB.TEST', 'u1@LAB.TEST', undefined]);
    // The KDC re-reads what it holds that changed (u1's new key), forgets every absence (nobody), reads nothing else.
    const u1Before = Buffer.from((await lookupLoaded(kdc, ['u1']))!.keys[0]!.key).toString('hex');
    const readsBefore = kdc.cacheStats().reads;
    await admin.load(extra, { update: true });
    await until('the new u1 on the KDC', async () => Buffer.from((await lookupLoaded(kdc, ['u1']))!.keys[0]!.key).toString('hex') !== u1Before, 2000);
    expect(kdc.cacheStats().reads - readsBefore).toBeLessThanOrEqual(8);
    expect(await lookupLoaded(kdc, ['nobody'])).toBeDefined();
    expect(kdc.cacheStats().cached).toBeLessThanOrEqual(8);
  });

  it('a policy assigned through another handle reaches a KDC holding the principal; assignments are read with principals, not per refresh', async () => {
    const admin = await freshRealm();
    await admin.policies.add('strict', { maxFailure: 1, failureCountInterval: 60, lockoutDuration: 60 });
    await admin.addPrincipal('alice', { password: 'Alice-pw-1' });
    await admin.addPrincipal('bob', { password: 'Bob-pw-1' });
    const kdc = await open();
    expect(await lookupLoaded(kdc, ['alice'])).toBeDefined();
    expect(kdc.policies.lockoutOf('alice@LAB.TEST')).toBeUndefined();
    await admin.policies.assign('alice@LAB.TEST', 'strict');
    await until('the policy on the KDC', () => kdc.policies.lockoutOf('alice@LAB.TEST')?.maxFailures === 1, 1000);
    // bob's assignment is read when bob is.
    await admin.policies.assign('bob@LAB.TEST', 'strict');
    expect(await lookupLoaded(kdc, ['bob'])).toBeDefined();
    expect(kdc.policies.policyNameOf('bob@LAB.TEST')).toBe('strict');
    await admin.policies.assign('alice@LAB.TEST', undefined);
    await until('the policy gone on the KDC', () => kdc.policies.policyNameOf('alice@LAB.TEST') === undefined, 1000);
  });

  it('answers a flood of AS-REQs for names that do not exist (read in batches, remembered as absent within the bound) and goes on serving', async () => {
    const admin = await freshRealm();
    await admin.addPrincipal('alice', { password: 'Alice-pw-1' });
    const kdc = await open({ cacheSize: 1000 });
    const ctx = { store: kdc, now: () => new Date('2026-11-30T08:00:00Z'), enctypes: [18, 17] };
    const statuses = new Map<string, number>();
    const replies = await Promise.all(Array.from({ length: 5000 }, (_, i) => serveRequest(buildAsReq({ realm: 'LAB.TEST', cname: [`ghost${i}`], etypes: [18] }), ctx, { transport: 'udp', address: '127.0.0.2', port: 1 })));
    for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    expect(statuses).toEqual(new Map([['C_PRINCIPAL_UNKNOWN', 5000]]));
    expect(kdc.cacheStats().absent).toBeLessThanOrEqual(1000);
    const ok = await serveRequest(buildAsReq({ realm: 'LAB.TEST', cname: ['alice'], etypes: [18] }), ctx, { transport: 'udp', address: '127.0.0.3', port: 1 });
    expect(ok.status).toBe('PREAUTH_REQUIRED');
  });

  it('a read on demand that crosses a change already applied is read again, never installed stale', async () => {
    const admin = await freshRealm();
    await admin.addPrincipal('alice', { password: 'Alice-pw-1' });
    let kdc: PgKdcDatabase | undefined;
    let crossed = false;
    kdc = await open({
      // The first read of alice has its rows; before it installs them, alice's key changes and this KDC's refresh runs.
      interleaveRead: async (_point, names) => {
        if (crossed || !names.includes('alice@LAB.TEST')) return;
        crossed = true;
        await admin.changePassword('alice', { password: 'Alice-pw-2' });
        await kdc!.refresh();
      },
    });
    const seen = await lookupLoaded(kdc, ['alice']);
    expect(crossed).toBe(true);
    expect(seen?.kvno).toBe(2);
    expect(Buffer.from(seen!.keys[0]!.key).toString('hex')).toBe(Buffer.from((await admin.getPrincipal('alice'))!.keys[0]!.key).toString('hex'));
  });

  it('keeps a master password\'s realm without a stash: the database holds only the scrypt parameters and the check value', async () => {
    const db = await freshRealm({ realm: 'LAB.TEST', masterPassword: 'Master-pw-1' });
    await db.addPrincipal('alice', { password: 'Alice-pw-1' });
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'stash'))).toBe(false);
    const reason = (p: Promise<unknown>) => p.then(() => 'opened', (e: unknown) => (e instanceof KdcDbError ? e.reason : String(e)));
    expect(await reason(openPgDatabase(url, dir, { follow: false }))).toBe('MASTER_PASSWORD_REQUIRED');
    expect(await reason(openPgDatabase(url, dir, { follow: false, masterPassword: 'wrong' }))).toBe('MASTER_KEY_MISMATCH');
    const other = await open({ follow: false, masterPassword: 'Master-pw-1' });
    expect(Buffer.from((await lookupLoaded(other, ['alice']))!.keys[0]!.key).toString('hex')).toBe(Buffer.from((await lookupLoaded(db, ['alice']))!.keys[0]!.key).toString('hex'));
    const meta = pg.psql('SELECT k FROM kpop_kdc.meta ORDER BY k', `r${n}`).trim().split('\n');
    expect(meta).toEqual(['master_check', 'master_kdf', 'realm', 'schema_version', 'settings']);
  });

  it('a realm made anew under a running KDC (schema dropped, init again on the same stash) drops all it held: the old principals gone, the new ones read', async () => {
    const admin = await freshRealm();
    await admin.addPrincipal('old1', { randkey: true });
    await admin.addPrincipal('old2', { randkey: true });
    await admin.addPrincipal('old3', { randkey: true });
    await admin.close();
    const kdc = await open();
    expect((await lookupLoaded(kdc, ['old3']))).toBeDefined();
    pg.psql('DROP SCHEMA kpop_kdc CASCADE', `r${n}`);
    const again = await initPgRealm(url, dir, { realm: 'LAB.TEST', follow: false });
    handles.push(again);
    await again.addPrincipal('new1', { randkey: true });
    await kdc.refresh();
    expect((await lookupLoaded(kdc, ['new1']))).toBeDefined();
    expect((await lookupLoaded(kdc, ['old1']))).toBeUndefined();
    expect(await kdc.listPrincipals()).toEqual(['krbtgt/LAB.TEST@LAB.TEST', 'new1@LAB.TEST']);
  });

  it.each(['pause', 'crash'] as const)('serves from memory while the database is away (%s), says so once, reconnects and catches up; admin calls fail with one clear line', async (how) => {
    const admin = await freshRealm({ realm: 'LAB.TEST', lockout: { maxFailures: 0, failureWindow: 600, lockoutDuration: 600 } });
    await admin.addPrincipal('alice', { password: 'Alice-pw-1' });
    await admin.close();
    const lines: string[] = [];
    const kdc = await open({ onStatus: (l) => lines.push(l), maxBackoffMs: 300 });
    // The principals it has served are in memory (read on demand); nothing else is.
    expect((await lookupLoaded(kdc, ['alice']))?.kvno).toBe(1);
    expect(await lookupLoaded(kdc, ['krbtgt', 'LAB.TEST'])).toBeDefined();
    // A clean shutdown (the server tells its clients) or a crash (connections cut).
    if (how === 'pause') pg.pause();
    else pg.crash();
    try {
      await until('the lost line', async () => lines.length > 0);
      expect(lines[0]).toMatch(/^kdc: lost the database at postgresql:\/\/127\.0\.0\.1:\d+\/r\d+ \(.+\); serving the 2 principals in memory, reconnecting$/);
      // Still serving: lookups and bookkeeping from memory.
      expect((await lookupLoaded(kdc, ['alice']))?.kvno).toBe(1);
      kdc.recordFailure('alice@LAB.TEST', new Date('2026-11-30T08:00:00Z'));
      expect((await lookupLoaded(kdc, ['alice']))!.failCount).toBe(1);
      expect(await kdc.refresh()).toBe(false);
      // A principal it does not hold cannot be read: the request handler answers SVC_UNAVAILABLE for it.
      const away = await Promise.resolve(lookupLoaded(kdc, ['pop', 'mail.lab.test'])).then(() => 'read', (e: unknown) => (e instanceof KdcDbError ? e.reason : String(e)));
      expect(away).toBe('UNREACHABLE');
      // An administrative call fails with one line, no password.
      const err = await kdc.addPrincipal('bob', { randkey: true }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(KdcDbError);
      expect((err as KdcDbError).reason).toBe('UNREACHABLE');
      expect((err as Error).message).toMatch(/^cannot reach the database at postgresql:\/\/127\.0\.0\.1:\d+\/r\d+: /);
      expect((err as Error).message).not.toContain(pg.password);
      await expect(openPgDatabase(url, dir, { follow: false })).rejects.toThrow(/^cannot reach the database at postgresql:\/\/127\.0\.0\.1:\d+\/r\d+: connection refused$/);
      // Several reconnection attempts later, still one line.
      await new Promise((r) => setTimeout(r, 1200));
      expect(lines).toHaveLength(1);
    } finally {
      pg.resume();
    }
    await until('the back line', async () => lines.length > 1, 10_000);
    expect(lines[1]).toMatch(/^kdc: the database at postgresql:\/\/127\.0\.0\.1:\d+\/r\d+ is reachable again; serving what it holds now$/);
    // The failure recorded while away reached the database, and changes flow again.
    const failCount = (): string => pg.psql("SELECT fail_count FROM kpop_kdc.principals WHERE name = 'alice@LAB.TEST'", `r${n}`).trim();
    await until('the queued failure in the database', async () => failCount() === '1', 5000);
    const other = await open({ follow: false });
    await other.addPrincipal('carol', { randkey: true });
    await until('carol on the KDC', async () => (await lookupLoaded(kdc, ['carol'])) !== undefined, 1000);
  });

  it('a transaction whose connection the server ends between two statements fails with a connection error; nothing is thrown at the process', async () => {
    // A KDC died of exactly this: the primary's shutdown (57P01) reached a client pg-pool had handed out while
    // no statement ran on it, and its 'error' event had no listener.
    const { inTransaction, isConnectionError, makePool } = await import('./connection.js');
    await freshRealm();
    const pool = await makePool(url, 2);
    const admin = await makePool(url, 1);
    const uncaught: unknown[] = [];
    const hear = (e: unknown): void => void uncaught.push(e);
    process.on('uncaughtException', hear);
    try {
      const cut = inTransaction(pool, 'BEGIN', async (c) => {
        const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        // The server's FATAL arrives while this client runs nothing.
        await new Promise((r) => setTimeout(r, 300));
        await c.query('SELECT 1');
      });
      const err = await cut.then(() => undefined, (e: unknown) => e);
      expect(err).toBeDefined();
      expect(isConnectionError(err)).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(uncaught).toEqual([]);
      // The broken client was discarded: the pool serves the next transaction.
      expect(await inTransaction(pool, 'BEGIN', async (c) => (await c.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one)).toBe(1);
    } finally {
      process.off('uncaughtException', hear);
      await pool.end();
      await admin.end();
    }
  });
});

describe('the database URL in messages', () => {
  it('shows host, port and database, never the user or the password', async () => {
    const { displayUrl, describePgError, unreachable } = await import('./connection.js');
    expect(displayUrl('postgresql://kdc:s3cr%40t@db.lab.test:6432/realm?sslmode=require')).toBe('postgresql://db.lab.test:6432/realm');
    expect(displayUrl('postgres://kdc:pw@db.lab.test/kdc')).toBe('postgresql://db.lab.test:5432/kdc');
    const url = 'postgresql://kdc:s3cr%40t@db.lab.test:6432/realm';
    // A driver message that quoted the URL or the password gets both scrubbed.
    expect(describePgError(new Error(`weird failure for ${url} with s3cr@t`), url)).toBe('weird failure for postgresql://db.lab.test:6432/realm with ***');
    expect(unreachable(url, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).message).toBe('cannot reach the database at postgresql://db.lab.test:6432/realm: connection refused');
    expect(unreachable(url, Object.assign(new Error('password authentication failed for user "kdc"'), { code: '28P01' })).message).toBe('cannot reach the database at postgresql://db.lab.test:6432/realm: password authentication failed');
  });
});
