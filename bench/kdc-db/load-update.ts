// `kdc load --update` onto existing names (the dump of the realm loaded back
// into it), with and without the deleted(name) index of schema version 2:
// without it, each name's `DELETE FROM deleted WHERE name = ?` scans the
// tombstones the load itself has written so far (quadratic).
//
//   node --import tsx bench/kdc-db/load-update.ts [10000 30000 ...]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { initRealm, openDatabase } from '@kpop/kdc';

// better-sqlite3 is @kpop/kdc's dependency: reach it through that package.
const Database = createRequire(fileURLToPath(new URL('../../packages/kdc/package.json', import.meta.url)))('better-sqlite3') as new (file: string) => { exec(sql: string): void; close(): void };

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const key32 = new Uint8Array(32).fill(7);
const key16 = new Uint8Array(16).fill(7);

for (const n of sizes.length ? sizes : [10_000, 30_000]) {
  const dir = join(mkdtempSync(join(tmpdir(), 'bench-kdc-load-')), 'db');
  const db = initRealm(dir, { realm: 'BENCH.TEST' });
  for (let i = 0; i < n; i++) db.addPrincipal(`user${i}`, { keys: [{ etype: 18, key: key32 }, { etype: 17, key: key16 }] });
  const dump = db.dump();
  db.close();
  for (const index of [false, true, false, true]) {
    const again = openDatabase(dir); // migrates: the index is there
    const raw = new Database(join(dir, 'kdc.sqlite'));
    raw.exec(index ? 'CREATE INDEX IF NOT EXISTS deleted_name ON deleted (name)' : 'DROP INDEX IF EXISTS deleted_name');
    raw.exec('DELETE FROM deleted'); // each pass starts from no tombstones, as the first load --update would
    raw.close();
    const t0 = performance.now();
    again.load(dump, { update: true });
    const ms = performance.now() - t0;
    again.close();
    console.log(`load --update of ${n} existing principals, ${index ? 'with deleted(name) index (schema 2)' : 'without it (schema 1)                 '}: ${(ms / 1000).toFixed(2).padStart(7)} s`);
  }
  rmSync(join(dir, '..'), { recursive: true, force: true });
}
