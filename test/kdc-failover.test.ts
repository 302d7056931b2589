/**
 * Failover with MIT's own clients: two `kdc start` processes on one database
 * (one SQLite file in one --dir; one PostgreSQL database, a throwaway cluster
 * from helpers/postgres.ts), a krb5.conf naming both, parallel loops of
 * MIT kinit (password) + kvno. The first KDC is killed with SIGKILL and
 * started again on its port: no kinit and no kvno fails; a principal added
 * with `kdc addprinc` while it is down is served by the other KDC (the delay
 * is logged; the figure for the README comes from bench/kdc-failover); the
 * restarted KDC serves the old and the new principal on its own.
 * The scenario lives in helpers/kdc-failover.ts, shared with the bench.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAILOVER_USER, initFailoverRealm, kdc, killAll, mitLogin, REALM, runFailover, startKdc, startLoad, writeKrb5Conf, type FailoverStore, type Login, type LoginUser } from './helpers/kdc-failover.js';
import { startReplica, type Replica } from './helpers/pg-replica.js';
import { hasMitClients } from './helpers/mit-realm.js';
import { hasPostgres, NO_POSTGRES, startPostgres } from './helpers/postgres.js';

const ROOT = join(import.meta.dirname, '..');
const skipMit = hasMitClients ? '' : ' (skipped: MIT kinit/kvno not installed: apt-get install krb5-user)';

let tmp: string;

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  tmp = mkdtempSync(join(tmpdir(), 'kdc-failover-'));
}, 120_000);

afterAll(() => {
  killAll();
  rmSync(tmp, { recursive: true, force: true });
});

interface StoreCase {
  name: string;
  /** Why the case skips ('' when it runs). */
  skip: string;
  /** The store for a fresh realm; stop() ends whatever it started. */
  open(dir: string): Promise<{ store: FailoverStore; stop(): Promise<void> }>;
}

const stores: StoreCase[] = [
  {
    name: 'SQLite (two processes on one --dir)',
    skip: skipMit,
    open: async (dir) => ({ store: { name: 'SQLite', args: ['--dir', dir] }, stop: async () => {} }),
  },
  {
    name: 'PostgreSQL (two processes on one database, KPOP_KDC_DB)',
    skip: skipMit || (hasPostgres ? '' : ` (skipped: ${NO_POSTGRES})`),
    // A throwaway cluster; the URL (with its password) reaches the kdc commands through the environment.
    open: async (dir) => {
      const pg = await startPostgres();
      return { store: { name: 'PostgreSQL', args: ['--dir', dir], env: { KPOP_KDC_DB: pg.url } }, stop: () => pg.stop() };
    },
  },
];

describe.each(stores)('failover between two KDCs, $name', (c) => {
  it.skipIf(c.skip !== '')(`MIT kinit + kvno under load lose no login when one KDC is SIGKILLed and restarted; addprinc meanwhile is served by the other${c.skip}`, async () => {
    const sub = mkdtempSync(join(tmp, 'case-'));
    const { store, stop } = await c.open(join(sub, 'db'));
    try {
      await initFailoverRealm(store);
      const r = await runFailover(store, sub, { clients: 4, beforeKillMs: 2000, outageMs: 3000, afterRestartMs: 2000 }, (l) => console.log(l));
      console.log(`${r.store}: ${r.attempted} logins, ${r.failed.length} failed; longest before the kill ${Math.round(r.longestBeforeKillMs)} ms, during the outage ${Math.round(r.longestDuringOutageMs)} ms; addprinc to served ${Math.round(r.addprincToServedMs)} ms (the kinit itself ${Math.round(r.servedKinitMs)} ms)`);

      // Every kinit and every kvno exited 0, before, during and after the outage.
      expect(r.failed.map((f) => f.detail), `the KDCs' last refusals:\n${r.kdcRefusals.join('\n')}\nand their stderr:\n${r.kdcStderr.join('\n')}`).toEqual([]);
      expect(r.attempted).toBeGreaterThan(8);
      // The second KDC carried the load while the first was dead, and the restarted one took it back
      // (MIT asks the KDCs in krb5.conf order).
      expect(r.secondKdcIssuedDuringOutage).toBeGreaterThan(0);
      expect(r.restartedIssued).toBeGreaterThan(0);
      // The principal added while KDC 1 was down was served by KDC 2 without a restart (SQLite: it
      // re-reads the change counter every 500 ms; PostgreSQL: NOTIFY at commit); -1 would mean not in 10 s.
      expect(r.addprincToServedMs).toBeGreaterThanOrEqual(0);
      // The restarted KDC alone (krb5.conf naming only it) serves the old principal and the one added while it was dead.
      expect(r.restartedAlone.existing.detail).toBeUndefined();
      expect(r.restartedAlone.existing.ok).toBe(true);
      expect(r.restartedAlone.added.detail).toBeUndefined();
      expect(r.restartedAlone.added.ok).toBe(true);
      // Nothing the KDCs said was an error (a refresh failure would show here).
      for (const e of r.kdcStderr) expect(e).not.toMatch(/cannot refresh|error/i);
    } finally {
      killAll();
      await stop();
    }
  }, 60_000);
});

