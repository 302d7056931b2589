// bench/imap: the IMAP server beside Dovecot's imapd in the same run, each in
// a process of its own, the CPU of each server's whole process tree read from
// /proc (../pop3/cpu.ts; for Dovecot: master, login, auth and the imap
// process of each session, reaped or not).
// 1. bodies: IMAP_SESSIONS (8) concurrent sessions, each AUTHENTICATE GSSAPI
//    (a real ticket from our KDC, as SASL-IR, no mutual authentication:
//    curl's way), SELECT INBOX, then UID FETCH n (BODY.PEEK[]) of its
//    IMAP_MESSAGES (1000) messages of 10 KiB one after the other. IMAP_ROUNDS
//    (3) rounds per server, alternating.
// 2. flags: one session AUTHENTICATE GSSAPI + SELECT + FETCH 1:* (UID FLAGS)
//    of an IMAP_BIG (10,000) message mailbox, IMAP_FLAG_ROUNDS (60) times per
//    server, in IMAP_BATCHES (6) batches alternating between the servers. A
//    batch's CPU is read once (/proc counts in 10 ms ticks, about half a
//    round), so µs/msg is per batch; the lines give the median and the range
//    over the batches, and msg/s the median and range over the rounds.
// IMAP_PROFILE=DIR runs ours under node --cpu-prof (profiles in DIR).
// IMAP_MODES=flags (or bodies) runs one half. Dovecot runs as a throwaway
// instance (../dovecot.ts) when installed and we are root.
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startTestKdc } from '@kpop/kdc';
import { deliver } from '@kpop/kpop';
import { join } from 'node:path';
import { treeCpuSeconds } from '../pop3/cpu.js';
import { dovecotAvailable, makeDovecot } from '../dovecot.js';
import { gssapiTokens, workerLoad, type LoadResult } from '../gssapi-load.js';

const N = Number(process.env.IMAP_SESSIONS ?? 8);
const M = Number(process.env.IMAP_MESSAGES ?? 1000);
const BIG = Number(process.env.IMAP_BIG ?? 10_000);
const ROUNDS = Number(process.env.IMAP_ROUNDS ?? 3);
const FLAG_ROUNDS = Number(process.env.IMAP_FLAG_ROUNDS ?? 60);
const BATCHES = Math.max(1, Math.min(FLAG_ROUNDS, Number(process.env.IMAP_BATCHES ?? 6)));
const MODES = (process.env.IMAP_MODES ?? 'bodies,flags').split(',') as ('bodies' | 'flags')[];
const REALM = 'BENCH.TEST';
const users = Array.from({ length: N }, (_, i) => `user${i}`);
const bigUser = 'big';
const all = [...users, bigUser];

const kdc = await startTestKdc({ realm: REALM, principals: { 'imap/127.0.0.1': { randkey: true }, ...Object.fromEntries(all.map((u) => [u, `${u}-pw`])) } });
const keytabPath = kdc.keytab(['imap/127.0.0.1']);
const tokens = await gssapiTokens(kdc.krb5ConfPath, REALM, 'imap/127.0.0.1', all);
let sessionNo = 0;

interface Server {
  label: string;
  port: number;
  cpu: () => number;
}

