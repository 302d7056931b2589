// Child of the crash trials in index.ts: adds principals to the realm in DIR
// one transaction at a time and prints each name once its transaction has
// committed, until it is killed (kill -9, at a moment the parent picks).
import { writeSync } from 'node:fs';
import { openDatabase } from '@kpop/kdc';

const [dir, prefix] = process.argv.slice(2) as [string, string];
const db = openDatabase(dir, { flushIntervalMs: 5 });
const key32 = new Uint8Array(32).fill(9);
for (let i = 0; ; i++) {
  const name = `${prefix}${i}`;
  db.addPrincipal(name, { keys: [{ etype: 18, key: key32 }] });
  if (i % 3 === 0) db.changePassword(name, { keys: [{ etype: 18, key: key32 }] });
  db.recordFailure(`${name}@CRASH.TEST`, new Date()); // lockout bookkeeping flushed every 5 ms too
  writeSync(1, `${name}\n`);
}
