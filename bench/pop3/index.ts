// bench/pop3: N concurrent POP3 sessions, each AUTH GSSAPI (a real ticket
// from our KDC, sent the way curl sends it: no mutual authentication) then
// RETR of M messages of 10 KiB, one after the other. Reports messages per
// second and MB/s, the best of POP3_ROUNDS (3) runs, for our server and, when
// it is installed, for Dovecot 2.3 under the same load, the two alternating. The clients run in a worker
// thread. POP3_SESSIONS and POP3_MESSAGES change N and M. Each line also
// gives the server's CPU time per message (./cpu.ts), steadier than msg/s on
// a shared machine.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  decodeTicket, encodeApReq, encodeAuthenticator, encodeContextToken, encodeGssChecksum, encryptData, getInitialCredentials,
  getServiceTicket, GSS_CHECKSUM_TYPE, KeyUsage, loadKrb5Config, makeWrapToken, parsePrincipal, TokId,
  type EncryptionKey, type Ticket,
} from '@kpop/common';
import { startTestKdc } from '@kpop/kdc';
import { deliver, startPopServer } from '@kpop/kpop';
import { threadCpuSeconds, treeCpuSeconds } from './cpu.js';
import { dovecotAvailable, makeDovecot } from '../dovecot.js';

const N = Number(process.env.POP3_SESSIONS ?? 8);
const M = Number(process.env.POP3_MESSAGES ?? 1000);
const ROUNDS = Number(process.env.POP3_ROUNDS ?? 3);
const REALM = 'BENCH.TEST';
const users = Array.from({ length: N }, (_, i) => `user${i}`);

const kdc = await startTestKdc({ realm: REALM, principals: { 'pop/127.0.0.1': { randkey: true }, ...Object.fromEntries(users.map((u) => [u, `${u}-pw`])) } });
const keytab = kdc.keytab(['pop/127.0.0.1']);
const config = loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath });

// One service ticket per user, as each user's kinit + curl would have.
const tickets: { ticket: Ticket; key: EncryptionKey }[] = [];
for (const u of users) {
  const initial = await getInitialCredentials({ config, client: parsePrincipal(`${u}@${REALM}`), password: `${u}-pw` });
  const st = await getServiceTicket({ config, tgt: initial.credential, service: parsePrincipal(`pop/127.0.0.1@${REALM}`) });
  tickets.push({ ticket: decodeTicket(st.credential.ticket), key: st.credential.key });
}

let cusec = 0;
/** The AP-REQ token and the answer to the layer offer, precomputed for the worker. */
function sessionTokens(i: number) {
  const { ticket, key } = tickets[i]!;
  const subkey = { keytype: key.keytype, keyvalue: new Uint8Array(key.keyvalue.length).fill(i + 1) };
  const seq = 1000 + i;
  const auth = encodeAuthenticator({
    authenticatorVno: 5, crealm: REALM, cname: { nameType: 1, nameString: [users[i]!] }, cusec: ++cusec % 1_000_000,
    ctime: new Date(Math.floor(Date.now() / 1000) * 1000),
    cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: encodeGssChecksum({ flags: 0x134 }) }, subkey, seqNumber: seq,
  });
  const apReq = encodeApReq({ pvno: 5, msgType: 14, apOptions: 0, ticket, authenticator: encryptData(key, KeyUsage.AP_REQ_AUTH, auth) });
  // Non-mutual: the server's offer and our answer both carry our seq-number.
  const answer = makeWrapToken(Uint8Array.of(1, 0, 0, 0), { key: subkey, seq, fromAcceptor: false });
  return { user: users[i]!, count: M, token: Buffer.from(encodeContextToken(TokId.AP_REQ, apReq)).toString('base64'), answer: Buffer.from(answer).toString('base64') };
}

/**
 * cpu: the server's CPU seconds so far. Ours runs in this process, so the
 * client thread's own CPU (which it reports) is taken out of the process's.
 */
interface ServerCpu {
  seconds: () => number;
  inThisProcess: boolean;
}

async function load(port: number, cpu: ServerCpu): Promise<{ s: number; bytes: number; cpu: number }> {
  const c0 = cpu.seconds();
  const worker = new Worker(new URL('./client.mjs', import.meta.url), { workerData: { port, sessions: users.map((_, i) => sessionTokens(i)) } });
  const r = await new Promise<{ ms: number; bytes: number; clientCpu: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const used = cpu.seconds() - c0 - (cpu.inThisProcess ? r.clientCpu : 0);
  await worker.terminate();
  return { s: r.ms / 1000, bytes: r.bytes, cpu: used };
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
