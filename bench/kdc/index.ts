// bench/kdc: load on a KDC, ours beside MIT's krb5kdc in the same run.
//
// By default the load is MIT's own libkrb5 (bench/kdc/mit-bench.ts: a C
// program the bench builds against libkrb5-dev), what real clients send:
//   pnpm bench kdc [--seconds=3] [--rounds=2] [--concurrency=2,8] [--workers-concurrency=8] [--part=cpu|workers]
//
// --load=node: the older Node load generator (fresh AS exchanges with
// encrypted-timestamp pre-authentication, TGS exchanges on one TGT, without
// FAST; cheaper requests than MIT's clients send) at concurrency N over UDP;
// prints req/s, p50 and p99 latency, and CPU µs per request of the KDC process
// (from /proc/PID/stat); or against any KDC address:
//   pnpm bench kdc --load=node [--concurrency=8] [--seconds=3] [--rounds=2] [--warmup=3] [--no-mit]
//   pnpm bench kdc --load=node --kdc=127.0.0.1:88 --realm=R --user=alice --password=PW [--service=pop/localhost] [--pid=PID]
//
// The request handler alone, without sockets (for profiling):
//   node [--cpu-prof] --import tsx bench/kdc/inproc.ts [N] [as|tgs|both]
//   node [--cpu-prof] --import tsx bench/kdc/inproc-mit.ts [ROUNDS]   (MIT's own TGS-REQs, captured, then replayed)
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initRealm } from '@kpop/kdc';
import { findProgram, hasMitKdc, startMitRealm } from '../../test/helpers/mit-realm.js';
import type { MitRealm } from '../../test/helpers/mit-realm.js';
import { asRequestMaker, getTgt, percentile, runPhase, tgsRequestMaker, userKey } from './load.js';
import type { PhaseResult, Target } from './load.js';
import { cpuSeconds, findPid } from './proc.js';
import { buildMitLoad } from './mit-load.js';
import { runMitBench } from './mit-bench.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = new Map<string, string>();
for (const a of process.argv.slice(2)) {
  const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
  if (m) args.set(m[1]!, m[2] ?? 'true');
}
const concurrency = Number((args.get('concurrency') ?? '8').split(',')[0]);
const seconds = Number(args.get('seconds') ?? 3);
const rounds = Number(args.get('rounds') ?? 2);
const warmup = Number(args.get('warmup') ?? 3);
const PASSWORD = 'bench-pw-1';

async function startOurs(): Promise<{ target: Target; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kdc-bench-ours-'));
  const db = initRealm(join(dir, 'db'), { realm: 'OURS.TEST' });
  db.addPrincipal('alice', { password: PASSWORD });
  db.addPrincipal('pop/localhost', { randkey: true });
  db.close();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(here, 'serve.ts'), join(dir, 'db'), join(dir, 'kdc.log')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, KDC_REQUEST_LIMITS: 'off' } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`our KDC exited with ${code}`)));
  });
  return {
    target: { label: 'ours (@kpop/kdc)', host: '127.0.0.1', port, realm: 'OURS.TEST', user: 'alice', password: PASSWORD, service: ['pop', 'localhost'], pid: child.pid! },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startMit(): Promise<{ target: Target; realm: MitRealm }> {
  const realm = await startMitRealm({ realm: 'MIT.TEST', principals: [{ name: 'alice', password: PASSWORD }, { name: 'pop/localhost' }] });
  const pid = findPid('krb5kdc', 'KRB5_KDC_PROFILE', realm.kdcConf);
  return { realm, target: { label: 'MIT krb5kdc', host: '127.0.0.1', port: realm.port, realm: 'MIT.TEST', user: 'alice', password: PASSWORD, service: ['pop', 'localhost'], ...(pid ? { pid } : {}) } };
}

interface Row {
  target: string;
  kind: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuUs?: number;
  failures: number;
}

async function measurePhase(t: Target, kind: 'AS' | 'TGS', make: () => Uint8Array, tag: number): Promise<Row> {
  const cpu0 = t.pid ? cpuSeconds(t.pid) : 0;
  const r: PhaseResult = await runPhase(t, make, tag, concurrency, seconds);
  const cpu1 = t.pid ? cpuSeconds(t.pid) : 0;
  const sorted = r.latenciesUs.sort((a, b) => a - b);
  const row: Row = { target: t.label, kind, reqPerSec: r.requests / r.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), failures: r.failures };
  if (t.pid && r.requests) row.cpuUs = ((cpu1 - cpu0) * 1e6) / r.requests;
  return row;
}

