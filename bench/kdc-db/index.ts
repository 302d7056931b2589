// The KDC database on the request path: lookup (memory), refresh() when
// nothing changed (one indexed read of the change counter), the batched
// lockout bookkeeping, and the cost of opening a realm of many principals
// (every key decrypted under the master key once, at start).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRealm, openDatabase } from '@kpop/kdc';
import { measure } from '../util.js';

const N = 2000;
const dir = join(mkdtempSync(join(tmpdir(), 'bench-kdc-db-')), 'db');
const db = initRealm(dir, { realm: 'BENCH.TEST', flushIntervalMs: 1000 });
const key32 = new Uint8Array(32).fill(7);
const key16 = new Uint8Array(16).fill(7);
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  db.addPrincipal(`user${i}`, { keys: [{ etype: 18, key: key32 }, { etype: 17, key: key16 }, { etype: 20, key: key32 }, { etype: 19, key: key16 }] });
}
console.log(`${'addPrincipal (given keys, one transaction each)'.padEnd(48)} ${(((performance.now() - t0) * 1000) / N).toFixed(2).padStart(10)} µs/op  (${N} ops)`);

let i = 0;
const names = Array.from({ length: N }, (_, k) => [`user${k}`]);
measure('lookup(["userN"])', () => db.lookup(names[i++ % N]!));
measure('lookup(["krbtgt","BENCH.TEST"])', () => db.lookup(['krbtgt', 'BENCH.TEST']));
measure('refresh() with nothing changed', () => db.refresh());
const at = new Date();
measure('recordSuccess (queued, flushed every 1 s)', () => db.recordSuccess(`user${i++ % N}@BENCH.TEST`, at));
db.close();

t0 = performance.now();
const again = openDatabase(dir);
console.log(`${`openDatabase, ${N + 1} principals x 4 keys`.padEnd(48)} ${((performance.now() - t0) * 1000).toFixed(0).padStart(10)} µs`);
again.close();
rmSync(join(dir, '..'), { recursive: true, force: true });
