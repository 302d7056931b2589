/**
 * Interop with MIT krb5 1.20: klist lists the keytabs we write, ktutil
 * re-writes them byte for byte, and we read what ktutil writes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatPrincipal } from '../krb5/principal.js';
import { parseKeytab, readKeytab, serializeKeytab, writeKeytab, type KeytabEntry } from './index.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const hasKlist = has('klist');
const hasKtutil = has('ktutil');
const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C', KRB5_CONFIG: '/dev/null' };

/** MIT's names for the enctypes we write (klist -e). */
const MIT_NAME: Record<number, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
};
const KEY_SIZE: Record<number, number> = { 17: 16, 18: 32, 19: 16, 20: 32 };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-mit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** klist's timestamp in the C locale: %m/%d/%y %H:%M:%S (TZ=UTC). */
function mitTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function makeEntries(): KeytabEntry[] {
  const out: KeytabEntry[] = [];
  const principals = [
    { realm: 'LAB.TEST', name: { nameType: 3, nameString: ['pop', 'mail.lab.test'] } },
    { realm: 'LAB.TEST', name: { nameType: 1, nameString: ['alice'] } },
    { realm: 'OTHER.EXAMPLE', name: { nameType: 2, nameString: ['krbtgt', 'LAB.TEST'] } },
  ];
  const kvnos = [1, 255, 256, 300, 70000, 0x7fffffff];
  let i = 0;
  for (const principal of principals) {
    for (const etype of [18, 17, 20, 19]) {
      const kvno = kvnos[i % kvnos.length]!;
      out.push({ principal, timestamp: new Date(Date.UTC(2026, 10, 29, 6, 9, 11) + i * 3_601_000), kvno, key: { keytype: etype, keyvalue: new Uint8Array(randomBytes(KEY_SIZE[etype]!)) } });
      i++;
    }
  }
  return out;
}

/**
 * Drive ktutil line by line. Its command prompt "ktutil:  " is flushed, but
 * the key prompt is not (stdout is a pipe), so after an `addent -key` line we
 * answer as soon as ktutil has echoed the command line back (it echoes input,
 * wrapped at 80 columns, when stdin is not a terminal): by then it has consumed that line, and the key we
 * send next reaches the key prompter rather than the command reader.
 */
function ktutil(lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ktutil', [], { env });
    let out = '';
    let next = 0;
    let sent = '';
    let sentAt = 0;
    const feed = () => {
      sentAt = out.length;
      if (next < lines.length) {
        sent = lines[next++]!;
        child.stdin.write(sent + '\n');
      } else child.stdin.end();
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.endsWith('ktutil:  ') || (sent.startsWith('addent -key') && out.length > sentAt && out.endsWith('\n'))) feed();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill(), 10_000); // never hang the suite on an unexpected prompt
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('MIT klist reads our keytabs', () => {
  it.skipIf(!hasKlist)('klist -k -t -e -K lists every entry exactly (skipped when MIT klist is not installed)', () => {
    const entries = makeEntries();
    const file = path.join(dir, 'ours.keytab');
    writeKeytab(file, { version: 0x502, entries });
    const out = execFileSync('klist', ['-k', '-t', '-e', '-K', `FILE:${file}`], { env, encoding: 'utf8' });
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe(`Keytab name: FILE:${file}`);
    expect(lines[1]).toBe('KVNO Timestamp         Principal');
    const body = lines.slice(3);
    expect(body).toHaveLength(entries.length);
    entries.forEach((e, i) => {
      const want = `${String(e.kvno).padStart(4)} ${mitTime(e.timestamp)} ${formatPrincipal(e.principal)} (${MIT_NAME[e.key.keytype]})  (0x${Buffer.from(e.key.keyvalue).toString('hex')})`;
      expect(body[i]).toBe(want);
    });
  });
});

describe('MIT ktutil and our codec agree byte for byte', () => {
  it.skipIf(!hasKtutil)('ktutil rkt + wkt of our keytab reproduces our bytes (skipped when MIT ktutil is not installed)', async () => {
    const file = path.join(dir, 'ours2.keytab');
    const copy = path.join(dir, 'mit-copy.keytab');
    const entries = makeEntries();
    writeKeytab(file, { version: 0x502, entries });
    await ktutil([`rkt ${file}`, `wkt ${copy}`, 'q']);
    // ktutil's wkt stamps every entry with the current time; everything else must match byte for byte.
    const mit = readKeytab(copy);
    expect(mit.entries).toHaveLength(entries.length);
    mit.entries.forEach((e, i) => (e.timestamp = readKeytab(file).entries[i]!.timestamp));
    expect(Buffer.from(serializeKeytab(mit)).toString('hex')).toBe(Buffer.from(fs.readFileSync(file)).toString('hex'));
  });

  it.skipIf(!hasKtutil)('we read a keytab ktutil built from keys (32-bit kvno, aes-sha2) (skipped when MIT ktutil is not installed)', async () => {
    const file = path.join(dir, 'mit-made.keytab');
    const k20 = randomBytes(32).toString('hex');
    const k19 = randomBytes(16).toString('hex');
    const log = await ktutil([
      'addent -key -p HTTP/web.lab.test@LAB.TEST -k 300 -e aes256-cts-hmac-sha384-192',
      k20,
      'addent -key -p bob@LAB.TEST -k 70000 -e aes128-cts-hmac-sha256-128',
      k19,
      `wkt ${file}`,
      'q',
    ]);
    expect(fs.existsSync(file), log).toBe(true);
    const bytes = new Uint8Array(fs.readFileSync(file));
    const kt = readKeytab(file);
    expect(kt.entries.map((e) => [formatPrincipal(e.principal), e.principal.name.nameType, e.kvno, e.key.keytype, Buffer.from(e.key.keyvalue).toString('hex')])).toEqual([
      ['HTTP/web.lab.test@LAB.TEST', 1, 300, 20, k20],
      ['bob@LAB.TEST', 1, 70000, 19, k19],
    ]);
    expect(Buffer.from(serializeKeytab(parseKeytab(bytes))).equals(Buffer.from(bytes))).toBe(true);
  });
});
