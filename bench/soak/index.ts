// bench/soak: the lab under mixed load for a while (default 30 minutes),
// driven by real clients, the way issue 10 measured it:
//   - KDC: MIT kinit + kvno loops (SOAK_KDC_LOOPS, default 4);
//   - POP3 AUTH GSSAPI: /usr/bin/python3 with python3-gssapi and poplib,
//     a new security context per session, RETR + DELE of everything
//     (SOAK_POP3_WORKERS, default 4; one mailbox each);
//   - KPOP: `kpop fetch --kpop` in a loop (one mailbox);
//   - delivery: Python smtplib.LMTP into the lab's LMTP port, one message
//     every SOAK_DELIVERY_MS (default 50) to the mailboxes in turn.
// Every minute it prints p50/p95/p99 per operation, the lab's RSS, false
// replays (a genuine login refused: every client here is genuine) and
// messages delivered / fetched; at the end, whether every delivered message
// was fetched or is still in a Maildir, tmp/ empty, and the log files'
// sizes (they rotate at --log-max-size).
//
//   pnpm bench soak                      30 minutes
//   pnpm bench soak --minutes 5          (or SOAK_MINUTES=5)
//   pnpm bench soak --minutes 5 --keep   keep the lab folder for a look
//
// Needs the built programs (npm run build) and MIT krb5-user, python3-gssapi.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LogFollower } from './log-follower.js';
import { f1, minuteLines, SoakStats, type Op } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = join(ROOT, 'bench', 'soak');
const LAB = join(ROOT, 'packages', 'kpop', 'dist', 'bin', 'lab.js');
const KPOP = join(ROOT, 'packages', 'kpop', 'dist', 'bin', 'kpop.js');
const KDC = join(ROOT, 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
const PY = '/usr/bin/python3';

function flag(name: string): string | undefined {
  const args = process.argv;
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
}
const MINUTES = Number(flag('minutes') ?? process.env.SOAK_MINUTES ?? 30);
const KEEP = process.argv.includes('--keep');
const KDC_LOOPS = Number(process.env.SOAK_KDC_LOOPS ?? 4);
const POP3_WORKERS = Number(process.env.SOAK_POP3_WORKERS ?? 4);
const DELIVERY_MS = Number(process.env.SOAK_DELIVERY_MS ?? 50);
const LOG_MAX = flag('log-max-size') ?? '16M';
const LOG_KEEP = flag('log-keep') ?? '4';

function need(ok: boolean, what: string): void {
  if (!ok) {
    console.error(`bench/soak: ${what}`);
    process.exit(1);
  }
}
need(Number.isFinite(MINUTES) && MINUTES > 0, `--minutes must be a positive number, got ${String(flag('minutes'))}`);
need([LAB, KPOP, KDC].every(existsSync), 'the programs are not built: run npm run build (or node scripts/build.mjs)');
need(spawnSync('sh', ['-c', 'command -v kinit && command -v kvno'], { stdio: 'ignore' }).status === 0, 'MIT kinit/kvno are not installed (apt-get install krb5-user)');
need(spawnSync(PY, ['-c', 'import gssapi'], { stdio: 'ignore' }).status === 0, `${PY} cannot import gssapi (apt-get install python3-gssapi)`);

// ---- samples ------------------------------------------------------------
const t0 = Date.now();
const stats = new SoakStats(t0);
const bucket = (m?: number) => stats.bucket(m);
const sample = (op: Op, ms: number) => stats.sample(op, ms);
const error = (op: Op, why: string) => stats.error(op, why);
const { minutes, errorsSeen } = stats;
const delivered = new Map<string, number>();
const fetched = new Map<string, number>();
let stopping = false;

// ---- the lab --------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'kpop-soak-'));
const labDir = join(work, 'lab');
const lab = spawn(process.execPath, [LAB, '--dir', labDir, '--quiet', '--alice-password', 'alice-soak-pw', '--bob-password', 'bob-soak-pw', '--kdc-port', '0', '--kpasswd-port', '0', '--kpop-port', '0', '--pop3-port', '0', '--pop3s-port', '0', '--imap-port', '0', '--imaps-port', '0', '--lmtp-port', '0', '--log-max-size', LOG_MAX, '--log-keep', LOG_KEEP], { stdio: ['ignore', 'pipe', 'pipe'] });
let labOut = '';
lab.stdout!.on('data', (d: Buffer) => (labOut += d.toString()).length > 1e6 && (labOut = labOut.slice(-1e5)));
lab.stderr!.on('data', (d: Buffer) => (labOut += d.toString()));
const children = new Set<ChildProcess>();
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  if (lab.exitCode === null) lab.kill('SIGKILL');
  if (!KEEP) rmSync(work, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  cleanup();
  process.exit(130);
});
for (let i = 0; !existsSync(join(labDir, 'ports.json')); i++) {
  need(i < 600 && lab.exitCode === null, `the lab did not start: ${labOut}`);
  await new Promise((r) => setTimeout(r, 100));
}
const ports = JSON.parse(readFileSync(join(labDir, 'ports.json'), 'utf8')) as { kdc: number; kpop: number; pop3: number; lmtp: number };
const conf = join(labDir, 'krb5.conf');
const env = (cc: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: work, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(work, cc)}` });

// One principal (and mailbox) per POP3 worker and one for KPOP; the running lab's KDC picks them up from the database.
const popUsers = Array.from({ length: POP3_WORKERS }, (_, i) => `soak${i + 1}`);
const kpopUser = 'kpop1';
const kdcUsers = Array.from({ length: KDC_LOOPS }, (_, i) => `kdcload${i + 1}`);
for (const u of [...popUsers, kpopUser, ...kdcUsers]) {
  const r = spawnSync(process.execPath, [KDC, 'addprinc', u, '--dir', join(labDir, 'kdc'), '--password', `${u}-pw`], { encoding: 'utf8' });
  need(r.status === 0, `kdc addprinc ${u}: ${r.stderr}`);
}

function run(cmd: string, args: string[], e: NodeJS.ProcessEnv, input = ''): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const c = spawn(cmd, args, { env: e, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(c);
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    c.stdin!.on('error', () => {});
    c.stdin!.end(input);
    c.on('close', (code) => {
      children.delete(c);
      resolve({ code, out, ms: performance.now() - start });
    });
  });
}

// Tickets for the POP3 and KPOP users (retried while the KDC loads the new principals).
for (const u of [...popUsers, kpopUser]) {
  for (let i = 0; ; i++) {
    const r = await run('kinit', [u], env(`cc-${u}`), `${u}-pw\n`);
    if (r.code === 0) break;
    need(i < 50, `kinit ${u}: ${r.out}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

