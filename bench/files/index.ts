// Keytab and ccache speed: codecs on the genuine MIT 1.20 files, a 300-entry
// keytab (a busy KDC host), key lookup, and the disk round trips (read, and
// the atomic tmp+fsync+rename write) that kinit, klist and the KPOP acceptor do.
import { mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findKeytabKey,
  parseCcache,
  parseKeytab,
  readCcache,
  readKeytab,
  readKeytabCached,
  serializeCcache,
  serializeKeytab,
  writeCcache,
  writeKeytab,
  type KeytabEntry,
} from '@kpop/common';
import { measure } from '../util.js';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../test/fixtures/mit/${name}`, import.meta.url)));
const ccBytes = fixture('ccache-alice-tgt-and-pop.bin');
const ktBytes = fixture('pop.keytab');
const cc = parseCcache(ccBytes);
const kt = parseKeytab(ktBytes);

measure('parseCcache (MIT, 4 creds, 1497 B)', () => parseCcache(ccBytes));
measure('serializeCcache (MIT, 4 creds)', () => serializeCcache(cc));
measure('parseKeytab (pop.keytab, 2 entries)', () => parseKeytab(ktBytes));
measure('serializeKeytab (pop.keytab)', () => serializeKeytab(kt));

const big: KeytabEntry[] = [];
for (let i = 0; i < 100; i++) {
  for (const [etype, size] of [[18, 32], [17, 16], [20, 32]] as const) {
    big.push({
      principal: { realm: 'LAB.TEST', name: { nameType: 3, nameString: ['host', `h${i}.lab.test`] } },
      timestamp: new Date(),
      kvno: 1 + (i % 5),
      key: { keytype: etype, keyvalue: new Uint8Array(size).fill(i) },
    });
  }
}
const bigBytes = serializeKeytab({ version: 0x502, entries: big });
const bigKt = parseKeytab(bigBytes);
const wanted = { realm: 'LAB.TEST', name: { nameType: 0, nameString: ['host', 'h99.lab.test'] } };
measure(`parseKeytab (300 entries, ${bigBytes.length} B)`, () => parseKeytab(bigBytes));
measure('findKeytabKey (300 entries, last principal)', () => findKeytabKey(bigKt, wanted, 18));

const dir = mkdtempSync(join(tmpdir(), 'bench-files-'));
try {
  const ccPath = join(dir, 'cc');
  const ktPath = join(dir, 'kt');
  writeCcache(ccPath, cc);
  writeKeytab(ktPath, bigKt);
  measure('readCcache (from disk)', () => readCcache(ccPath));
  measure('readKeytab (300 entries, from disk)', () => readKeytab(ktPath));
  utimesSync(ktPath, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000)); // settled, as a deployed keytab is
  measure('readKeytabCached (300 entries, unchanged file)', () => readKeytabCached(ktPath));
  measure('writeCcache (atomic: tmp, fsync, rename)', () => writeCcache(ccPath, cc), 500);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
