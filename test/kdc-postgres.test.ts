/**
 * The KDC on PostgreSQL, driven through the `kdc` CLI and MIT's own kinit:
 *
 * - a realm made on SQLite moves to PostgreSQL with `kdc dump` / `kdc load`
 *   (the PostgreSQL realm made with --dir on the same stash), and a
 *   `kdc start --db URL` gives MIT kinit a ticket with the same password;
 * - two KDC processes on one database: an admin change reaches both, wrong
 *   passwords spread over both count once each, and the lockout holds on
 *   both;
 * - the database goes away: the KDC says so once, keeps issuing tickets
 *   from memory, admin commands fail with one line (no password, no stack),
 *   and when the database is back the KDC catches up; a principal the KDC
 *   never read (principals are read on demand) gets KDC_ERR_SVC_UNAVAILABLE,
 *   on which MIT's kinit asks the next KDC, which holds it.
 *
 * A throwaway cluster from test/helpers/postgres.ts; skips only where
 * PostgreSQL or MIT's clients are not installed, saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram, hasMitClients } from './helpers/mit-realm.js';
import { clockEnv } from './helpers/mit-clock.js';
import { hasPostgres, NO_POSTGRES, startPostgres, type Postgres } from './helpers/postgres.js';

const ROOT = join(import.meta.dirname, '..');
const KDC = join(ROOT, 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
const skipWhy = !hasPostgres ? NO_POSTGRES : !hasMitClients ? 'MIT kinit/klist not installed: apt-get install krb5-user' : '';

let pg: Postgres | undefined;
let tmp = '';
let dir = '';
const servers: ChildProcess[] = [];

interface Kdc { proc: ChildProcess; port: number; kpasswdPort?: number; conf: string; stderr: () => string; stdout: () => string }

function kdc(args: string[], extra: string[] = ['--dir', dir], input = ''): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [KDC, ...args, ...extra], { input, encoding: 'utf8', env: { ...clockEnv(), PATH: process.env.PATH ?? '' }, timeout: 30_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const onPg = (): string[] => ['--db', pg!.url, '--dir', dir];

function kinit(k: Kdc, args: string[], password?: string, cache = 'cc'): { code: number; out: string } {
  const env = { ...clockEnv(), PATH: process.env.PATH ?? '', KRB5_CONFIG: k.conf, KRB5CCNAME: `FILE:${join(tmp, cache)}`, KRB5_KTNAME: join(tmp, 'none.keytab') };
  const r = spawnSync(findProgram('kinit')!, args, { input: password === undefined ? '' : password + '\n', encoding: 'utf8', env, timeout: 30_000 });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

async function eventually(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startKdc(name: string, kpasswd = false): Promise<Kdc> {
  let out = '';
  let err = '';
  // The URL comes from the environment here (KPOP_KDC_DB), so it is in no process listing.
  const proc = spawn(process.execPath, [KDC, 'start', '--listen', '127.0.0.1:0', '--kpasswd-listen', kpasswd ? '127.0.0.1:0' : 'none', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KPOP_KDC_DB: pg!.url },
  });
  servers.push(proc);
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await eventually(`${name} serving`, () => /serving on 127\.0\.0\.1:(\d+)/.test(err) || proc.exitCode !== null, 30_000);
  if (proc.exitCode !== null) throw new Error(`${name} exited: ${err}`);
  const port = Number(/serving on 127\.0\.0\.1:(\d+)/.exec(err)![1]);
  let kpasswdPort: number | undefined;
  if (kpasswd) {
    await eventually(`${name}'s kpasswd service`, () => /kpasswd service on 127\.0\.0\.1:(\d+)/.test(err));
    kpasswdPort = Number(/kpasswd service on 127\.0\.0\.1:(\d+)/.exec(err)![1]);
  }
  const conf = join(tmp, `krb5-${name}.conf`);
  writeFileSync(conf, `[libdefaults]\n default_realm = LAB.TEST\n dns_lookup_kdc = false\n rdns = false\n[realms]\n LAB.TEST = {\n  kdc = 127.0.0.1:${port}\n${kpasswdPort !== undefined ? `  kpasswd_server = 127.0.0.1:${kpasswdPort}\n` : ''} }\n`);
  return { proc, port, ...(kpasswdPort !== undefined ? { kpasswdPort } : {}), conf, stderr: () => err, stdout: () => out };
}

beforeAll(async () => {
  if (skipWhy) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  tmp = mkdtempSync(join(tmpdir(), 'kdc-pg-cli-'));
  dir = join(tmp, 'realm');
  pg = await startPostgres();
}, 120_000);

afterAll(async () => {
  for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL');
  await pg?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skipWhy !== '')(`the KDC on PostgreSQL${skipWhy ? ` (skipped: ${skipWhy})` : ''}`, () => {
  let k1: Kdc;
  let k2: Kdc;

  it('moves a SQLite realm to PostgreSQL with kdc dump / kdc load; MIT kinit gets a ticket from a KDC on PostgreSQL with the same password', async () => {
    expect(kdc(['init', '--realm', 'LAB.TEST']).code).toBe(0);
    expect(kdc(['addprinc', 'alice', '--password', 'Alice-pw-1']).code).toBe(0);
    expect(kdc(['addpol', 'users', '--minlength', '8', '--history', '2']).code).toBe(0);
    expect(kdc(['addprinc', 'bob', '--password', 'Bob-pw-01', '--policy', 'users']).code).toBe(0);
    expect(kdc(['cpw', 'bob', '--password', 'Bob-pw-02']).code).toBe(0);
    const dumpFile = join(tmp, 'realm.dump');
    expect(kdc(['dump', '-o', dumpFile]).code).toBe(0);

    // The PostgreSQL realm on the same stash (the master key never goes into the database).
    const init = kdc(['init', '--realm', 'LAB.TEST'], onPg());
    expect(init.code, init.err).toBe(0);
    expect(init.out).toMatch(/^Initialized realm "LAB.TEST" in the database at postgresql:\/\/127\.0\.0\.1:\d+\/kdc; master key from the existing stash .*\/stash\.\n$/);
    expect(init.out + init.err).not.toContain(pg!.password);
    const load = kdc(['load', dumpFile], onPg());
    expect(load.code, load.err).toBe(0);
    expect(load.out).toBe('Loaded 4 principals into realm LAB.TEST.\n');
    expect(kdc(['listprincs'], onPg()).out).toBe(kdc(['listprincs']).out);
    expect(kdc(['getpol', 'users'], onPg()).out).toBe(kdc(['getpol', 'users']).out);
    // The same dump back out: principals, keys (still encrypted under the same master key), policies, history.
    // (The master key check value is the same key's, under another nonce.)
    const { masterKeyCheck: c1, ...fromPg } = JSON.parse(kdc(['dump'], onPg()).out) as Record<string, unknown>;
    const { masterKeyCheck: c2, ...fromSqlite } = JSON.parse(readFileSync(dumpFile, 'utf8')) as Record<string, unknown>;
    expect(typeof c1 === 'string' && typeof c2 === 'string').toBe(true);
    expect(fromPg).toEqual(fromSqlite);
    // The policy's history came along: bob's first password is refused as reused.
    const reuse = kdc(['cpw', 'bob', '--password', 'Bob-pw-01'], onPg());
    expect(reuse.code).toBe(1);
    expect(reuse.err).toMatch(/reuse|used before|history/i);

    k1 = await startKdc('kdc1', true);
    expect(k1.stderr()).toContain('kdc: realm LAB.TEST serving on');
    const r = kinit(k1, ['alice'], 'Alice-pw-1');
    expect(r.code, r.out).toBe(0);
    const klist = spawnSync(findProgram('klist')!, [], { encoding: 'utf8', env: { ...clockEnv(), PATH: process.env.PATH ?? '', KRB5CCNAME: `FILE:${join(tmp, 'cc')}` } });
    expect(klist.stdout).toContain('Default principal: alice@LAB.TEST');
    expect(kinit(k1, ['bob'], 'Bob-pw-02', 'cc-bob').code).toBe(0);
  });

  it('two KDC processes on one database: an admin change reaches both; wrong passwords over both count once each, and the lockout holds on both', async () => {
    k2 = await startKdc('kdc2');
    expect(kdc(['addprinc', 'carol', '--password', 'Carol-pw-1'], onPg()).code).toBe(0);
    // The change feed: both KDCs issue carol's ticket without a restart.
    await eventually('carol on kdc1', () => kinit(k1, ['carol'], 'Carol-pw-1', 'cc-c1').code === 0, 5000);
    await eventually('carol on kdc2', () => kinit(k2, ['carol'], 'Carol-pw-1', 'cc-c2').code === 0, 5000);
    expect(kdc(['realm', '--max-failures', '3', '--lockout-duration', '1h'], onPg()).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    for (const k of [k1, k2, k1]) expect(kinit(k, ['carol'], 'wrong-pw', 'cc-x').out).toContain('Password incorrect');
    // Locked on both: the third failure happened on kdc1, kdc2 refuses too.
    await eventually('the lockout on kdc2', () => /revoked/i.test(kinit(k2, ['carol'], 'Carol-pw-1', 'cc-x').out), 5000);
    expect(kinit(k1, ['carol'], 'Carol-pw-1', 'cc-x').out).toMatch(/revoked/i);
    const g = kdc(['getprinc', 'carol'], onPg()).out;
    expect(g).toContain('Failed password attempts: 3');
    expect(g).toMatch(/Locked out until: /);
    expect(kdc(['modprinc', 'carol', '--unlock'], onPg()).code).toBe(0);
    await eventually('carol unlocked on kdc2', () => kinit(k2, ['carol'], 'Carol-pw-1', 'cc-x').code === 0, 5000);
    expect(kdc(['realm', '--max-failures', '0'], onPg()).code).toBe(0);
    // MIT kpasswd through kdc1's kpasswd service (an asynchronous password change in PostgreSQL); kdc2 takes the new password.
    const env = { ...clockEnv(), PATH: process.env.PATH ?? '', KRB5_CONFIG: k1.conf, KRB5CCNAME: `FILE:${join(tmp, 'cc-kpw')}` };
    const kpw = spawnSync(findProgram('kpasswd')!, ['carol'], { encoding: 'utf8', input: 'Carol-pw-1\nCarol-pw-2\nCarol-pw-2\n', env, timeout: 30_000 });
    expect(kpw.stdout, kpw.stderr).toContain('Password changed.');
    await eventually('the new password on kdc2', () => kinit(k2, ['carol'], 'Carol-pw-2', 'cc-x').code === 0, 5000);
    expect(kinit(k2, ['carol'], 'Carol-pw-1', 'cc-x').out).toContain('Password incorrect');
  });

  it('keeps serving from memory while the database is away; says so once; admin commands fail with one line; catches up when it is back', async () => {
    // erin has logged in through kdc2 only: kdc1 has never read her (principals are read on demand).
    expect(kdc(['addprinc', 'erin', '--password', 'Erin-pw-1'], onPg()).code).toBe(0);
    await eventually('erin on kdc2', () => kinit(k2, ['erin'], 'Erin-pw-1', 'cc-e').code === 0, 5000);
    const both = join(tmp, 'krb5-both.conf');
    writeFileSync(both, readFileSync(k1.conf, 'utf8').replace(/(  kdc = 127\.0\.0\.1:\d+\n)/, `$1  kdc = 127.0.0.1:${k2.port}\n`));
    pg!.pause();
    try {
      await eventually('the lost line', () => /kdc: lost the database/.test(k1.stderr()), 10_000);
      expect(k1.stderr()).toMatch(/kdc: lost the database at postgresql:\/\/127\.0\.0\.1:\d+\/kdc \([^)]+\); serving the \d+ principals in memory, reconnecting\n/);
      const served = kinit(k1, ['alice'], 'Alice-pw-1', 'cc-away');
      expect(served.code, served.out).toBe(0);
      // erin is not in kdc1's memory: it answers KDC_ERR_SVC_UNAVAILABLE, and MIT's kinit asks kdc2, which holds her.
      // (With kdc1 alone MIT would count that answer as none and retry it for its full 30 s timeout.)
      const next = kinit({ ...k1, conf: both }, ['erin'], 'Erin-pw-1', 'cc-away');
      expect(next.code, next.out).toBe(0);
      await eventually('the DB_UNAVAILABLE log line', () => /"cname":"erin@LAB.TEST".*"status":"DB_UNAVAILABLE"/.test(k1.stdout()), 5000);
      expect(k1.stdout()).not.toMatch(/"cname":"erin@LAB.TEST".*"status":"ISSUE"/);
      const add = kdc(['addprinc', 'dave', '--password', 'Dave-pw-1'], onPg());
      expect(add.code).toBe(1);
      expect(add.err).toMatch(/^kdc addprinc: cannot reach the database at postgresql:\/\/127\.0\.0\.1:\d+\/kdc: connection refused\n$/);
      await new Promise((r) => setTimeout(r, 2000));
      expect(k1.stderr().match(/lost the database/g)).toHaveLength(1);
      expect(k1.proc.exitCode).toBeNull();
      expect(k2.proc.exitCode).toBeNull();
    } finally {
      pg!.resume();
    }
    await eventually('the back line', () => /the database at postgresql:\/\/127\.0\.0\.1:\d+\/kdc is reachable again/.test(k1.stderr()), 20_000);
    expect(kdc(['addprinc', 'dave', '--password', 'Dave-pw-1'], onPg()).code).toBe(0);
    await eventually('dave on kdc1', () => kinit(k1, ['dave'], 'Dave-pw-1', 'cc-d').code === 0, 5000);
    for (const k of [k1, k2]) {
      expect(k.stderr() + k.stdout()).not.toContain(pg!.password);
      k.proc.kill('SIGTERM');
    }
    await eventually('both stopped', () => k1.proc.exitCode !== null && k2.proc.exitCode !== null);
    expect(k1.proc.exitCode).toBe(0);
    expect(k1.stderr()).not.toMatch(/\n\s+at /);
  });
});