describe('PostgreSQL: the replica promoted in the primary\'s place', () => {
  const skip = skipMit || (hasPostgres ? '' : ` (skipped: ${NO_POSTGRES})`);
  it.skipIf(skip !== '')(`two KDCs serve MIT's logins while the primary stops and its streaming replica is promoted at the primary's address; they reconnect and serve a principal added on it${skip}`, async () => {
    const sub = mkdtempSync(join(tmp, 'replica-'));
    const pg = await startPostgres();
    let replica: Replica | undefined;
    const store: FailoverStore = { name: 'PostgreSQL', args: ['--dir', join(sub, 'db')], env: { KPOP_KDC_DB: pg.url } };
    try {
      await initFailoverRealm(store);
      replica = await startReplica(pg);
      expect(replica.inRecovery()).toBe(true);
      const kdc1 = await startKdc(store);
      const kdc2 = await startKdc(store);
      const both = writeKrb5Conf(join(sub, 'krb5-both.conf'), REALM, [kdc1.port, kdc2.port]);
      const load = startLoad(both, sub, FAILOVER_USER, 2);
      let loadStopped = false;
      try {
        await new Promise((r) => setTimeout(r, 1000));
        // The primary goes (a clean shutdown streams its last WAL to the replica), the replica is promoted
        // and takes the primary's address, as a DNS name or a floating address would move.
        pg.pause();
        replica.promote();
        replica.moveTo(pg.port);
        expect(replica.inRecovery()).toBe(false);
        // An admin command reaches the promoted replica through the same URL.
        const add = await kdc(store, ['addprinc', 'carol', '--password', 'carol-pw']);
        expect(add.code, add.out).toBe(0);
        const addedAt = Date.now();
        const carol: LoginUser = { principal: `carol@${REALM}`, password: 'carol-pw', service: FAILOVER_USER.service };
        // Each KDC reconnects (backoff up to 10 s: within 10 s of the database's return plus a connection's
        // 5 s timeout), then, on its own (a krb5.conf naming only it), serves her.
        for (const [i, k] of [kdc1, kdc2].entries()) {
          const why = (): string => `KDC ${i + 1} (exit ${k.child.exitCode ?? 'none'}, signal ${k.child.signalCode ?? 'none'}) said:\n${k.stderr()}\nrefused:\n${k.refusals().join('\n')}`;
          for (const end = Date.now() + 30_000; Date.now() < end && !/is reachable again/.test(k.stderr()); ) await new Promise((r) => setTimeout(r, 100));
          expect(k.stderr(), why()).toMatch(/is reachable again/);
          const only = writeKrb5Conf(join(sub, `krb5-only${i + 1}.conf`), REALM, [k.port]);
          let last: Login | undefined;
          for (let n = 0, end = Date.now() + 10_000; Date.now() < end && !last?.ok; n++) {
            if (n) await new Promise((r) => setTimeout(r, 250));
            last = await mitLogin(only, join(sub, `cc-carol-${i}-${n % 2}`), sub, carol);
          }
          expect(last?.detail, why()).toBeUndefined();
          expect(last?.ok, why()).toBe(true);
          console.log(`KDC ${i + 1} served the principal added on the promoted replica ${Date.now() - addedAt} ms after addprinc returned`);
        }
        await load.stop();
        loadStopped = true;
        // No login failed while the database moved: the KDCs served from memory.
        expect(load.logins.filter((l) => !l.ok).map((l) => l.detail)).toEqual([]);
        expect(load.logins.length).toBeGreaterThan(2);
        for (const k of [kdc1, kdc2]) {
          expect(k.stderr()).toMatch(/kdc: lost the database at postgresql:\/\/127\.0\.0\.1:\d+\/kdc \(/);
          expect(k.stderr()).toMatch(/is reachable again/);
          expect(k.stderr()).not.toContain(pg.password);
        }
      } finally {
        if (!loadStopped) await load.stop();
      }
    } finally {
      killAll();
      replica?.stop();
      await pg.stop();
    }
  }, 90_000);
});
