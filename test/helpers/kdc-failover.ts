/**
 * Two `kdc start` processes on one database, MIT's own clients in front of
 * them, one KDC killed with SIGKILL and started again: the failover scenario
 * that test/kdc-failover.test.ts asserts on (a few seconds) and that
 * bench/kdc-failover measures (longer).
 *
 * MIT's libkrb5 asks the KDCs of the realm in krb5.conf order: the first
 * listed gets every request while it answers. When it is gone, a request to
 * it on loopback meets an ICMP port-unreachable (UDP) or a reset (TCP) and
 * libkrb5 moves on to the next KDC at once; only a request already sent to
 * the KDC when it died waits for MIT's per-KDC timeout (1 s on the first
 * pass of sendto_kdc.c; MIT 1.20 has no krb5.conf setting for it) before it
 * is sent to the next. On a network where a dead host sends nothing back,
 * every request pays that second until the host is removed from krb5.conf.
 *
 * The database is reached through `store.args`: `--dir D` for SQLite (both
 * KDCs on one file), `--db URL --dir D` for PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clockEnv } from './mit-clock.js';
import { freeServicePort } from './free-port.js';
import { findProgram } from './mit-realm.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const KDC_BIN = join(ROOT, 'packages', 'kdc', 'dist', 'bin', 'kdc.js');

export interface FailoverStore {
  /** 'SQLite' or 'PostgreSQL', for titles and reports. */
  name: string;
  /** What every `kdc` command gets to reach the database: `--dir D`, or `--db URL --dir D`. */
  args: string[];
  /** Extra environment for the kdc commands (e.g. KPOP_KDC_DB). */
  env?: Record<string, string>;
}

/** Every process started here, so that killAll() leaves none behind even when a test fails midway. */
const started = new Set<ChildProcess>();

/** SIGKILL every kdc process this module started and that still runs. */
export function killAll(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  started.clear();
}

export interface RunResult {
  code: number;
  out: string;
  ms: number;
}

/** A program run asynchronously (the KDCs' output and the other clients keep flowing meanwhile). */
export function run(program: string, args: string[], env: Record<string, string>, input = '', timeoutMs = 30_000): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = spawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.stdin.on('error', () => {});
    c.stdin.end(input);
    c.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out: `${out}${e.message}`, ms: performance.now() - t0 });
    });
    c.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out: signal ? `${out}killed by ${signal}` : out, ms: performance.now() - t0 });
    });
  });
}

/** One `kdc` admin command against the store. */
export function kdc(store: FailoverStore, args: string[], input = ''): Promise<RunResult> {
  return run(process.execPath, [KDC_BIN, ...args, ...store.args], { PATH: process.env.PATH ?? '/usr/bin:/bin', ...store.env }, input);
}

export interface KdcProcess {
  child: ChildProcess;
  port: number;
  /** Its stderr so far (status lines). */
  stderr(): string;
  /** Requests it answered with a ticket so far (ISSUE lines of its request log). */
  issued(): number;
  /** Its last 50 request-log lines whose status is neither ISSUE nor PREAUTH_REQUIRED (for a failure's message). */
  refusals(): string[];
}

async function until(what: string, fn: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * `kdc start` on 127.0.0.1:port, no kpasswd service, every failure logged
 * (all clients share one address, whose PREAUTH_REQUIRED lines would fill
 * the default cap); resolves once it serves. Without a port, a free one
 * outside the kernel's ephemeral range (helpers/free-port.ts: while a KDC is
 * down, a client given its port number as its own would talk to itself).
 */
export async function startKdc(store: FailoverStore, port?: number): Promise<KdcProcess> {
  if (port !== undefined) return spawnKdc(store, port);
  for (let tries = 0; ; tries++) {
    try {
      return await spawnKdc(store, await freeServicePort());
    } catch (e) {
      // Taken by another program between the check and the KDC's bind.
      if (tries >= 5 || !/address in use/i.test((e as Error).message)) throw e;
    }
  }
}

