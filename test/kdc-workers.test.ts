/**
 * `kdc start --workers N`: N processes serving one UDP and TCP port, driven
 * by MIT's kinit. Both workers answer; a worker killed with SIGKILL under
 * kinit load is restarted by the primary (one log line) and no kinit fails
 * (MIT's own UDP retransmission reaches a live worker); hostile datagrams
 * crash no worker; wrong passwords spread over the workers lock the
 * principal on all of them after the policy's count; SIGTERM stops them all.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram, hasMitClients } from './helpers/mit-realm.js';

const ROOT = join(import.meta.dirname, '..');
const KDC = join(ROOT, 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
const skip = hasMitClients ? '' : ' (skipped: MIT kinit not installed: apt-get install krb5-user)';

let tmp: string;
let dir: string;
let server: ChildProcess | undefined;
let stdout = '';
let stderr = '';
let port = 0;
let env: Record<string, string>;

function kdc(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [KDC, ...args, '--dir', dir], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** MIT kinit, asynchronously (the KDC's output keeps flowing meanwhile). */
function kinit(cache: string, name = 'alice', password = 'alice-pw-1', conf = 'krb5.conf'): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(findProgram('kinit')!, [name], { env: { ...env, KRB5_CONFIG: join(tmp, conf), KRB5CCNAME: `FILE:${join(tmp, cache)}` }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    // kinit refused before its prompt (a locked principal) never reads the password: EPIPE is expected then.
    c.stdin.on('error', () => {});
    c.stdin.end(`${password}\n`);
    // 'close', not 'exit': the output is complete only once its pipes are.
    c.once('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** The workers that logged an AS exchange for `cname` ending in `status`. */
function workersWith(cname: string, status: string): Set<number> {
  const seen = new Set<number>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { worker?: number; status?: string; cname?: string };
    if (r.cname === cname && r.status === status && r.worker !== undefined) seen.add(r.worker);
  }
  return seen;
}

async function eventually(fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function workerPids(): number[] {
  const out = execFileSync('ps', ['--ppid', String(server!.pid), '-o', 'pid='], { encoding: 'utf8' });
  return out.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
}

function workersInLog(): Set<number> {
  const seen = new Set<number>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { worker?: number; status?: string };
    if (r.status === 'ISSUE' && r.worker !== undefined) seen.add(r.worker);
  }
  return seen;
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  tmp = mkdtempSync(join(tmpdir(), 'kdc-workers-'));
  dir = join(tmp, 'db');
  if (!hasMitClients) return;
  expect(kdc(['init', '--realm', 'LAB.TEST']).code).toBe(0);
  expect(kdc(['addprinc', 'alice', '--password', 'alice-pw-1']).code).toBe(0);
  expect(kdc(['addpol', 'strict', '--maxfailure', '3', '--failurecountinterval', '10m', '--lockoutduration', '1h']).code).toBe(0);
  expect(kdc(['addprinc', 'mallory', '--password', 'mallory-pw-1', '--policy', 'strict']).code).toBe(0);
  server = spawn(process.execPath, [KDC, 'start', '--listen', '127.0.0.1:0', '--kpasswd-listen', 'none', '--workers', '2', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await eventually(() => /serving on 127\.0\.0\.1:(\d+)/.test(stderr), 30_000);
  port = Number(/serving on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
  writeFileSync(join(tmp, 'krb5.conf'), `[libdefaults]\n default_realm = LAB.TEST\n dns_lookup_kdc = false\n rdns = false\n[realms]\n LAB.TEST = {\n  kdc = 127.0.0.1:${port}\n }\n`);
  // The same KDC over TCP only: with shared sockets the primary hands TCP connections to the workers in turn
  // (with SO_REUSEPORT the kernel spreads them by address and port), so consecutive kinits reach both workers.
  writeFileSync(join(tmp, 'krb5-tcp.conf'), `[libdefaults]\n default_realm = LAB.TEST\n dns_lookup_kdc = false\n rdns = false\n udp_preference_limit = 1\n[realms]\n LAB.TEST = {\n  kdc = 127.0.0.1:${port}\n }\n`);
  env = { PATH: process.env.PATH ?? '', KRB5_CONFIG: join(tmp, 'krb5.conf'), KRB5_KTNAME: join(tmp, 'none.keytab') };
}, 120_000);

/** KDCs a test started itself: killed here too, so a test that times out leaves no KDC behind. */
const extra: ChildProcess[] = [];

afterAll(() => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  for (const c of extra) {
    if (c.exitCode !== null || c.pid === undefined) continue;
    // The primary and its workers.
    for (const pid of execFileSync('ps', ['--ppid', String(c.pid), '-o', 'pid='], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter((n) => n > 0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    c.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('kdc start --workers', () => {
  it('refuses a worker count that is not a number from 1 to 256 or auto, in one line', () => {
    for (const bad of ['0', '-1', 'many', '300']) {
      const r = spawnSync(process.execPath, [KDC, 'start', '--workers', bad, '--dir', join(tmp, 'nowhere')], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('--workers');
    }
  });

  it.skipIf(!hasMitClients)('serves MIT kinit from two worker processes, each answering (the log names the worker)' + skip, async () => {
    expect(stderr).toMatch(/with 2 workers \(pids \d+ \d+; (shared sockets|SO_REUSEPORT)\)/);
    expect(workerPids()).toHaveLength(2);
    for (let round = 0; round < 10 && workersInLog().size < 2; round++) {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => kinit(`cc-${round}-${i}`)));
      for (const r of results) expect(r.code, r.out).toBe(0);
    }
    expect([...workersInLog()].sort()).toEqual([1, 2]);
  }, 60_000);

  it.skipIf(!hasMitClients)('restarts a worker killed with SIGKILL under kinit load, logging it; no kinit fails' + skip, async () => {
    const before = workerPids();
    const victim = before[0]!;
    let stop = false;
    const failures: string[] = [];
    let done = 0;
    // Four clients in a loop, as users logging in.
    const loops = Array.from({ length: 4 }, async (_, i) => {
      for (let n = 0; !stop; n++) {
        const r = await kinit(`cc-load-${i}-${n}`);
        if (r.code !== 0) failures.push(r.out);
        done++;
      }
    });
    await eventually(() => done >= 8, 30_000);
    process.kill(victim, 'SIGKILL');
    await eventually(() => /worker \d \(pid \d+\) exited with signal SIGKILL; restarting it/.test(stderr) && /worker \d restarted \(pid \d+\)/.test(stderr), 30_000);
    const after = done;
    await eventually(() => done >= after + 12, 60_000);
    stop = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    const now = workerPids();
    expect(now).toHaveLength(2);
    expect(now).not.toContain(victim);
    expect(stderr).toContain(`(pid ${victim}) exited with signal SIGKILL`);
  }, 120_000);

  it.skipIf(!hasMitClients)('hostile datagrams and TCP frames crash no worker; kinit still works' + skip, async () => {
    const pids = workerPids();
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.3', () => r()));
    const junk = [Buffer.alloc(0), Buffer.from([0x6a, 0x84, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x6c, 0x03, 0x30, 0x01]), Buffer.alloc(3000, 0x30), Buffer.from('GET / HTTP/1.0\r\n\r\n')];
    for (let i = 0; i < 200; i++) sock.send(junk[i % junk.length]!, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    sock.close();
    await new Promise<void>((resolve) => {
      const c = connect(port, '127.0.0.1', () => c.end(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x30, 0x80])));
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      c.resume();
    });
    const r = await kinit('cc-after-junk');
    expect(r.code, r.out).toBe(0);
    expect(workerPids().sort()).toEqual(pids.sort());
    expect(stderr).not.toMatch(/exited with (code [1-9]|signal SIG(SEGV|ABRT))/);
  }, 60_000);

  it.skipIf(!hasMitClients)('the workers share one failure count: three wrong passwords over them lock the principal on every worker' + skip, async () => {
    // Both workers hold mallory first (each has answered her), so neither reads her row again below. Over TCP
    // the primary hands connections to the workers in turn (shared sockets) or the kernel spreads them (SO_REUSEPORT).
    for (let round = 0; round < 10 && workersWith('mallory@LAB.TEST', 'ISSUE').size < 2; round++) {
      const ok = await Promise.all(Array.from({ length: 4 }, (_, i) => kinit(`cc-m-${round}-${i}`, 'mallory', 'mallory-pw-1', 'krb5-tcp.conf')));
      for (const r of ok) expect(r.code, r.out).toBe(0);
      await eventually(() => workersWith('mallory@LAB.TEST', 'ISSUE').size > 0, 2000);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(workersWith('mallory@LAB.TEST', 'ISSUE')).toEqual(new Set([1, 2]));
    for (let i = 0; i < 3; i++) expect((await kinit(`cc-mx-${i}`, 'mallory', 'wrong-pw', 'krb5-tcp.conf')).out).toContain('Password incorrect');
    // Whichever worker each attempt reaches refuses it: each has counted all three failures, not only its own.
    // Over UDP either worker may read each datagram (a worker that had not counted them would answer
    // PREAUTH_REQUIRED, and one of the kinits would get a ticket).
    for (let i = 0; i < 12; i++) {
      const r = await kinit(`cc-mr-${i}`, 'mallory', 'mallory-pw-1');
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/revoked/i);
    }
  }, 90_000);

  it.skipIf(!hasMitClients)('SIGTERM stops the primary and every worker (exit 0)' + skip, async () => {
    const pids = workerPids();
    const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
    server!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('kdc: SIGTERM: stopped');
    for (const p of pids) expect(existsSync(`/proc/${p}`) && !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ')).toBe(false);
  }, 30_000);
});

describe('kdc start --workers: workers that keep dying', () => {
  it('gives up when five workers in a row fail to start (the database moved away): stops the rest, exits 1, one line saying why', async () => {
    const d = join(tmp, 'db2');
    expect(spawnSync(process.execPath, [KDC, 'init', '--realm', 'LAB.TEST', '--dir', d], { encoding: 'utf8', timeout: 30_000 }).status).toBe(0);
    const child = spawn(process.execPath, [KDC, 'start', '--listen', '127.0.0.1:0', '--kpasswd-listen', 'none', '--workers', '2', '--dir', d], { stdio: ['ignore', 'ignore', 'pipe'] });
    extra.push(child);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await eventually(() => /with 2 workers/.test(err), 30_000);
      const pid = Number(/\(pids (\d+) \d+;/.exec(err)![1]);
      // The realm directory goes away: the worker restarted after the kill cannot open it, nor can the next four.
      renameSync(d, `${d}.moved`);
      process.kill(pid, 'SIGKILL');
      expect(await exited).toBe(1);
      expect(err).toContain(`worker 1 (pid ${pid}) exited with signal SIGKILL; restarting it`);
      expect(err).toMatch(/5 workers in a row died at start: stopping/);
      expect(err.trim().split('\n').pop()).toMatch(/^kdc start: workers keep dying at start \(no KDC database in /);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
