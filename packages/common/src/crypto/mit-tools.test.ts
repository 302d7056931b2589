/**
 * Interop with the MIT krb5 tools on this machine: ktutil derives keys from
 * passwords (string-to-key with the default or an explicit salt) for all
 * four enctypes, klist -K prints them, and ours must be identical. This is
 * the outside check for RFC 8009 string-to-key with a realm salt, which the
 * MIT captures (all aes-sha1) do not cover.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePrincipal } from '../krb5/principal.js';
import { defaultSalt, enctypeFromName, stringToKey } from './index.js';

const hasTool = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
const hasKtutil = hasTool('ktutil') && hasTool('klist');

interface Entry {
  principal: string;
  enctype: string;
  password: string;
  salt?: string;
}

/** Run MIT ktutil to add password-derived entries, then read the keys back with klist -k -K -e. */
function mitKeys(entries: Entry[]): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'kpop-crypto-'));
  try {
    const kt = join(dir, 'kt');
    const script =
      entries
        .map((e) => `addent -password -p ${e.principal} -k 1 -e ${e.enctype}${e.salt !== undefined ? ` -s ${e.salt}` : ''}\n${e.password}\n`)
        .join('') + `wkt ${kt}\nquit\n`;
    const env = { ...process.env, KRB5_CONFIG: '/dev/null' };
    execFileSync('ktutil', [], { input: script, env, stdio: ['pipe', 'ignore', 'pipe'] });
    const out = execFileSync('klist', ['-k', '-K', '-e', kt], { env, encoding: 'utf8' });
    const keys = new Map<string, string>();
    let i = 0;
    for (const line of out.split('\n')) {
      const m = /^\s*1 (\S+) \((\S+)\)\s+\(0x([0-9a-f]+)\)/.exec(line);
      if (m) keys.set(String(i++), m[3]!);
    }
    return keys;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('string-to-key against MIT ktutil', () => {
  const entries: Entry[] = [
    { principal: 'alice@LAB.TEST', enctype: 'aes256-cts-hmac-sha1-96', password: 'alice-pw-1' },
    { principal: 'alice@LAB.TEST', enctype: 'aes128-cts-hmac-sha1-96', password: 'alice-pw-1' },
    { principal: 'alice@LAB.TEST', enctype: 'aes256-cts-hmac-sha384-192', password: 'alice-pw-1' },
    { principal: 'alice@LAB.TEST', enctype: 'aes128-cts-hmac-sha256-128', password: 'alice-pw-1' },
    { principal: 'pop/mail.example.org@EXAMPLE.ORG', enctype: 'aes256-sha2', password: 'pässwörd ✓ with spaces' },
    { principal: 'bob@EXAMPLE.ORG', enctype: 'aes128-sha2', password: 'x', salt: 'customSALT' },
    { principal: 'bob@EXAMPLE.ORG', enctype: 'aes256-cts', password: 'hunter2', salt: 'weirdésalt' },
  ];
  const name = 'gives the same keys as ktutil for every enctype, default and explicit salts';
  it.skipIf(!hasKtutil)(hasKtutil ? name : `${name} — skipped: MIT ktutil/klist (krb5-user) not installed`, () => {
    const mit = mitKeys(entries);
    expect(mit.size).toBe(entries.length);
    entries.forEach((e, i) => {
      const etype = enctypeFromName(e.enctype)!;
      const salt = e.salt ?? defaultSalt(parsePrincipal(e.principal));
      expect(Buffer.from(stringToKey(etype, e.password, salt).keyvalue).toString('hex'), `${e.principal} ${e.enctype}`).toBe(mit.get(String(i)));
    });
  });
});
