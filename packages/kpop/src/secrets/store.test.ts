/**
 * The mechanisms' secrets store: SCRAM verifiers only for SCRAM, the
 * password-equivalent encrypted under a 0600 key file, atomic 0600 writes,
 * and the lockout shared by every mechanism checked here.
 */
import { describe, expect, it, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { Lockout, mechSecrets, SecretsError, SecretsStore } from './store.js';
import { CramMd5Mechanism, cramDigest } from '../mechs/cram-md5.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function store(): SecretsStore {
  const d = mkdtempSync(join(tmpdir(), 'kpop-secrets-'));
  dirs.push(d);
  return new SecretsStore({ file: join(d, 'etc', 'secrets.json'), keyFile: join(d, 'etc', 'secrets.key') });
}

describe('SecretsStore', () => {
  it('keeps SCRAM as salt, iterations, StoredKey and ServerKey, and the password only encrypted', () => {
    const s = store();
    s.set('alice', 'correct horse battery');
    const text = readFileSync(s.paths.file, 'utf8');
    expect(text).not.toContain('correct horse');
    expect(text).not.toContain(Buffer.from('correct horse battery').toString('base64'));
    expect(statSync(s.paths.file).mode & 0o777).toBe(0o600);
    expect(statSync(s.paths.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(s.paths.keyFile).size).toBe(32);
    expect(s.password('alice')).toBe('correct horse battery');
    // SCRAM-SHA-256 verifier recomputed independently from the stored salt.
    const c = s.scram('alice', 'SHA-256')!;
    const salted = pbkdf2Sync('correct horse battery', c.salt, c.iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    expect(Buffer.from(c.storedKey).toString('hex')).toBe(createHash('sha256').update(clientKey).digest('hex'));
    expect(Buffer.from(c.serverKey).toString('hex')).toBe(createHmac('sha256', salted).update('Server Key').digest('hex'));
    expect(c.salt.length).toBe(16);
    expect(s.scram('alice', 'SHA-1')!.storedKey.length).toBe(20);
    expect(readdirSync(join(s.paths.file, '..')).sort()).toEqual(['secrets.json', 'secrets.key']); // no temporary left
  });

  it('--scram-only keeps no password-equivalent', () => {
    const s = store();
    s.set('bob', 'pw-bob', { scramOnly: true });
    expect(s.password('bob')).toBeUndefined();
    expect(s.list()).toEqual([{ user: 'bob', mechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-256'], updated: expect.any(String) }]);
  });

  it('lists, deletes, and sees changes another process made', () => {
    const a = store();
    a.set('alice', 'pw1');
    const b = new SecretsStore(a.paths);
    expect(b.list().map((r) => r.mechanisms)).toEqual([['APOP', 'CRAM-MD5', 'NTLM', 'SCRAM-SHA-1', 'SCRAM-SHA-256']]);
    a.set('bob', 'pw2');
    expect(b.list().map((r) => r.user)).toEqual(['alice', 'bob']);
    expect(a.delete('alice')).toBe(true);
    expect(a.delete('alice')).toBe(false);
    expect(b.password('alice')).toBeUndefined();
    expect(b.password('bob')).toBe('pw2');
  });

  it('refuses another key file, a key file others can read, a moved ciphertext and a damaged store', () => {
    const s = store();
    s.set('alice', 'pw-a');
    s.set('bob', 'pw-b');
    writeFileSync(s.paths.keyFile + '2', Buffer.alloc(32, 7), { mode: 0o600 });
    expect(() => new SecretsStore({ ...s.paths, keyFile: s.paths.keyFile + '2' }).password('alice')).toThrow(/does not open/);
    chmodSync(s.paths.keyFile, 0o644);
    expect(() => new SecretsStore(s.paths).password('alice')).toThrow(/readable by others/);
    chmodSync(s.paths.keyFile, 0o600);
    // Bob's ciphertext copied to alice's entry: bound to the name, it does not open.
    const j = JSON.parse(readFileSync(s.paths.file, 'utf8'));
    j.users.alice.password = j.users.bob.password;
    writeFileSync(s.paths.file, JSON.stringify(j));
    expect(() => new SecretsStore(s.paths).password('alice')).toThrow(SecretsError);
    writeFileSync(s.paths.file, '{not json');
    expect(() => new SecretsStore(s.paths).list()).toThrow(/not a kpop secrets store/);
  });

  it('a wrong CRAM-MD5 digest counts toward the lockout; a locked user is refused even with the right one', async () => {
    const s = store();
    s.set('alice', 'pw-a');
    let t = 1_000_000;
    const secrets = mechSecrets(s, new Lockout({ maxFailures: 3, windowMs: 60_000, durationMs: 600_000 }, () => t));
    const attempt = async (pw: string) => {
      const m = new CramMd5Mechanism(secrets, 'h', '<1.2@h>');
      await m.start();
      return m.step(new TextEncoder().encode(`alice ${cramDigest(pw, '<1.2@h>')}`));
    };
    await expect(attempt('wrong')).rejects.toThrow(/wrong digest/);
    await expect(attempt('wrong')).rejects.toThrow(/wrong digest/);
    await expect(attempt('pw-a')).resolves.toBeTruthy(); // success resets the count
    for (let i = 0; i < 3; i++) await expect(attempt('wrong')).rejects.toThrow(/wrong digest/);
    await expect(attempt('pw-a')).rejects.toThrow(/locked out/);
    t += 600_001;
    await expect(attempt('pw-a')).resolves.toBeTruthy();
  });
});