// ---- the lab's own view: RSS, and refusals in pop.log (followed across rotations) ----
const rssMb = (): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${lab.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
};
const rssTimer = setInterval(() => bucket().rss.push(rssMb()), 5000);
bucket().rss.push(rssMb());

const refusals = new Map<string, number>();
const labStats: Record<string, number>[] = [];
const popLog = new LogFollower(join(labDir, 'pop.log'), (l) => {
  if (l.includes('"event":"stats"')) {
    labStats.push(JSON.parse(l) as Record<string, number>);
    return;
  }
  if (!l.includes('"ok":false')) return;
  try {
    const r = JSON.parse(l) as { event?: string; mech?: string; reason?: string; code?: string };
    if (r.event !== 'auth') return;
    const key = `${r.mech ?? '?'}: ${r.code ?? r.reason ?? '?'}`;
    refusals.set(key, (refusals.get(key) ?? 0) + 1);
    if (/replay/i.test(r.reason ?? '') || r.code === 'KRB_AP_ERR_REPEAT') bucket().falseReplays++;
  } catch {
    // A line cut by a crash: ignore.
  }
});
const logTimer = setInterval(() => popLog.poll(), 1000);

// ---- the load ----------------------------------------------------------------
async function kdcLoop(i: number): Promise<void> {
  const u = kdcUsers[i]!;
  while (!stopping) {
    const k = await run('kinit', [u], env(`cc-kdc-${i}`), `${u}-pw\n`);
    if (k.code === 0) sample('kinit', k.ms);
    else error('kinit', `kinit: ${k.out.trim().slice(0, 120)}`);
    const v = await run('kvno', [`pop/localhost@LAB.TEST`], env(`cc-kdc-${i}`));
    if (v.code === 0) sample('kvno', v.ms);
    else error('kvno', `kvno: ${v.out.trim().slice(0, 120)}`);
  }
}