const client = new URL('./client.mjs', import.meta.url);
function load(s: Server, mode: 'bodies' | 'flags'): Promise<LoadResult> {
  const sessions = mode === 'bodies' ? users.map((u) => tokens(u, sessionNo++, M)) : [tokens(bigUser, sessionNo++, BIG)];
  return workerLoad(client, { port: s.port, mode, sessions }, { seconds: s.cpu, inThisProcess: false });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const range = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

/** Per server: msg/s of each round, CPU µs/msg of each batch. */
type Figures = { rates: number[]; cpuUs: number[] };
function report(s: Server, f: Figures, what: string): void {
  console.log(`${s.label.padEnd(8)} ${what}: msg/s ${range(f.rates, 0)}; server CPU µs/msg ${range(f.cpuUs, 2)} [median (min–max) of ${f.rates.length} rounds, ${f.cpuUs.length} CPU readings]`);
}

async function bodies(servers: Server[]): Promise<void> {
  const figs = servers.map((): Figures => ({ rates: [], cpuUs: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, s] of servers.entries()) {
      const x = await load(s, 'bodies');
      figs[i]!.rates.push((N * M) / x.s);
      figs[i]!.cpuUs.push((x.cpu / (N * M)) * 1e6);
    }
  }
  for (const [i, s] of servers.entries()) report(s, figs[i]!, `${N}×${M} UID FETCH BODY.PEEK[] of 10 KiB`);
  if (servers.length === 2) ratio(figs);
}

async function flags(servers: Server[]): Promise<void> {
  const figs = servers.map((): Figures => ({ rates: [], cpuUs: [] }));
  // The mailbox's first SELECT ever assigns the UIDs and writes the uidlist
  // (and Dovecot's index), and fills our folder cache: reported on its own
  // (one reading, so 10 ms ticks), not in the rounds.
  for (const s of servers) {
    const first = await load(s, 'flags');
    console.log(`${s.label.padEnd(8)} first SELECT+FETCH 1:* (UID FLAGS) of ${BIG} ever (UIDs assigned): ${(first.s * 1000).toFixed(0)} ms, server CPU ${(first.cpu * 1000).toFixed(0)} ms`);
  }
  const per = Math.ceil(FLAG_ROUNDS / BATCHES);
  for (let b = 0; b < BATCHES; b++) {
    for (const [i, s] of servers.entries()) {
      const c0 = s.cpu();
      for (let r = 0; r < per; r++) figs[i]!.rates.push(BIG / (await load(s, 'flags')).s);
      figs[i]!.cpuUs.push(((s.cpu() - c0) / (per * BIG)) * 1e6);
    }
  }
  for (const [i, s] of servers.entries()) report(s, figs[i]!, `AUTHENTICATE+SELECT+FETCH 1:* (UID FLAGS) of ${BIG}`);
  if (servers.length === 2) ratio(figs);
}

function ratio(figs: Figures[]): void {
  const [a, b] = figs as [Figures, Figures];
  console.log(`kpop / Dovecot: ${(median(a.rates) / median(b.rates)).toFixed(2)}× msg/s, ${(median(a.cpuUs) / median(b.cpuUs)).toFixed(2)}× CPU per message`);
}

const body = Buffer.from('Subject: bench\nFrom: bench@bench.test\n\n' + ('z'.repeat(79) + '\n').repeat(128));
const fill = async (boxOf: (u: string) => string) => {
  if (MODES.includes('bodies')) for (const u of users) for (let i = 0; i < M; i++) await deliver(boxOf(u), body);
  const small = Buffer.from('Subject: s\n\nx\n');
  if (MODES.includes('flags')) for (let i = 0; i < BIG; i++) await deliver(boxOf(bigUser), small);
};
const root = join(kdc.dir, 'mail');
await fill((u) => join(root, u));

// Ours: a child process running built JavaScript, as `kpop start` does (the
// server bundled by esbuild as scripts/build.mjs bundles the programs).
const bundle = join(kdc.dir, 'imap-bench-server.mjs');
await build({
  entryPoints: [fileURLToPath(new URL('./server.ts', import.meta.url))], outfile: bundle, bundle: true, platform: 'node', target: 'node20',
  format: 'esm', conditions: ['kpop-source'], external: ['better-sqlite3'], logLevel: 'error',
  banner: { js: "import { createRequire as __kpopCreateRequire } from 'node:module';\nconst require = __kpopCreateRequire(import.meta.url);" },
});
const profile = process.env.IMAP_PROFILE;
const child = spawn(process.execPath, [
  ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), bundle, JSON.stringify({ root, realm: REALM, keytab: keytabPath }),
], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, KRB5_CONFIG: kdc.krb5ConfPath } });
const port = await new Promise<number>((resolve, reject) => {
  createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l)));
  child.once('exit', (code) => reject(new Error(`bench/imap/server.ts exited (${code})`)));
});
const ours: Server = { label: 'kpop', port, cpu: () => treeCpuSeconds(child.pid!) };
const stopOurs = () => new Promise<void>((r) => {
  child.once('exit', () => r());
  child.stdin!.end();
});

const why = dovecotAvailable('imap');
let dovecot: Awaited<ReturnType<typeof makeDovecot>> | undefined;
const servers: Server[] = [ours];
try {
  if (why) console.log(`Dovecot: ${why}; no side-by-side run`);
  else {
    dovecot = await makeDovecot({ protocol: 'imap', realm: REALM, keytab: keytabPath, krb5Conf: kdc.krb5ConfPath, users: all });
    await fill((u) => dovecot!.maildir(u));
    await dovecot.start();
    const d = dovecot;
    servers.push({ label: 'Dovecot', port: d.port, cpu: () => treeCpuSeconds(d.pid()) });
  }
  if (MODES.includes('bodies')) await bodies(servers);
  if (MODES.includes('flags')) await flags(servers);
} finally {
  dovecot?.stop();
  await stopOurs();
  await kdc.stop();
}
