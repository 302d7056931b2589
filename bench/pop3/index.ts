// bench/pop3: N concurrent POP3 sessions, each AUTH GSSAPI (a real ticket
// from our KDC, sent the way curl sends it: no mutual authentication) then
// RETR of M messages of 10 KiB, one after the other. Reports messages per
// second and MB/s, the best of POP3_ROUNDS (3) runs, for our server and, when
// it is installed, for Dovecot 2.3 under the same load, the two alternating. The clients run in a worker
// thread. POP3_SESSIONS and POP3_MESSAGES change N and M. Each line also
// gives the server's CPU time per message (./cpu.ts), steadier than msg/s on
// a shared machine.
import { join } from 'node:path';
import { startTestKdc } from '@kpop/kdc';
import { deliver, startPopServer } from '@kpop/kpop';
import { threadCpuSeconds, treeCpuSeconds } from './cpu.js';
import { dovecotAvailable, makeDovecot } from '../dovecot.js';
import { gssapiTokens, workerLoad, type ServerCpu } from '../gssapi-load.js';

const N = Number(process.env.POP3_SESSIONS ?? 8);
const M = Number(process.env.POP3_MESSAGES ?? 1000);
const ROUNDS = Number(process.env.POP3_ROUNDS ?? 3);
const REALM = 'BENCH.TEST';
const users = Array.from({ length: N }, (_, i) => `user${i}`);

const kdc = await startTestKdc({ realm: REALM, principals: { 'pop/127.0.0.1': { randkey: true }, ...Object.fromEntries(users.map((u) => [u, `${u}-pw`])) } });
const keytab = kdc.keytab(['pop/127.0.0.1']);
// One service ticket per user, as each user's kinit + curl would have.
const tokens = await gssapiTokens(kdc.krb5ConfPath, REALM, 'pop/127.0.0.1', users);

const client = new URL('./client.mjs', import.meta.url);
function load(port: number, cpu: ServerCpu) {
  return workerLoad(client, { port, sessions: users.map((u, i) => tokens(u, i, M)) }, cpu);
}

type Run = { s: number; bytes: number; cpu: number; loop: number };

function print(label: string, runs: Run[]): number {
  const best = runs.reduce((a, b) => (a.s < b.s ? a : b));
  const rate = (N * M) / best.s;
  // CPU per message (the less noisy figure on a shared machine): the lowest run.
  const us = (key: 'cpu' | 'loop') => ((Math.min(...runs.map((r) => r[key])) / (N * M)) * 1e6).toFixed(0);
  const loop = runs[0]!.loop ? `, event loop ${us('loop')}` : '';
  console.log(`${label.padEnd(26)} ${N}×${M} RETR: ${rate.toFixed(0).padStart(6)} msg/s ${(best.bytes / best.s / 1e6).toFixed(1).padStart(6)} MB/s (best of ${runs.length}: ${best.s.toFixed(2)} s)  CPU µs/msg: server ${us('cpu')}${loop}`);
  return rate;
}

const body = Buffer.from('Subject: bench\nFrom: bench@bench.test\n\n' + ('z'.repeat(79) + '\n').repeat(128));
const root = join(kdc.dir, 'mail');
for (const u of users) for (let i = 0; i < M; i++) await deliver(join(root, u), body);
const server = await startPopServer({ maildirRoot: root, realm: REALM, keytab, pop3: { host: '127.0.0.1', port: 0 }, log: () => {} });
const processCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const ourCpu = { seconds: processCpu, inThisProcess: true };
const ourRuns: Run[] = [];
/** One load on our server, with the event loop's (this thread's) own CPU. */
async function ourRun(): Promise<void> {
  const l0 = threadCpuSeconds();
  const r = await load(server.pop3!.port, ourCpu);
  ourRuns.push({ ...r, loop: threadCpuSeconds() - l0 });
}

const why = dovecotAvailable('pop3');
if (why) {
  console.log(`Dovecot: ${why}; no side-by-side run`);
  for (let i = 0; i < ROUNDS; i++) await ourRun();
  print('kpop (AUTH GSSAPI, RETR)', ourRuns);
} else {
  const dovecot = await makeDovecot({ protocol: 'pop3', realm: REALM, keytab, krb5Conf: kdc.krb5ConfPath, users });
  try {
    for (const u of users) for (let i = 0; i < M; i++) await deliver(dovecot.maildir(u), body);
    await dovecot.start();
    // Alternate the two servers so that a change in the machine's load hits both.
    const dovecotCpu = { seconds: () => treeCpuSeconds(dovecot.pid()), inThisProcess: false };
    const theirRuns: Run[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await ourRun();
      theirRuns.push({ ...(await load(dovecot.port, dovecotCpu)), loop: 0 });
    }
    const ours = print('kpop (AUTH GSSAPI, RETR)', ourRuns);
    const theirs = print('Dovecot 2.3 (same load)', theirRuns);
    console.log(`kpop / Dovecot: ${(ours / theirs).toFixed(2)}×`);
  } finally {
    dovecot.stop();
  }
}
await server.close();
await kdc.stop();
