// A large realm on both stores (what issue 11 item 6, on-demand reads, is
// about): a dump of N principals × 4 keys made under a stash's master key is
// loaded into SQLite and into PostgreSQL, then each is opened (every key
// decrypted into memory) and the process's heap growth is reported.
//
//   node --expose-gc --conditions=kpop-source --import tsx bench/kdc-pg/scale.ts [100000 ...]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPgRealm, initRealm, openDatabase, openPgDatabase } from '@kpop/kdc';
import { readStashFile } from '../../packages/kdc/src/db/master-key.js';
import { keyAad } from '../../packages/kdc/src/db/schema.js';
import { hasPostgres, NO_POSTGRES, startPostgres } from '../../test/helpers/postgres.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;
const gcNow = (): void => (globalThis as { gc?: () => void }).gc?.();
if ((globalThis as { gc?: unknown }).gc === undefined) console.log("(run node with --expose-gc for the heap figures)");

if (!hasPostgres) {
  console.log(`skipped: ${NO_POSTGRES}`);
} else {
  for (const n of sizes.length ? sizes : [20_000]) {
    const pg = await startPostgres();
    const tmp = mkdtempSync(join(tmpdir(), 'bench-kdc-scale-'));
    try {
      const liteDir = join(tmp, 'lite');
      const lite = initRealm(liteDir, { realm: 'BENCH.TEST' });
      const mkey = readStashFile(join(liteDir, 'stash'));
      const dump = lite.dump() as { principals: unknown[] };
      let t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const name = `user${i}@BENCH.TEST`;
        const keys = [18, 17, 20, 19].map((etype) => ({ kvno: 1, etype, salt: `BENCH.TESTuser${i}`, key: Buffer.from(mkey.encrypt(new Uint8Array(etype === 18 || etype === 20 ? 32 : 16).fill(i & 255), keyAad(name, 1, etype))).toString('base64') }));
        dump.principals.push({ name, components: [`user${i}`], nameType: 1, kvno: 1, attributes: ['REQUIRES_PRE_AUTH'], maxLife: 0, maxRenew: 0, expiresAt: null, pwExpiresAt: null, lastPwChange: null, createdAt: '2026-12-01T00:00:00.000Z', modifiedAt: '2026-12-01T00:00:00.000Z', lastSuccess: null, lastFailure: null, failCount: 0, lockedUntil: null, keys });
      }
      console.log(`${`dump of ${n} principals made`.padEnd(44)} ${(performance.now() - t0).toFixed(0).padStart(8)} ms`);
      t0 = performance.now();
      lite.load(dump);
      console.log(`${'load into SQLite'.padEnd(44)} ${(performance.now() - t0).toFixed(0).padStart(8)} ms`);
      lite.close();
      const onPg = await initPgRealm(pg.url, liteDir, { realm: 'BENCH.TEST', follow: false });
      t0 = performance.now();
      await onPg.load(dump);
      console.log(`${'load into PostgreSQL'.padEnd(44)} ${(performance.now() - t0).toFixed(0).padStart(8)} ms`);
      await onPg.close();
      // Each store opened once to warm up, then measured in turn; the heap figure is what the open view holds.
      const stores = [['SQLite', async () => openDatabase(liteDir)], ['PostgreSQL', () => openPgDatabase(pg.url, liteDir, { follow: false })]] as const;
      for (const [store, open] of stores) {
        gcNow();
        const heap0 = process.memoryUsage().heapUsed;
        t0 = performance.now();
        let db: Awaited<ReturnType<typeof open>> | undefined = await open();
        const ms = performance.now() - t0;
        gcNow();
        const mem = process.memoryUsage();
        console.log(`${`open ${(await db.listPrincipals()).length} principals x 4 keys, ${store}`.padEnd(44)} ${ms.toFixed(0).padStart(8)} ms, heap +${mb(mem.heapUsed - heap0)} (now ${mb(mem.heapUsed)}, RSS ${mb(mem.rss)})`);
        await db.close();
        db = undefined;
      }
    } finally {
      await pg.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}
