/**
 * Keytabs edited in place by MIT's kadmin.local (ktremove leaves zero-filled
 * holes with negative record lengths; ktadd reuses a hole that is big
 * enough): we read them as MIT's klist does, and MIT reads what we rewrite.
 * Uses a throw-away KDB in a temporary directory (kdb5_util from krb5-kdc).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatPrincipal } from '../krb5/principal.js';
import { readKeytab, removeKeytabEntries, writeKeytab, type Keytab, type KeytabEntry } from './index.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const hasTools = has('kdb5_util') && has('kadmin.local') && has('klist');
const REALM = 'HOLE.TEST';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-kadmin-'));
const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C', KRB5_CONFIG: path.join(dir, 'krb5.conf'), KRB5_KDC_PROFILE: path.join(dir, 'kdc.conf') };
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  if (!hasTools) return;
  fs.writeFileSync(env.KRB5_CONFIG, `[libdefaults]\n default_realm = ${REALM}\n`);
  fs.writeFileSync(
    env.KRB5_KDC_PROFILE,
    `[realms]\n ${REALM} = {\n  database_name = ${dir}/principal\n  key_stash_file = ${dir}/stash\n  acl_file = ${dir}/kadm5.acl\n }\n`,
  );
  execFileSync('kdb5_util', ['create', '-s', '-r', REALM, '-P', 'master-' + randomBytes(8).toString('hex')], { env, stdio: 'pipe' });
});

const kadmin = (query: string): string => execFileSync('kadmin.local', ['-r', REALM, '-q', query], { env, encoding: 'utf8', stdio: 'pipe' });

/** `klist -k -K -e` as (kvno, principal, enctype name, key hex) tuples. */
function mitList(file: string): string[][] {
  const out = execFileSync('klist', ['-k', '-K', '-e', file], { env, encoding: 'utf8' });
  return out
    .split('\n')
    .slice(3)
    .filter(Boolean)
    .map((l) => {
      const m = /^\s*(\d+) (\S+) \(([\w-]+)\)\s+\(0x([0-9a-f]+)\)$/.exec(l);
      if (!m) throw new Error(`unexpected klist line: ${l}`);
      return [m[1]!, m[2]!, m[3]!, m[4]!];
    });
}

/** The signed record lengths of a v2 keytab, walking the file as MIT does. */
function recordLengths(b: Buffer): number[] {
  const out: number[] = [];
  for (let at = 2; at + 4 <= b.length; ) {
    const n = b.readInt32BE(at);
    if (n === 0) break;
    out.push(n);
    at += 4 + Math.abs(n);
  }
  return out;
}

const NAME: Record<number, string> = { 17: 'aes128-cts-hmac-sha1-96', 18: 'aes256-cts-hmac-sha1-96' };
const ours = (kt: Keytab): string[][] =>
  kt.entries.map((e) => [String(e.kvno), formatPrincipal(e.principal), NAME[e.key.keytype]!, Buffer.from(e.key.keyvalue).toString('hex')]);

function entry(name: string, kvno: number, etype: number): KeytabEntry {
  return {
    principal: { realm: REALM, name: { nameType: 1, nameString: name.split('/') } },
    timestamp: new Date('2027-01-01T00:00:00Z'),
    kvno,
    key: { keytype: etype, keyvalue: new Uint8Array(randomBytes(etype === 17 ? 16 : 32)) },
  };
}

describe('keytabs edited by MIT kadmin.local', () => {
  it.skipIf(!hasTools)('holes from ktremove are skipped, ktadd into a hole is read, our rewrite reads the same in MIT (skipped when krb5-kdc is not installed)', () => {
    const file = path.join(dir, 'svc.keytab');
    const written = [entry('svc/a', 1, 18), entry('svc/a', 1, 17), entry('svc/a', 2, 18), entry('svc/a', 2, 17), entry('svc/a', 3, 18)];
    writeKeytab(file, { version: 0x502, entries: written });

    kadmin(`ktremove -k FILE:${file} svc/a@${REALM} 2`);
    const bytes = fs.readFileSync(file);
    expect(recordLengths(bytes)).toEqual([70, 54, -70, -54, 70]); // MIT marked records 3 and 4 deleted in place
    const afterRemove = readKeytab(file);
    expect(afterRemove.entries.map((e) => e.kvno)).toEqual([1, 1, 3]);
    expect(ours(afterRemove)).toEqual(mitList(file));

    // ktadd writes a new principal's keys; MIT puts a record into a hole when it fits.
    kadmin(`addprinc -randkey -e aes128-cts-hmac-sha1-96:normal bob@${REALM}`);
    kadmin(`ktadd -k FILE:${file} -e aes128-cts-hmac-sha1-96:normal bob@${REALM}`);
    expect(recordLengths(fs.readFileSync(file))).toEqual([70, 54, 70, -54, 70]); // bob's 51-byte entry went into the first hole big enough, slack and all
    const afterAdd = readKeytab(file);
    expect(afterAdd.entries.map((e) => `${e.principal.name.nameString.join('/')}:${e.key.keytype}`).sort()).toEqual(['bob:17', 'svc/a:17', 'svc/a:18', 'svc/a:18']);
    expect(ours(afterAdd)).toEqual(mitList(file));

    // Our rewrite compacts the holes; MIT lists exactly what remains.
    expect(removeKeytabEntries(file, (e) => e.kvno === 3)).toBe(1);
    const final = readKeytab(file);
    expect(final.entries).toHaveLength(3);
    expect(ours(final)).toEqual(mitList(file));
  });
});