async function kpopLoop(): Promise<void> {
  let n = 0;
  while (!stopping) {
    const r = await run(process.execPath, [KPOP, 'fetch', '--kpop', '--host', 'localhost', '--port', String(ports.kpop), '--out', join(work, `kpop-${n++ % 2}.mbox`)], env(`cc-${kpopUser}`));
    if (r.code === 0) {
      sample('kpop-fetch', r.ms);
      const m = /^(\d+) messages?/m.exec(r.out);
      const got = m ? Number(m[1]) : 0;
      fetched.set(kpopUser, (fetched.get(kpopUser) ?? 0) + got);
      bucket().fetched += got;
    } else {
      error('kpop-fetch', `kpop fetch: ${r.out.trim().slice(0, 160)}`);
      if (/replay/i.test(r.out)) bucket().falseReplays++;
    }
    // rmSync keeps the mbox files small; counting is from the client's own line.
    for (const f of [0, 1]) rmSync(join(work, `kpop-${f}.mbox`), { force: true });
  }
}

function worker(args: string[], e: NodeJS.ProcessEnv, onLine: (r: Record<string, unknown>) => void): { proc: ChildProcess; done: Promise<void> } {
  const proc = spawn(PY, args, { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try {
      onLine(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not ours
    }
  });
  const done = new Promise<void>((r) =>
    proc.on('close', (code) => {
      children.delete(proc);
      if (code !== 0 && code !== null && !stopping) console.error(`bench/soak: ${args[0]} exited ${code}: ${err}`);
      r();
    }),
  );
  return { proc, done };
}

const pop3Workers = popUsers.map((u) =>
  worker([join(HERE, 'pop3_worker.py'), String(ports.pop3)], env(`cc-${u}`), (r) => {
    if (r.ok) {
      sample('pop3-login', Number(r.login_ms));
      sample('pop3-session', Number(r.session_ms));
      const got = Number(r.fetched);
      fetched.set(u, (fetched.get(u) ?? 0) + got);
      bucket().fetched += got;
    } else error(r.stage === 'auth' ? 'pop3-login' : 'pop3-session', `pop3 ${String(r.stage)}: ${String(r.error).slice(0, 160)}`);
  }),
);
const lmtp = worker([join(HERE, 'lmtp_worker.py'), String(ports.lmtp), String(DELIVERY_MS), ...popUsers, kpopUser], env('cc-none'), (r) => {
  if (r.ok) {
    sample('lmtp', Number(r.ms));
    delivered.set(String(r.rcpt), (delivered.get(String(r.rcpt)) ?? 0) + 1);
    bucket().delivered++;
  } else error('lmtp', `lmtp: ${String(r.error).slice(0, 160)}`);
});
const loops = [...kdcUsers.map((_, i) => kdcLoop(i)), kpopLoop()];

// ---- the report -------------------------------------------------------------
function report(m: number): void {
  const st = labStats.at(-1);
  for (const l of minuteLines(m, bucket(m), st)) console.log(l);
}
console.log(`soak: ${MINUTES} min; lab ${labDir} (pid ${lab.pid}); ${KDC_LOOPS} MIT kinit+kvno loops, ${POP3_WORKERS} python3-gssapi POP3 workers, kpop fetch --kpop loop, LMTP every ${DELIVERY_MS} ms; logs ${LOG_MAX} × ${LOG_KEEP}`);
const end = t0 + MINUTES * 60_000;
for (let m = 0; m < Math.ceil(MINUTES); m++) {
  const until = Math.min(end, t0 + (m + 1) * 60_000);
  while (Date.now() < until) {
    if (lab.exitCode !== null) {
      console.error(`bench/soak: the lab exited (${lab.exitCode}): ${labOut.slice(-2000)}`);
      cleanup();
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  popLog.poll();
  report(m);
}

// ---- stop, then account for every message ----------------------------------
lmtp.proc.kill('SIGTERM');
await lmtp.done;
stopping = true;
for (const w of pop3Workers) w.proc.kill('SIGTERM');
await Promise.all([...pop3Workers.map((w) => w.done), ...loops]);
clearInterval(rssTimer);
clearInterval(logTimer);
await new Promise((r) => setTimeout(r, 300));
popLog.poll();
const files = (u: string, sub: string) => {
  try {
    return readdirSync(join(labDir, 'mail', u, sub)).length;
  } catch {
    return 0;
  }
};
let dTotal = 0;
let fTotal = 0;
let rTotal = 0;
let tmpTotal = 0;
let balanced = true;
console.log('\nmailbox      delivered   fetched  remaining  tmp/  balance');
for (const u of [...popUsers, kpopUser]) {
  const d = delivered.get(u) ?? 0;
  const f = fetched.get(u) ?? 0;
  const r = files(u, 'new') + files(u, 'cur');
  const t = files(u, 'tmp');
  const ok = d === f + r && t === 0;
  balanced &&= ok;
  dTotal += d;
  fTotal += f;
  rTotal += r;
  tmpTotal += t;
  console.log(`${u.padEnd(12)} ${String(d).padStart(9)} ${String(f).padStart(9)} ${String(r).padStart(10)} ${String(t).padStart(5)}  ${ok ? 'ok' : 'MISMATCH'}`);
}
console.log(`${'all'.padEnd(12)} ${String(dTotal).padStart(9)} ${String(fTotal).padStart(9)} ${String(rTotal).padStart(10)} ${String(tmpTotal).padStart(5)}  ${balanced ? 'every message accounted for' : 'MISMATCH'}`);
// RSS at the end of each whole minute of load; warm-up is the first third (at most 10 minutes: the replay
// cache's window is 5, and the KDC's caches fill within minutes at this load).
const rssAll = minutes.slice(0, Math.ceil(MINUTES)).map((b) => b.rss.filter(Number.isFinite).at(-1) ?? NaN);
const warm = Math.max(1, Math.min(10, Math.floor(rssAll.length / 3)));
const after = rssAll.slice(warm - 1);
const slope = after.length > 1 ? (after.at(-1)! - after[0]!) / (after.length - 1) : NaN;
console.log(`\nlab RSS by minute (MB): ${rssAll.map(f1).join(' ')}`);
console.log(`after warm-up: ${f1(after[0] ?? NaN)} MB at minute ${warm}, ${f1(after.at(-1) ?? NaN)} MB at minute ${rssAll.length}: ${slope >= 0 ? '+' : ''}${f1(slope)} MB/min`);
const falseReplays = minutes.reduce((s, b) => s + b.falseReplays, 0);
console.log(`false replays: ${falseReplays}; refusals in pop.log: ${refusals.size ? [...refusals].map(([k, v]) => `${k} ×${v}`).join(', ') : 'none'}`);
if (errorsSeen.size) console.log(`client errors: ${[...errorsSeen].map(([k, v]) => `${k} ×${v}`).join('; ')}`);
const logs = readdirSync(labDir).filter((n) => /^(kdc|pop)\.log(\.\d+)?$/.test(n)).sort();
console.log(`logs: ${logs.map((n) => `${n} ${f1(statSync(join(labDir, n)).size / 1048576)} MB`).join(', ')}`);
lab.kill('SIGTERM');
await new Promise((r) => lab.once('close', r));
if (KEEP) console.log(`lab folder kept: ${labDir}`);
cleanup();
