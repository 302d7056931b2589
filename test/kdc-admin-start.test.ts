/**
 * `kdc start` as a long-running server, driven by MIT's own clients, while
 * the admin CLI changes the database in another process: a principal added,
 * a password changed, a lockout policy set, a lockout cleared, each seen by
 * the running KDC without a restart. SIGTERM stops it cleanly (exit 0).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram, hasMitClients } from './helpers/mit-realm.js';
import { clockEnv } from './helpers/mit-clock.js';

const ROOT = join(import.meta.dirname, '..');
const KDC = join(ROOT, 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
const skip = hasMitClients ? '' : ' (skipped: MIT kinit/klist not installed: apt-get install krb5-user)';

let tmp: string;
let dir: string;
let server: ChildProcess | undefined;
let stdout = '';
let stderr = '';
let port = 0;
let env: Record<string, string>;

function kdc(args: string[], input = ''): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [KDC, ...args, '--dir', dir], { input, encoding: 'utf8', env: { ...clockEnv(), PATH: process.env.PATH ?? '' }, timeout: 30_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
function kinit(args: string[], password?: string, cache = 'cc'): { code: number; out: string } {
  const r = spawnSync(findProgram('kinit')!, args, { input: password === undefined ? '' : password + '\n', encoding: 'utf8', env: { ...env, KRB5CCNAME: `FILE:${join(tmp, cache)}` }, timeout: 30_000 });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}
/** Polls `fn` until it returns true: the KDC refreshes its view every 500 ms and flushes bookkeeping every second. */
async function eventually(fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  tmp = mkdtempSync(join(tmpdir(), 'kdc-start-'));
  dir = join(tmp, 'db');
  if (!hasMitClients) return;
  expect(kdc(['init', '--realm', 'LAB.TEST']).code).toBe(0);
  expect(kdc(['addprinc', 'alice', '--password', 'alice-pw-1']).code).toBe(0);
  expect(kdc(['addprinc', 'svc/host', '--randkey']).code).toBe(0);
  server = spawn(process.execPath, [KDC, 'start', '--listen', '127.0.0.1:0', '--kpasswd-listen', '127.0.0.1:0', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await eventually(() => /serving on 127\.0\.0\.1:(\d+)/.test(stderr), 20_000);
  port = Number(/serving on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
  writeFileSync(join(tmp, 'krb5.conf'), `[libdefaults]\n default_realm = LAB.TEST\n dns_lookup_kdc = false\n rdns = false\n[realms]\n LAB.TEST = {\n  kdc = 127.0.0.1:${port}\n }\n`);
  env = { ...clockEnv(), PATH: process.env.PATH ?? '', KRB5_CONFIG: join(tmp, 'krb5.conf'), KRB5_KTNAME: join(tmp, 'none.keytab') };
}, 120_000);

afterAll(() => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('kdc start', () => {
  it.skipIf(!hasMitClients)('serves MIT kinit (password and a keytab from kdc ktadd) and logs one JSON line per request' + skip, async () => {
    const r = kinit(['alice'], 'alice-pw-1');
    expect(r.code, r.out).toBe(0);
    const kt = join(tmp, 'svc.keytab');
    expect(kdc(['ktadd', '-k', kt, 'svc/host']).code).toBe(0);
    const k = kinit(['-k', '-t', kt, 'svc/host'], undefined, 'cc-svc');
    expect(k.code, k.out).toBe(0);
    const klist = spawnSync(findProgram('klist')!, [], { encoding: 'utf8', env: { ...env, KRB5CCNAME: `FILE:${join(tmp, 'cc-svc')}` } });
    expect(klist.stdout).toContain('Default principal: svc/host@LAB.TEST');
    // Our event loop was blocked by spawnSync: let the server's output arrive.
    await eventually(() => (stdout.match(/"status":"ISSUE"/g) ?? []).length >= 2);
    const records = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.filter((x) => x.msg === 'AS_REQ' && x.status === 'ISSUE').map((x) => x.cname)).toEqual(['alice@LAB.TEST', 'svc/host@LAB.TEST']);
    expect(stdout).not.toContain('alice-pw-1');
  });

  it.skipIf(!hasMitClients)('sees principals added and passwords changed by the CLI while running' + skip, async () => {
    expect(kdc(['addprinc', 'bob', '--pw-stdin'], 'bob-pw\n').code).toBe(0);
    await eventually(() => kinit(['bob'], 'bob-pw', 'cc-bob').code === 0);
    expect(kdc(['cpw', 'bob', '--pw-stdin'], 'bob-pw-2\n').code).toBe(0);
    await eventually(() => kinit(['bob'], 'bob-pw-2', 'cc-bob').code === 0);
    const old = kinit(['bob'], 'bob-pw', 'cc-bob');
    expect(old.code).not.toBe(0);
    expect(old.out).toContain('Password incorrect');
    expect(kdc(['delprinc', 'bob']).code).toBe(0);
    await eventually(() => /not found in Kerberos database/.test(kinit(['bob'], 'bob-pw-2', 'cc-bob').out));
  });

  it.skipIf(!hasMitClients)('locks a principal out after the failures the realm allows; kdc modprinc --unlock lets it in again' + skip, async () => {
    expect(kdc(['realm', '--max-failures', '2', '--lockout-duration', '1h']).out).toContain('Lockout: after 2 failures');
    await new Promise((r) => setTimeout(r, 800)); // the server's refresh interval is 500 ms
    for (let i = 0; i < 2; i++) expect(kinit(['alice'], 'wrong-pw').out).toContain('Password incorrect');
    const locked = kinit(['alice'], 'alice-pw-1');
    expect(locked.code).not.toBe(0);
    expect(locked.out).toMatch(/revoked/i);
    // The running KDC writes its failure counts in batches, about every second.
    await eventually(() => kdc(['getprinc', 'alice']).out.includes('Failed password attempts: 2'));
    expect(kdc(['getprinc', 'alice']).out).toMatch(/Locked out until: \w{3} \w{3} \d\d/);
    expect(kdc(['modprinc', 'alice', '--unlock']).code).toBe(0);
    await eventually(() => kinit(['alice'], 'alice-pw-1').code === 0);
    expect(kdc(['getprinc', 'alice']).out).toContain('Failed password attempts: 0');
  });

  it.skipIf(!hasMitClients)('serves MIT kpasswd on --kpasswd-listen; the new password works at once, and the log line holds no password' + skip, async () => {
    await eventually(() => /kpasswd service on 127\.0\.0\.1:(\d+)/.test(stderr));
    const kpw = Number(/kpasswd service on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const conf = join(tmp, 'krb5-kpasswd.conf');
    writeFileSync(conf, `[libdefaults]\n default_realm = LAB.TEST\n dns_lookup_kdc = false\n rdns = false\n[realms]\n LAB.TEST = {\n  kdc = 127.0.0.1:${port}\n  kpasswd_server = 127.0.0.1:${kpw}\n }\n`);
    expect(kdc(['addprinc', 'pat', '--password', 'Pat-pw-1']).code).toBe(0);
    await new Promise((r) => setTimeout(r, 800));
    const r = spawnSync(findProgram('kpasswd')!, ['pat'], { encoding: 'utf8', input: 'Pat-pw-1\nPat-pw-2\nPat-pw-2\n', env: { ...env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(tmp, 'cc-pat')}` } });
    expect(r.stdout, r.stderr).toContain('Password changed.');
    expect(kinit(['pat'], 'Pat-pw-2', 'cc-pat').code).toBe(0);
    await eventually(() => /"msg":"KPASSWD"/.test(stdout));
    expect(stdout).toMatch(/"msg":"KPASSWD".*"status":"CHANGED"/);
    expect(stdout).not.toContain('Pat-pw-2');
  });

  it.skipIf(!hasMitClients)('a second KDC on the same port fails with one line; SIGTERM stops the first cleanly' + skip, async () => {
    const busy = spawnSync(process.execPath, [KDC, 'start', '--listen', `127.0.0.1:${port}`, '--dir', dir], { encoding: 'utf8', timeout: 30_000 });
    expect(busy.status).toBe(1);
    expect(busy.stderr.trim().split('\n')).toHaveLength(1);
    expect(busy.stderr).toMatch(/^kdc start: cannot listen on 127\.0\.0\.1:\d+: address in use/);
    const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
    server!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('kdc: SIGTERM: stopped');
  });
});