function print(row: Row): void {
  const cpu = row.cpuUs === undefined ? '       -' : row.cpuUs.toFixed(0).padStart(8);
  console.log(`${row.target.padEnd(18)} ${row.kind.padEnd(4)} ${row.reqPerSec.toFixed(0).padStart(8)} req/s  p50 ${row.p50.toFixed(0).padStart(6)} µs  p99 ${row.p99.toFixed(0).padStart(6)} µs  CPU ${cpu} µs/req${row.failures ? `  (${row.failures} failed)` : ''}`);
}

async function main(): Promise<void> {
  const targets: Target[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    if (args.has('kdc')) {
      const [host, port] = args.get('kdc')!.split(':');
      const pid = args.get('pid');
      targets.push({ label: args.get('label') ?? args.get('kdc')!, host: host!, port: Number(port ?? 88), realm: args.get('realm') ?? 'LAB.TEST', user: args.get('user') ?? 'alice', password: args.get('password') ?? '', service: (args.get('service') ?? 'pop/localhost').split('/'), ...(pid ? { pid: Number(pid) } : {}) });
    } else {
      const ours = await startOurs();
      cleanups.push(() => ours.stop());
      targets.push(ours.target);
      if (!args.has('no-mit')) {
        if (hasMitKdc && findProgram('krb5kdc')) {
          const mit = await startMit();
          cleanups.push(() => mit.realm.stop());
          targets.push(mit.target);
        } else {
          console.log('MIT krb5kdc not installed (apt-get install krb5-kdc krb5-admin-server): measuring ours alone');
        }
      }
    }
    console.log(`concurrency ${concurrency}, ${seconds} s per phase, ${rounds} round(s), aes256-cts-hmac-sha1-96, UDP`);
    const best = new Map<string, Row>();
    const prepared = await Promise.all(
      targets.map(async (t) => {
        const key = userKey(t);
        return { t, key, tgt: await getTgt(t, key) };
      }),
    );
    // Warm-up (unmeasured): our JIT and both KDCs' caches reach steady state.
    for (const p of prepared) {
      await runPhase(p.t, asRequestMaker(p.t, p.key), 0x6b, concurrency, warmup);
      await runPhase(p.t, tgsRequestMaker(p.t, p.tgt), 0x6d, concurrency, warmup);
    }
    for (let round = 0; round < rounds; round++) {
      // Interleaved, so that both KDCs see the same background load.
      for (const kind of ['AS', 'TGS'] as const) {
        for (const p of prepared) {
          const row = kind === 'AS' ? await measurePhase(p.t, 'AS', asRequestMaker(p.t, p.key), 0x6b) : await measurePhase(p.t, 'TGS', tgsRequestMaker(p.t, p.tgt), 0x6d);
          print(row);
          const k = `${row.target}/${kind}`;
          const prev = best.get(k);
          if (!prev || (row.cpuUs ?? Infinity) < (prev.cpuUs ?? Infinity)) best.set(k, row);
        }
      }
    }
    if (targets.length === 2 && targets.every((t) => t.pid)) {
      for (const kind of ['AS', 'TGS']) {
        const a = best.get(`${targets[0]!.label}/${kind}`)?.cpuUs;
        const b = best.get(`${targets[1]!.label}/${kind}`)?.cpuUs;
        if (a !== undefined && b !== undefined) console.log(`${kind}: ours ${a.toFixed(0)} µs vs MIT ${b.toFixed(0)} µs CPU per exchange (best round): ratio ${(a / b).toFixed(2)} (goal ≤ 0.50)`);
      }
    }
  } finally {
    for (const c of cleanups) await c().catch(() => {});
  }
}

async function mitMain(): Promise<boolean> {
  if (args.get('load') === 'node' || args.has('kdc')) return false;
  if (!(hasMitKdc && findProgram('krb5kdc'))) {
    console.log('MIT krb5kdc not installed (apt-get install krb5-kdc krb5-admin-server): falling back to the Node load generator, ours alone');
    return false;
  }
  const built = buildMitLoad();
  if ('reason' in built) {
    console.log(`MIT's clients cannot be the load: ${built.reason}; falling back to the Node load generator`);
    return false;
  }
  const part = args.get('part');
  await runMitBench({
    bin: built.bin,
    seconds,
    rounds,
    concurrencies: (args.get('concurrency') ?? '2,8').split(',').map(Number),
    workersConcurrency: Number(args.get('workers-concurrency') ?? 8),
    parts: new Set(part === 'cpu' || part === 'workers' ? [part] : ['cpu', 'workers']),
  });
  return true;
}

if (!(await mitMain())) await main();