async function spawnKdc(store: FailoverStore, port: number): Promise<KdcProcess> {
  const child = spawn(process.execPath, [KDC_BIN, 'start', '--listen', `127.0.0.1:${port}`, '--kpasswd-listen', 'none', '--failure-logs-per-address', '0', ...store.args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...store.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let err = '';
  let issued = 0;
  let partial = '';
  const refusals: string[] = [];
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (l.includes('"status":"ISSUE"')) issued++;
      else if (!l.includes('"status":"PREAUTH_REQUIRED"') && refusals.push(l) > 50) refusals.shift();
    }
  });
  const serving = /serving on 127\.0\.0\.1:(\d+)/;
  await until('the KDC to serve', () => serving.test(err) || child.exitCode !== null, 30_000);
  if (!serving.test(err)) throw new Error(`kdc start exited ${child.exitCode}: ${err.trim()}`);
  return { child, port: Number(serving.exec(err)![1]), stderr: () => err, issued: () => issued, refusals: () => refusals };
}

/** A client krb5.conf naming the given KDC ports, in this order. */
export function writeKrb5Conf(path: string, realm: string, ports: number[]): string {
  const kdcs = ports.map((p) => `  kdc = 127.0.0.1:${p}\n`).join('');
  // Written aside and renamed: a kinit starting meanwhile reads the old file or the new one, never half of one.
  writeFileSync(`${path}.new`, `[libdefaults]\n default_realm = ${realm}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n[realms]\n ${realm} = {\n${kdcs} }\n`);
  renameSync(`${path}.new`, path);
  return path;
}

