// The principal database on PostgreSQL beside SQLite, in the same run: an
// administrative write, refresh() with nothing changed, opening a realm of N
// principals (every key decrypted once), `kdc load` of N principals, how long
// a change takes to reach another KDC's memory (LISTEN/NOTIFY), and a batch
// of lockout bookkeeping. Lookups are the same memory reads on both stores
// (bench/kdc-db measures them). A throwaway cluster (test/helpers/postgres.ts);
// skipped when PostgreSQL is not installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPgRealm, initRealm, lookupLoaded, openDatabase, openPgDatabase, type RealmDatabase } from '@kpop/kdc';
import { hasPostgres, NO_POSTGRES, startPostgres } from '../../test/helpers/postgres.js';

const N = 2000;
const key32 = new Uint8Array(32).fill(7);
const key16 = new Uint8Array(16).fill(7);
const keys = [{ etype: 18, key: key32 }, { etype: 17, key: key16 }, { etype: 20, key: key32 }, { etype: 19, key: key16 }];
const row = (name: string, sqlite: number, pg: number, unit: string): void =>
  console.log(`${name.padEnd(52)} ${sqlite.toFixed(unit === 'ms' ? 1 : 0).padStart(10)} ${pg.toFixed(unit === 'ms' ? 1 : 0).padStart(12)} ${unit}`);

async function time(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

if (!hasPostgres) {
  console.log(`skipped: ${NO_POSTGRES}`);
} else {
  const pg = await startPostgres();
  const tmp = mkdtempSync(join(tmpdir(), 'bench-kdc-pg-'));
  try {
    pg.createDatabase('b2');
    const lite = initRealm(join(tmp, 'lite'), { realm: 'BENCH.TEST' });
    const onPg = await initPgRealm(pg.url, join(tmp, 'pg'), { realm: 'BENCH.TEST', follow: false });
    console.log(`${''.padEnd(52)} ${'SQLite'.padStart(10)} ${'PostgreSQL'.padStart(12)}`);
    const adds = async (db: RealmDatabase): Promise<number> => {
      const t = await time(async () => {
        for (let i = 0; i < N; i++) await db.addPrincipal(`user${i}`, { keys });
      });
      return (t * 1000) / N;
    };
    row(`addPrincipal (one transaction each, ${N})`, await adds(lite), await adds(onPg), 'µs/op');
    const refreshes = async (db: RealmDatabase): Promise<number> => ((await time(async () => {
      for (let i = 0; i < 1000; i++) await db.refresh();
    })) * 1000) / 1000;
    row('refresh() with nothing changed', await refreshes(lite), await refreshes(onPg), 'µs/op');
    const dump = await onPg.dump();
    const pgDir = join(tmp, 'pg');
    row(`open a realm of ${N + 1} principals x 4 keys`, await time(() => openDatabase(join(tmp, 'lite')).close()),
      await time(async () => (await openPgDatabase(pg.url, pgDir, { follow: false })).close()), 'ms');
    const pg2 = await initPgRealm(pg.urlFor('b2'), pgDir, { realm: 'BENCH.TEST', follow: false });
    // (pg2 shares pgDir's stash, so the dump made under that master key loads into it.)
    row(`kdc load of ${N + 1} principals (full)`, await time(() => lite.load(JSON.parse(JSON.stringify(lite.dump())))), await time(() => pg2.load(dump)), 'ms');
    await pg2.close();

    // A change reaching another KDC's memory: SQLite at the server's next refresh (every 500 ms), PostgreSQL by NOTIFY.
    // The follower was asked for each name before it existed, so it holds the name as absent until the notification.
    const follower = await openPgDatabase(pg.url, pgDir, { follow: true });
    const lags: number[] = [];
    for (let i = 0; i < 50; i++) {
      if ((await lookupLoaded(follower, [`lag${i}`])) !== undefined) throw new Error(`lag${i} exists already`);
      const t0 = performance.now();
      await onPg.addPrincipal(`lag${i}`, { keys });
      while ((await lookupLoaded(follower, [`lag${i}`])) === undefined) await new Promise((r) => setImmediate(r));
      lags.push(performance.now() - t0);
    }
    lags.sort((a, b) => a - b);
    console.log(`${'addprinc on one handle -> in another KDC\'s memory'.padEnd(52)} ${'<= 500'.padStart(10)} ${lags[25]!.toFixed(1).padStart(12)} ms (median of 50, PostgreSQL: p90 ${lags[45]!.toFixed(1)} ms; SQLite: the server's refresh interval)`);
    await follower.close();

    const at = new Date();
    const failures = async (db: RealmDatabase): Promise<number> => {
      // A KDC records failures for principals it has read (their AS-REQs did): read them first, outside the timing.
      await Promise.all(Array.from({ length: N }, (_, i) => lookupLoaded(db, [`user${i}`])));
      return time(async () => {
        for (let i = 0; i < N; i++) db.recordFailure(`user${i}@BENCH.TEST`, at);
        await db.flush();
      });
    };
    row(`${N} failures recorded, then flush()`, await failures(lite), await failures(onPg), 'ms');
    lite.close();
    await onPg.close();
  } finally {
    await pg.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
