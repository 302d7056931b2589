// bench/limits: a KDC under a UDP flood from one address (127.0.0.2): junk,
// and AS-REQs for unknown principals (every one different), while MIT kinit
// from 127.0.0.1 asks for a ticket. Side by side: our KDC (a child process,
// default limits: 1000 requests/s per address) and MIT's krb5kdc 1.20 when
// installed. Per run: the KDC process's CPU µs per flood datagram (from
// /proc/PID/stat), datagrams the kernel dropped for a full receive queue
// (/proc/net/snmp RcvbufErrors, machine-wide), how long kinit took, and how
// many log bytes the flood cost.
//
//   pnpm bench limits [--rate=20000] [--seconds=4] [--no-mit]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initRealm, krb5ConfText } from '@kpop/kdc';
import { writeFileSync } from 'node:fs';
import { startFlood } from '../../test/helpers/flood.js';
import { hasMitKdc, startMitRealm } from '../../test/helpers/mit-realm.js';
import { cpuSeconds, findPid } from '../kdc/proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = new Map<string, string>();
for (const a of process.argv.slice(2)) {
  const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
  if (m) args.set(m[1]!, m[2] ?? 'true');
}
const rate = Number(args.get('rate') ?? 20_000);
const seconds = Number(args.get('seconds') ?? 4);
const PASSWORD = 'bench-pw-1';

interface Target {
  label: string;
  port: number;
  realm: string;
  pid: number;
  krb5Conf: string;
  logFile: string;
  stop(): Promise<void>;
}

async function startOurs(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'limits-bench-ours-'));
  const db = initRealm(join(dir, 'db'), { realm: 'OURS.TEST' });
  db.addPrincipal('alice', { password: PASSWORD });
  db.close();
  const logFile = join(dir, 'kdc.log');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/kdc/serve.ts'), join(dir, 'db'), logFile], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`our KDC exited with ${code}`)));
  });
  const krb5Conf = join(dir, 'krb5.conf');
  writeFileSync(krb5Conf, krb5ConfText('OURS.TEST', `127.0.0.1:${port}`));
  return {
    label: 'ours (@kpop/kdc)', port, realm: 'OURS.TEST', pid: child.pid!, krb5Conf, logFile,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startMit(): Promise<Target | undefined> {
  const realm = await startMitRealm({ realm: 'MIT.TEST', principals: [{ name: 'alice', password: PASSWORD }] });
  const pid = findPid('krb5kdc', 'KRB5_KDC_PROFILE', realm.kdcConf);
  if (!pid) {
    await realm.stop();
    return undefined;
  }
  return { label: 'MIT krb5kdc', port: realm.port, realm: 'MIT.TEST', pid, krb5Conf: realm.krb5Conf, logFile: join(realm.dir, 'kdc.log'), stop: () => realm.stop() };
}

function rcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}

function kinit(t: Target, cc: string): Promise<{ ok: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('kinit', [`alice@${t.realm}`], { env: { PATH: process.env.PATH, KRB5_CONFIG: t.krb5Conf, KRB5CCNAME: `FILE:${cc}` }, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin!.end(`${PASSWORD}\n`);
    child.on('exit', (code) => resolve({ ok: code === 0, ms: Math.round(performance.now() - t0) }));
  });
}

const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);

async function floodRun(t: Target, kind: 'junk' | 'unknown AS-REQ'): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = cpuSeconds(t.pid);
  const drops0 = rcvbufErrors();
  const log0 = size(t.logFile);
  const flood = startFlood({ port: t.port, realm: t.realm, from: '127.0.0.2', rate, seconds, junkShare: kind === 'junk' ? 1 : 0 });
  await new Promise((r) => setTimeout(r, 1000));
  const k = await kinit(t, join(tmpdir(), `limits-bench-cc-${process.pid}`));
  const sent = await flood.done;
  await new Promise((r) => setTimeout(r, 300));
  const cpu = cpuSeconds(t.pid) - cpu0;
  const n = sent.junk + sent.asReq;
  console.log(
    `${t.label.padEnd(18)} ${kind.padEnd(15)} ${String(Math.round(n / sent.seconds)).padStart(6)}/s  ${((cpu * 1e6) / n).toFixed(1).padStart(6)} µs CPU/datagram  ` +
      `kernel drops ${String(rcvbufErrors() - drops0).padStart(6)}  kinit ${k.ok ? 'ok' : 'FAILED'} in ${k.ms} ms  log +${Math.round((size(t.logFile) - log0) / 1024)} KiB`,
  );
}

console.log(`flood from 127.0.0.2 at ${rate}/s for ${seconds} s; MIT kinit from 127.0.0.1 after 1 s (the machine may be shared: figures vary)`);
const targets: (() => Promise<Target | undefined>)[] = [startOurs];
if (hasMitKdc && !args.has('no-mit')) targets.push(startMit);
for (const start of targets) {
  const t = await start();
  if (!t) continue;
  try {
    await floodRun(t, 'junk');
    await floodRun(t, 'unknown AS-REQ');
  } finally {
    await t.stop();
  }
}