/** The environment MIT's programs get: this krb5.conf, this ccache, the test's clock, no default keytab. */
export function mitEnv(conf: string, ccache: string, tmp: string): Record<string, string> {
  return { ...clockEnv(), PATH: process.env.PATH ?? '/usr/bin:/bin', KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${ccache}`, KRB5_KTNAME: join(tmp, 'none.keytab') };
}

export interface Login {
  /** performance.now() at the start of kinit and at the end of kvno. */
  start: number;
  end: number;
  ok: boolean;
  /** What failed, for the report. */
  detail?: string;
}

export interface LoginUser {
  principal: string;
  password: string;
  service: string;
}

/** kinit with a password, then kvno of a service: one user's login, by MIT's programs. */
export async function mitLogin(conf: string, ccache: string, tmp: string, user: LoginUser): Promise<Login> {
  // libkrb5's trace (which KDC, which transport, how many bytes): kept in the detail of a failed login.
  const trace = `${ccache}.trace`;
  rmSync(trace, { force: true });
  const env = { ...mitEnv(conf, ccache, tmp), KRB5_TRACE: trace };
  const traced = (): string => {
    try {
      return `\n${readFileSync(trace, 'utf8').trim()}`;
    } catch {
      return '';
    }
  };
  const start = performance.now();
  const k = await run(findProgram('kinit')!, [user.principal], env, `${user.password}\n`);
  if (k.code !== 0) return { start, end: performance.now(), ok: false, detail: `kinit exit ${k.code}: ${k.out.trim()}${traced()}` };
  rmSync(trace, { force: true });
  const v = await run(findProgram('kvno')!, [user.service], env);
  const ok = v.code === 0 && v.out.includes('kvno = ');
  return { start, end: performance.now(), ok, ...(ok ? {} : { detail: `kvno exit ${v.code}: ${v.out.trim()}${traced()}` }) };
}

/** `clients` loops of MIT logins until stop(). */
export function startLoad(conf: string, tmp: string, user: LoginUser, clients: number): { logins: Login[]; stop(): Promise<void> } {
  const logins: Login[] = [];
  let stopping = false;
  const loops = Array.from({ length: clients }, async (_, i) => {
    for (let n = 0; !stopping; n++) logins.push(await mitLogin(conf, join(tmp, `cc-load-${i}-${n % 4}`), tmp, user));
  });
  return {
    logins,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

export interface FailoverTimes {
  /** Load with both KDCs up before the kill. */
  beforeKillMs: number;
  /** How long the first KDC stays dead. */
  outageMs: number;
  /** Load after the restart. */
  afterRestartMs: number;
  /** Parallel login loops. */
  clients: number;
  /**
   * kill (default): SIGKILL, then a new `kdc start` on the same port. freeze: SIGSTOP, then SIGCONT;
   * a stopped KDC's port stays open and answers nothing, as a host gone from the network would
   * (no ICMP, no reset), so every request MIT sends it waits out its 1 s timeout first.
   */
  fault?: 'kill' | 'freeze';
}

export interface FailoverResult {
  store: string;
  attempted: number;
  failed: Login[];
  /** Longest login (kinit + kvno) that overlapped the outage, and the longest before the kill. */
  longestDuringOutageMs: number;
  longestBeforeKillMs: number;
  /** Median logins before the kill, during the outage, after the restart. */
  medianMs: { before: number; during: number; after: number };
  /** From `kdc addprinc` returning to the first successful MIT kinit of the new principal (KDC 1 down). */
  addprincToServedMs: number;
  /** How long that successful kinit took by itself (MIT's start, two AS exchanges): the rest is the KDC catching up. */
  servedKinitMs: number;
  /** Tickets the second KDC issued while the first was dead. */
  secondKdcIssuedDuringOutage: number;
  /** Tickets the restarted KDC issued from the load after it came back. */
  restartedIssued: number;
  /** MIT kinit + kvno against the restarted KDC alone (krb5.conf naming only it), old and new principal. */
  restartedAlone: { existing: Login; added: Login };
  kdcStderr: string[];
  /** The last request-log lines of each KDC that were not ISSUE (what a failed login met). */
  kdcRefusals: string[];
}

export const REALM = 'FAILOVER.TEST';
export const FAILOVER_USER: LoginUser = { principal: `alice@${REALM}`, password: 'alice-failover-pw', service: `svc/failover.test@${REALM}` };

/** `kdc init` and the principals the scenario uses. */
export async function initFailoverRealm(store: FailoverStore): Promise<void> {
  for (const args of [
    ['init', '--realm', REALM],
    ['addprinc', 'alice', '--password', FAILOVER_USER.password],
    ['addprinc', 'svc/failover.test', '--randkey'],
  ]) {
    const r = await kdc(store, args);
    if (r.code !== 0) throw new Error(`kdc ${args[0]} (${store.name}) exited ${r.code}: ${r.out.trim()}`);
  }
}

/** Each run adds a principal of its own (bob1, bob2 …), so that runs can share a realm. */
let added = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The scenario, on a realm initFailoverRealm() made: KDC 1 and KDC 2 start; `clients` MIT login loops
 * run against a krb5.conf naming both (KDC 1 first); KDC 1 gets SIGKILL (or SIGSTOP: times.fault); a
 * principal is added with `kdc addprinc` and MIT kinit tries it until the live KDC serves it; KDC 1
 * starts again on its port (or gets SIGCONT); the load stops; MIT's programs then log in through KDC 1
 * alone. Every process is SIGKILLed on the way out.
 */
export async function runFailover(store: FailoverStore, tmp: string, times: FailoverTimes, progress: (line: string) => void = () => {}): Promise<FailoverResult> {
  const kdc1 = await startKdc(store);
  const kdc2 = await startKdc(store);
  const both = writeKrb5Conf(join(tmp, 'krb5-both.conf'), REALM, [kdc1.port, kdc2.port]);
  const only1 = writeKrb5Conf(join(tmp, 'krb5-only1.conf'), REALM, [kdc1.port]);
  progress(`${store.name}: KDC 1 on 127.0.0.1:${kdc1.port}, KDC 2 on 127.0.0.1:${kdc2.port}; ${times.clients} MIT login loops (kinit + kvno)`);
  const load = startLoad(both, tmp, FAILOVER_USER, times.clients);
  const stderr: string[] = [];
  try {
    await sleep(times.beforeKillMs);
    const killAt = performance.now();
    const issued2AtKill = kdc2.issued();
    const freeze = times.fault === 'freeze';
    if (freeze) {
      kdc1.child.kill('SIGSTOP');
    } else {
      kdc1.child.kill('SIGKILL');
      await new Promise((r) => kdc1.child.once('exit', r));
      stderr.push(kdc1.stderr());
    }
    progress(`${store.name}: KDC 1 ${freeze ? 'frozen (SIGSTOP)' : 'killed (SIGKILL)'} after ${load.logins.length} logins`);

    // A principal added while KDC 1 is down: served by KDC 2 once it has re-read the database.
    const name = `bob${++added}`;
    const newUser: LoginUser = { principal: `${name}@${REALM}`, password: 'bob-failover-pw', service: FAILOVER_USER.service };
    const add = await kdc(store, ['addprinc', name, '--password', newUser.password]);
    if (add.code !== 0) throw new Error(`kdc addprinc exited ${add.code}: ${add.out.trim()}`);
    const addedAt = performance.now();
    let addprincToServedMs = -1;
    let servedKinitMs = 0;
    for (let i = 0; performance.now() - addedAt < 10_000; i++) {
      const r = await run(findProgram('kinit')!, [newUser.principal], mitEnv(both, join(tmp, `cc-added-${i}`), tmp), `${newUser.password}\n`);
      if (r.code === 0) {
        addprincToServedMs = performance.now() - addedAt;
        servedKinitMs = r.ms;
        break;
      }
      if (!/not found in Kerberos database/.test(r.out)) throw new Error(`kinit of the added principal failed: ${r.out.trim()}`);
      await sleep(20);
    }
    progress(`${store.name}: principal added with kdc addprinc while KDC 1 was down, served ${addprincToServedMs >= 0 ? `${Math.round(addprincToServedMs)} ms after addprinc returned (the successful kinit itself took ${Math.round(servedKinitMs)} ms)` : 'never (10 s)'}`);

    await sleep(Math.max(0, times.outageMs - (performance.now() - killAt)));
    let restarted = kdc1;
    const issued1AtRestart = kdc1.issued();
    if (freeze) kdc1.child.kill('SIGCONT');
    else {
      try {
        restarted = await startKdc(store, kdc1.port);
      } catch (e) {
        // Another program took the port meanwhile: a free one, and krb5.conf follows (MIT reads it at each start).
        if (!/address in use/.test((e as Error).message)) throw e;
        restarted = await startKdc(store);
        writeKrb5Conf(both, REALM, [restarted.port, kdc2.port]);
        writeKrb5Conf(only1, REALM, [restarted.port]);
      }
    }
    const restartAt = performance.now();
    const issued2 = kdc2.issued() - issued2AtKill;
    progress(`${store.name}: KDC 1 ${freeze ? 'continued (SIGCONT)' : 'restarted on its port'} after ${Math.round(restartAt - killAt)} ms; KDC 2 issued ${issued2} tickets meanwhile`);
    await sleep(times.afterRestartMs);
    await load.stop();

    const existing = await mitLogin(only1, join(tmp, 'cc-only1-alice'), tmp, FAILOVER_USER);
    const addedLogin = await mitLogin(only1, join(tmp, 'cc-only1-bob'), tmp, newUser);
    const during = load.logins.filter((l) => l.end >= killAt && l.start <= restartAt);
    const before = load.logins.filter((l) => l.end < killAt);
    const after = load.logins.filter((l) => l.start > restartAt);
    const longest = (ls: Login[]) => Math.max(0, ...ls.map((l) => l.end - l.start));
    const median = (ls: Login[]) => {
      const d = ls.map((l) => l.end - l.start).sort((a, b) => a - b);
      return d.length ? d[Math.floor(d.length / 2)]! : 0;
    };
    stderr.push(kdc2.stderr(), restarted.stderr());
    const refusals = [kdc1, kdc2, ...(restarted === kdc1 ? [] : [restarted])].flatMap((k, i) => k.refusals().map((l) => `KDC ${i === 2 ? '1 (restarted)' : i + 1}: ${l}`));
    return {
      store: store.name,
      attempted: load.logins.length,
      failed: load.logins.filter((l) => !l.ok),
      longestDuringOutageMs: longest(during),
      longestBeforeKillMs: longest(before),
      medianMs: { before: median(before), during: median(during), after: median(after) },
      addprincToServedMs,
      servedKinitMs,
      secondKdcIssuedDuringOutage: issued2,
      restartedIssued: restarted.issued() - (freeze ? issued1AtRestart : 0),
      restartedAlone: { existing, added: addedLogin },
      kdcStderr: stderr,
      kdcRefusals: refusals,
    };
  } finally {
    await load.stop();
    killAll();
  }
}
