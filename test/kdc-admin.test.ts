/**
 * The `kdc` admin CLI end to end: the built program (dist/bin/kdc.js) run as
 * a user runs it, in a temporary directory. Outside proof: the keytab that
 * `kdc ktadd` writes is read by MIT's `klist -k -t -e -K`, and alice's key in
 * it is the one MIT 1.20 derived for the same password (test/fixtures/mit).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeytab } from '@kpop/common';
import { initRealm } from '@kpop/kdc';
import { findProgram } from './helpers/mit-realm.js';
import { clockEnv } from './helpers/mit-clock.js';

const ROOT = join(import.meta.dirname, '..');
const KDC = join(ROOT, 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
const KLIST = findProgram('klist');
const ALICE_AES256 = '7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a';
const ALICE_AES128 = '9b128cb80cbbd33f80715c981db0ff14';

let tmp: string;
let dir: string;

interface Run { code: number; stdout: string; stderr: string }
function kdc(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [KDC, ...args], {
    cwd: opts.cwd ?? tmp,
    input: opts.input ?? '',
    env: { ...clockEnv(), PATH: process.env.PATH ?? '', HOME: tmp, ...opts.env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
/** A failure: non-zero exit, exactly one line on stderr naming the command, no stack trace. */
function fails(r: Run, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kdc( [a-z]+)?: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
function ok(r: Run): string {
  expect(r.stderr, r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  tmp = mkdtempSync(join(tmpdir(), 'kdc-admin-'));
  dir = join(tmp, 'realm');
}, 120_000);
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('kdc init', () => {
  it('makes the realm in ./var/kdc by default, private, and refuses to make it twice', () => {
    const out = ok(kdc(['init', '--realm', 'LAB.TEST']));
    expect(out).toMatch(/^Initialized realm "LAB.TEST" in .*var\/kdc; master key stashed in .*var\/kdc\/stash\.\n$/);
    expect(statSync(join(tmp, 'var', 'kdc')).mode & 0o777).toBe(0o700);
    expect(statSync(join(tmp, 'var', 'kdc', 'kdc.sqlite')).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp, 'var', 'kdc', 'stash')).mode & 0o777).toBe(0o600);
    expect(ok(kdc(['listprincs']))).toBe('kadmin/changepw@LAB.TEST\nkrbtgt/LAB.TEST@LAB.TEST\n');
    fails(kdc(['init', '--realm', 'LAB.TEST']), 1, /already/);
    // The directory of the rest of the tests, with a lockout policy and an explicit --dir.
    ok(kdc(['init', '--realm', 'LAB.TEST', '--dir', dir, '--max-failures', '2', '--lockout-duration', '1h', '--max-life', '1d']));
    expect(ok(kdc(['realm', '--dir', dir]))).toContain('Lockout: after 2 failures within 00:10:00, for 01:00:00');
  });

  it('usage errors are one line with exit 2', () => {
    fails(kdc(['init']), 2, /required option '-r, --realm <realm>'/);
    fails(kdc(['frobnicate']), 2, /unknown command 'frobnicate'/);
    fails(kdc([]), 2, /^kdc: no command given: use one of init, realm, start, addprinc/);
    fails(kdc(['init', '--realm', 'X', '--max-life', 'forever', '--dir', join(tmp, 'x')]), 2, /invalid --max-life "forever"/);
    fails(kdc(['getprinc', 'alice', '--dir', join(tmp, 'none')]), 1, /no KDC database in .*none: run "kdc init/);
    const help = kdc(['addprinc', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--pw-stdin');
  });
});

describe('principals', () => {
  it('addprinc with --password, --pw-stdin and --randkey; --dir before or after NAME', () => {
    expect(ok(kdc(['addprinc', 'alice', '--password', 'alice-pw-1', '--dir', dir]))).toBe('Principal "alice@LAB.TEST" created.\n');
    expect(ok(kdc(['addprinc', '--dir', dir, 'bob@LAB.TEST', '--pw-stdin'], { input: 'bob-pw\n' }))).toBe('Principal "bob@LAB.TEST" created.\n');
    ok(kdc(['addprinc', '--dir', dir, '--randkey', 'pop/localhost', '-e', 'aes256-cts,aes128-cts', '--max-life', '1d2h', '--expire', '2030-01-01']));
    ok(kdc(['addprinc', '--dir', dir, '--randkey', 'svc/nopre', '--no-preauth', '--disallow', 'forwardable,proxiable']));
    expect(ok(kdc(['listprincs', '--dir', dir])).split('\n')).toEqual(['alice@LAB.TEST', 'bob@LAB.TEST', 'kadmin/changepw@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST', 'pop/localhost@LAB.TEST', 'svc/nopre@LAB.TEST', '']);
    expect(ok(kdc(['listprincs', 'pop/*', '--dir', dir]))).toBe('pop/localhost@LAB.TEST\n');
  });

  it('--pw-stdin takes the first line and does not wait for end-of-file (a person at a terminal)', async () => {
    const child = spawn(process.execPath, [KDC, 'addprinc', 'typed', '--pw-stdin', '--dir', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write('typed-pw\n'); // and the writer stays open
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    child.stdin.destroy();
    expect(code).toBe(0);
    expect(out).toBe('Principal "typed@LAB.TEST" created.\n');
    ok(kdc(['delprinc', 'typed', '--dir', dir]));
  });

  it('addprinc refuses bad input with one line and creates nothing', () => {
    fails(kdc(['addprinc', 'alice', '--password', 'x', '--dir', dir]), 1, /principal alice@LAB.TEST already exists/);
    fails(kdc(['addprinc', 'carol', '--dir', dir]), 2, /no password given: use --password PW, --pw-stdin or --randkey/);
    fails(kdc(['addprinc', 'carol', '--password', 'x', '--randkey', '--dir', dir]), 2, /only one of/);
    fails(kdc(['addprinc', 'carol', '--pw-stdin', '--dir', dir]), 2, /standard input holds no password/);
    fails(kdc(['addprinc', 'carol', '--randkey', '-e', 'des-cbc-crc', '--dir', dir]), 2, /"des-cbc-crc" is not a supported enctype/);
    fails(kdc(['addprinc', 'carol@OTHER.TEST', '--randkey', '--dir', dir]), 1, /not in realm LAB.TEST/);
    fails(kdc(['addprinc', 'carol', '--randkey', '--expire', 'someday', '--dir', dir]), 2, /invalid --expire "someday"/);
    fails(kdc(['addprinc', 'carol', '--randkey', '--disallow', 'teleport', '--dir', dir]), 2, /unknown ticket kind "teleport"/);
    fails(kdc(['addprinc', 'carol', '--randkey', '--bogus', '--dir', dir]), 2, /unknown option '--bogus'/);
    fails(kdc(['getprinc', 'carol', '--dir', dir]), 1, /principal carol@LAB.TEST does not exist/);
  });

  it('getprinc prints like kadmin', () => {
    const out = ok(kdc(['getprinc', 'pop/localhost', '--dir', dir]));
    const lines = out.split('\n');
    expect(lines[0]).toBe('Principal: pop/localhost@LAB.TEST');
    expect(lines).toContain('Expiration date: Tue Jan 01 00:00:00 UTC 2030');
    expect(lines).toContain('Maximum ticket life: 1 day 02:00:00');
    expect(lines).toContain('Maximum renewable life: 7 days 00:00:00 (realm default)');
    expect(lines).toContain('Failed password attempts: 0');
    expect(lines).toContain('Number of keys: 2');
    expect(lines).toContain('Key: vno 1, aes256-cts-hmac-sha1-96');
    expect(lines).toContain('Key: vno 1, aes128-cts-hmac-sha1-96');
    expect(lines).toContain('Attributes: REQUIRES_PRE_AUTH');
    expect(lines.find((l) => l.startsWith('Last password change: '))).toMatch(/^Last password change: \w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4}$/);
    const alice = ok(kdc(['getprinc', 'alice', '--dir', dir]));
    expect(alice).toContain('Maximum ticket life: 1 day 00:00:00 (realm default)');
    expect(alice).toContain('Number of keys: 4\nKey: vno 1, aes256-cts-hmac-sha1-96\nKey: vno 1, aes128-cts-hmac-sha1-96\nKey: vno 1, aes256-cts-hmac-sha384-192\nKey: vno 1, aes128-cts-hmac-sha256-128\n');
    expect(ok(kdc(['getprinc', 'svc/nopre', '--dir', dir]))).toContain('Attributes: DISALLOW_FORWARDABLE DISALLOW_PROXIABLE\n');
  });

  it('modprinc, cpw (new kvno, old kept), delprinc', () => {
    expect(ok(kdc(['modprinc', 'bob', '--max-renew', '2d', '--disallow', 'renewable', '--expire', 'never', '--dir', dir]))).toBe('Principal "bob@LAB.TEST" modified.\n');
    let bob = ok(kdc(['getprinc', 'bob', '--dir', dir]));
    expect(bob).toContain('Maximum renewable life: 2 days 00:00:00\n');
    expect(bob).toContain('Attributes: DISALLOW_RENEWABLE REQUIRES_PRE_AUTH\n');
    ok(kdc(['modprinc', 'bob', '--allow', 'renewable', '--no-preauth', '--dir', dir]));
    expect(ok(kdc(['getprinc', 'bob', '--dir', dir]))).toContain('Attributes:\n');
    fails(kdc(['modprinc', 'bob', '--dir', dir]), 2, /nothing to change/);

    expect(ok(kdc(['cpw', 'bob', '--pw-stdin', '--dir', dir], { input: 'bob-pw-2\n' }))).toBe('Password for "bob@LAB.TEST" changed (kvno 2).\n');
    expect(ok(kdc(['cpw', '--dir', dir, 'bob', '--randkey', '-e', 'aes256-sha2']))).toBe('Key for "bob@LAB.TEST" randomized (kvno 3).\n');
    bob = ok(kdc(['getprinc', 'bob', '--dir', dir]));
    expect(bob).toContain('Number of keys: 9\nKey: vno 3, aes256-cts-hmac-sha384-192\nKey: vno 2, aes256-cts-hmac-sha1-96\n');
    expect(bob).toContain('Key: vno 1, aes128-cts-hmac-sha256-128\n');
    ok(kdc(['cpw', 'bob', '--randkey', '--no-keepold', '--dir', dir]));
    expect(ok(kdc(['getprinc', 'bob', '--dir', dir]))).toContain('Number of keys: 1\nKey: vno 4, aes256-cts-hmac-sha384-192\n');
    fails(kdc(['cpw', 'nobody', '--randkey', '--dir', dir]), 1, /principal nobody@LAB.TEST does not exist/);

    expect(ok(kdc(['delprinc', 'bob', '--dir', dir]))).toBe('Principal "bob@LAB.TEST" deleted.\n');
    fails(kdc(['delprinc', 'bob', '--dir', dir]), 1, /does not exist/);
    fails(kdc(['delprinc', 'krbtgt/LAB.TEST', '--dir', dir]), 1, /cannot be deleted/);
  });
});

describe('kdc ktadd', () => {
  it('writes the current keys, 0600; MIT klist reads them and alice\'s key is the one MIT derives', () => {
    const kt = join(tmp, 'out.keytab');
    const out = ok(kdc(['ktadd', '--keytab', kt, 'alice', 'pop/localhost', '--dir', dir]));
    expect(out.split('\n')[0]).toBe(`Entry for principal alice@LAB.TEST with kvno 1, encryption type aes256-cts-hmac-sha1-96 added to keytab WRFILE:${kt}.`);
    expect(statSync(kt).mode & 0o777).toBe(0o600);
    const entries = readKeytab(kt).entries;
    expect(entries.map((e) => [e.principal.name.nameString.join('/'), e.kvno, e.key.keytype])).toEqual([
      ['alice', 1, 18], ['alice', 1, 17], ['alice', 1, 20], ['alice', 1, 19], ['pop/localhost', 1, 18], ['pop/localhost', 1, 17],
    ]);
    expect(Buffer.from(entries[0]!.key.keyvalue).toString('hex')).toBe(ALICE_AES256);
    fails(kdc(['ktadd', '--keytab', kt, 'nobody', '--dir', dir]), 1, /nobody@LAB.TEST does not exist; no keytab entry written/);
    expect(readKeytab(kt).entries).toHaveLength(6);
  });

  it.skipIf(!KLIST)('MIT klist -k -t -e -K lists alice with the MIT-derived keys' + (KLIST ? '' : ' (skipped: MIT klist not installed)'), () => {
    const kt = join(tmp, 'mit.keytab');
    ok(kdc(['ktadd', '-k', `FILE:${kt}`, 'alice', '--dir', dir, '-e', 'aes-sha1']));
    const listing = execFileSync(KLIST!, ['-k', '-t', '-e', '-K', kt], { encoding: 'utf8', env: { ...clockEnv(), PATH: process.env.PATH ?? '' } });
    expect(listing).toContain(`Keytab name: FILE:${kt}`);
    expect(listing).toMatch(new RegExp(`^\\s+1 .* alice@LAB.TEST \\(aes256-cts-hmac-sha1-96\\)\\s+\\(0x${ALICE_AES256}\\)$`, 'm'));
    expect(listing).toMatch(new RegExp(`^\\s+1 .* alice@LAB.TEST \\(aes128-cts-hmac-sha1-96\\)\\s+\\(0x${ALICE_AES128}\\)$`, 'm'));
    expect(listing).not.toContain('sha384');
  });

  it('--randkey gives new keys first (new kvno) and writes those', () => {
    const kt = join(tmp, 'rand.keytab');
    const out = ok(kdc(['ktadd', '--randkey', '-k', kt, 'pop/localhost', '--dir', dir]));
    expect(out).toContain('with kvno 2, encryption type aes256-cts-hmac-sha1-96');
    expect(ok(kdc(['getprinc', 'pop/localhost', '--dir', dir]))).toContain('Key: vno 2, aes256-cts-hmac-sha1-96\nKey: vno 2, aes128-cts-hmac-sha1-96\nKey: vno 1, aes256-cts-hmac-sha1-96\n');
    expect(readKeytab(kt).entries.map((e) => e.kvno)).toEqual([2, 2]);
  });
});

describe('kdc dump and load', () => {
  it('round-trips through JSON with the keys still encrypted; a bad dump changes nothing', () => {
    const dumpFile = join(tmp, 'realm.json');
    ok(kdc(['dump', '-o', dumpFile, '--dir', dir]));
    expect(statSync(dumpFile).mode & 0o777).toBe(0o600);
    const text = readFileSync(dumpFile, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ format: 'kpop-kdc-dump', realm: 'LAB.TEST' });
    expect(text).not.toContain(ALICE_AES256);
    expect(text).not.toContain(Buffer.from(ALICE_AES256, 'hex').toString('base64'));
    expect(ok(kdc(['dump', '--dir', dir]))).toBe(text);

    ok(kdc(['delprinc', 'alice', '--dir', dir]));
    expect(ok(kdc(['load', dumpFile, '--dir', dir]))).toBe('Loaded 5 principals into realm LAB.TEST.\n');
    expect(ok(kdc(['getprinc', 'alice', '--dir', dir]))).toContain('Principal: alice@LAB.TEST');
    const kt = join(tmp, 'after-load.keytab');
    ok(kdc(['ktadd', '-k', kt, 'alice', '--dir', dir]));
    expect(Buffer.from(readKeytab(kt).entries[0]!.key.keyvalue).toString('hex')).toBe(ALICE_AES256);
    ok(kdc(['load', '-', '--dir', dir], { input: text }));

    writeFileSync(join(tmp, 'bad.json'), '{"format":');
    fails(kdc(['load', join(tmp, 'bad.json'), '--dir', dir]), 1, /is not JSON .*give a file made by "kdc dump"/);
    fails(kdc(['load', join(tmp, 'missing.json'), '--dir', dir]), 1, /ENOENT|no such file/i);
    fails(kdc(['load', dumpFile, '--dir', join(tmp, 'var', 'kdc')]), 1, /another master key/);
    expect(ok(kdc(['listprincs', '--dir', join(tmp, 'var', 'kdc')]))).toBe('kadmin/changepw@LAB.TEST\nkrbtgt/LAB.TEST@LAB.TEST\n');
  });

  it('a dump larger than a pipe holds reaches a slow reader whole (kdc dump | ssh host kdc load -)', () => {
    const big = join(tmp, 'big');
    const db = initRealm(big, { realm: 'BIG.TEST' });
    for (let i = 0; i < 150; i++) db.addPrincipal(`svc${i}/host.example`, { randkey: true });
    db.close();
    const dumpFile = join(tmp, 'big.json');
    ok(kdc(['dump', '-o', dumpFile, '--dir', big]));
    const size = statSync(dumpFile).size;
    expect(size).toBeGreaterThan(65536);
    // The reader starts late, so the 64 KiB pipe is full while kdc finishes and exits.
    const piped = execFileSync('/bin/sh', ['-c', `"${process.execPath}" "${KDC}" dump --dir "${big}" | (sleep 0.5; cat)`], { encoding: 'utf8', env: { ...clockEnv(), PATH: process.env.PATH ?? '' }, maxBuffer: 1 << 26 });
    expect(piped.length).toBe(size);
    expect(piped).toBe(readFileSync(dumpFile, 'utf8'));
  });
});

describe('master password instead of a stash file', () => {
  it('init --no-stash takes it from KPOP_KDC_MASTER_PASSWORD; without it or with a wrong one, one clear line', () => {
    const pdir = join(tmp, 'pw-realm');
    ok(kdc(['init', '--realm', 'PW.TEST', '--no-stash', '--dir', pdir], { env: { KPOP_KDC_MASTER_PASSWORD: 'master-secret' } }));
    expect(() => statSync(join(pdir, 'stash'))).toThrow();
    fails(kdc(['init', '--realm', 'PW2.TEST', '--no-stash', '--dir', join(tmp, 'pw2')]), 2, /--no-stash needs a master password/);
    fails(kdc(['listprincs', '--dir', pdir]), 1, /comes from a master password: give it in KPOP_KDC_MASTER_PASSWORD or on a terminal/);
    fails(kdc(['listprincs', '--dir', pdir], { env: { KPOP_KDC_MASTER_PASSWORD: 'wrong' } }), 1, /wrong master password for realm PW.TEST/);
    ok(kdc(['addprinc', 'alice', '--password', 'alice-pw-1', '--dir', pdir], { env: { KPOP_KDC_MASTER_PASSWORD: 'master-secret' } }));
    expect(ok(kdc(['listprincs', '--dir', pdir], { env: { KPOP_KDC_MASTER_PASSWORD: 'master-secret' } }))).toBe('alice@PW.TEST\nkadmin/changepw@PW.TEST\nkrbtgt/PW.TEST@PW.TEST\n');
  });
});
