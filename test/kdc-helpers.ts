/**
 * Shared by the test/kdc-*.test.ts files: a KDC database holding the keys of
 * the MIT 1.20 captures (test/fixtures/mit/README.md), and fixture readers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRealm } from '@kpop/kdc';
import type { KdcDatabase } from '@kpop/kdc';

export const FIXTURES = join(import.meta.dirname, 'fixtures', 'mit');
/** 2026-11-29T06:11:57Z: when every capture was made. */
export const CAPTURE_TIME = new Date('2026-11-29T06:11:57.445Z');

export function fixture(name: string): Uint8Array {
  return Uint8Array.from(Buffer.from(readFileSync(join(FIXTURES, name), 'utf8').trim(), 'hex'));
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

export const MIT_KEYS = {
  alice: { aes256: hex('7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a'), aes128: hex('9b128cb80cbbd33f80715c981db0ff14') },
  wrongPw: { aes256: hex('01b950af237256b0caf2913296f267fde7844bd29a2edb001be0d32b8e586780') },
  bench: { aes256: hex('0e79bc36888285f25325d9f4ae4967113fe759d1463635d64dc70b88995496ab'), aes128: hex('8c7557e53413229f2fbffe8eabc9ff43') },
  pop: { aes256: hex('38e50ca48425ab5454c4f3a3e6f18f0362576e2600627e4a421136e46ea6d66e'), aes128: hex('bc80859d5f1c2ce7654c87d839259088') },
  krbtgt: { aes256: hex('cdc4b86fc9fe9bb4c7492b52adf5c63758aae1a1057ee002a0636a57c148f2e1'), aes128: hex('94703d622ad60d462c7bccefcf1f3ff5') },
  tgsSubkey: hex('a8cf2f64afa52d76adb4df01419dfa07530406472f3f2477b9d5e86a12d7e157'),
  aliceTgtSession: hex('699ecb3a9af9416c5c4e3f40afb04bb367bdceacf8163aa72c51723e437b065a'),
};

function keys(k: { aes256: Uint8Array; aes128: Uint8Array }, salt: string) {
  return [
    { etype: 18, key: k.aes256, salt },
    { etype: 17, key: k.aes128, salt },
  ];
}

/** LAB.TEST with the captures' principals, keys and kvnos (max_life 1 day, as the capture KDC had). */
export function mitFixtureRealm(): { db: KdcDatabase; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kpop-kdc-fixture-'));
  const db = initRealm(join(dir, 'db'), { realm: 'LAB.TEST', enctypes: [18, 17], maxLife: 86400, maxRenew: 7 * 86400 });
  db.changePassword('krbtgt/LAB.TEST', { keys: keys(MIT_KEYS.krbtgt, 'LAB.TESTkrbtgtLAB.TEST'), kvno: 1, keepOld: false });
  db.addPrincipal('alice', { keys: keys(MIT_KEYS.alice, 'LAB.TESTalice'), kvno: 1 });
  db.addPrincipal('bench', { keys: keys(MIT_KEYS.bench, 'LAB.TESTbench'), kvno: 2 });
  db.addPrincipal('pop/localhost', { keys: keys(MIT_KEYS.pop, 'LAB.TESTpoplocalhost'), kvno: 2 });
  return {
    db,
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
