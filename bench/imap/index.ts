// bench/imap: the IMAP server beside Dovecot's imapd in the same run.
// 1. IMAP_SESSIONS (8) concurrent sessions, each AUTHENTICATE GSSAPI (a real
//    ticket from our KDC, as SASL-IR, no mutual authentication: curl's way),
//    SELECT INBOX, then UID FETCH n (BODY.PEEK[]) of its IMAP_MESSAGES (1000)
//    messages of 10 KiB one after the other: messages per second.
// 2. One session: SELECT + FETCH 1:* (UID FLAGS) of a IMAP_BIG (10,000)
//    message mailbox: seconds per SELECT + FETCH and µs per message.
// Best of IMAP_ROUNDS (3), the two servers alternating; CPU per message from
// /proc (../pop3/cpu.ts), steadier than msg/s on a shared machine. Dovecot
// runs as a throwaway instance (../dovecot.ts) when installed and root.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  decodeTicket, encodeApReq, encodeAuthenticator, encodeContextToken, encodeGssChecksum, encryptData, getInitialCredentials,
  getServiceTicket, GSS_CHECKSUM_TYPE, KeyUsage, loadKrb5Config, makeWrapToken, parsePrincipal, TokId,
  type EncryptionKey, type Ticket,
} from '@kpop/common';
import { startTestKdc } from '@kpop/kdc';
import { deliver, startPopServer } from '@kpop/kpop';
import { threadCpuSeconds, treeCpuSeconds } from '../pop3/cpu.js';
import { dovecotAvailable, makeDovecot } from '../dovecot.js';

const N = Number(process.env.IMAP_SESSIONS ?? 8);
const M = Number(process.env.IMAP_MESSAGES ?? 1000);
const BIG = Number(process.env.IMAP_BIG ?? 10_000);
const ROUNDS = Number(process.env.IMAP_ROUNDS ?? 3);
const REALM = 'BENCH.TEST';
const users = Array.from({ length: N }, (_, i) => `user${i}`);
const bigUser = 'big';
const all = [...users, bigUser];

const kdc = await startTestKdc({ realm: REALM, principals: { 'imap/127.0.0.1': { randkey: true }, ...Object.fromEntries(all.map((u) => [u, `${u}-pw`])) } });
const keytab = kdc.keytab(['imap/127.0.0.1']);
const config = loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath });

const tickets = new Map<string, { ticket: Ticket; key: EncryptionKey }>();
for (const u of all) {
  const initial = await getInitialCredentials({ config, client: parsePrincipal(`${u}@${REALM}`), password: `${u}-pw` });
  const st = await getServiceTicket({ config, tgt: initial.credential, service: parsePrincipal(`imap/127.0.0.1@${REALM}`) });
  tickets.set(u, { ticket: decodeTicket(st.credential.ticket), key: st.credential.key });
}

let cusec = 0;
/** A fresh AP-REQ (replay caches see a new authenticator each time) and the answer to the layer offer. */
function sessionTokens(user: string, i: number, count: number) {
  const { ticket, key } = tickets.get(user)!;
  const subkey = { keytype: key.keytype, keyvalue: new Uint8Array(key.keyvalue.length).fill(i + 1) };
  const seq = 1000 + i;
  const auth = encodeAuthenticator({
    authenticatorVno: 5, crealm: REALM, cname: { nameType: 1, nameString: [user] }, cusec: ++cusec % 1_000_000,
    ctime: new Date(Math.floor(Date.now() / 1000) * 1000),
    cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: encodeGssChecksum({ flags: 0x134 }) }, subkey, seqNumber: seq,
  });
  const apReq = encodeApReq({ pvno: 5, msgType: 14, apOptions: 0, ticket, authenticator: encryptData(key, KeyUsage.AP_REQ_AUTH, auth) });
  const answer = makeWrapToken(Uint8Array.of(1, 0, 0, 0), { key: subkey, seq, fromAcceptor: false });
  return { user, count, token: Buffer.from(encodeContextToken(TokId.AP_REQ, apReq)).toString('base64'), answer: Buffer.from(answer).toString('base64') };
}

interface ServerCpu {
  seconds: () => number;
  inThisProcess: boolean;
}
type Run = { s: number; bytes: number; cpu: number; loop: number };

async function load(port: number, cpu: ServerCpu, mode: 'bodies' | 'flags'): Promise<Omit<Run, 'loop'>> {
  const sessions = mode === 'bodies' ? users.map((u, i) => sessionTokens(u, i, M)) : [sessionTokens(bigUser, N, BIG)];
  const c0 = cpu.seconds();
  const worker = new Worker(new URL('./client.mjs', import.meta.url), { workerData: { port, mode, sessions } });
  const r = await new Promise<{ ms: number; bytes: number; clientCpu: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const used = cpu.seconds() - c0 - (cpu.inThisProcess ? r.clientCpu : 0);
  await worker.terminate();
  return { s: r.ms / 1000, bytes: r.bytes, cpu: used };
}

function print(label: string, runs: Run[], mode: 'bodies' | 'flags'): number {
  const best = runs.reduce((a, b) => (a.s < b.s ? a : b));
  const msgs = mode === 'bodies' ? N * M : BIG;
  const rate = msgs / best.s;
  const us = (key: 'cpu' | 'loop') => ((Math.min(...runs.map((r) => r[key])) / msgs) * 1e6).toFixed(1);
  const loop = runs[0]!.loop ? `, event loop ${us('loop')}` : '';
  const what = mode === 'bodies' ? `${N}×${M} UID FETCH BODY.PEEK[]` : `SELECT+FETCH 1:* (UID FLAGS) of ${BIG}`;
  console.log(`${label.padEnd(10)} ${what}: ${rate.toFixed(0).padStart(7)} msg/s (best of ${runs.length}: ${best.s.toFixed(3)} s)  CPU µs/msg: server ${us('cpu')}${loop}`);
  return rate;
}

const body = Buffer.from('Subject: bench\nFrom: bench@bench.test\n\n' + ('z'.repeat(79) + '\n').repeat(128));
const root = join(kdc.dir, 'mail');
const fill = async (boxOf: (u: string) => string) => {
  for (const u of users) for (let i = 0; i < M; i++) await deliver(boxOf(u), body);
  const small = Buffer.from('Subject: s\n\nx\n');
  for (let i = 0; i < BIG; i++) await deliver(boxOf(bigUser), small);
};
await fill((u) => join(root, u));
const server = await startPopServer({ maildirRoot: root, realm: REALM, keytab, imap: { host: '127.0.0.1', port: 0 }, log: (r) => { if (r.ok === false || r.event === 'error') console.error(JSON.stringify(r)); } });
const ourCpu = { seconds: () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }, inThisProcess: true };
const ours = { bodies: [] as Run[], flags: [] as Run[] };
async function ourRun(mode: 'bodies' | 'flags'): Promise<void> {
  const l0 = threadCpuSeconds();
  const r = await load(server.imap!.port, ourCpu, mode);
  ours[mode].push({ ...r, loop: threadCpuSeconds() - l0 });
}

const why = dovecotAvailable('imap');
if (why) {
  console.log(`Dovecot: ${why}; no side-by-side run`);
  for (const mode of ['bodies', 'flags'] as const) {
    for (let i = 0; i < ROUNDS; i++) await ourRun(mode);
    print('kpop', ours[mode], mode);
  }
} else {
  const dovecot = await makeDovecot({ protocol: 'imap', realm: REALM, keytab, krb5Conf: kdc.krb5ConfPath, users: all });
  try {
    await fill((u) => dovecot.maildir(u));
    await dovecot.start();
    const dovecotCpu = { seconds: () => treeCpuSeconds(dovecot.pid()), inThisProcess: false };
    for (const mode of ['bodies', 'flags'] as const) {
      const theirs: Run[] = [];
      // Dovecot's first SELECT builds its index: one untimed warm-up each, for fairness both.
      if (mode === 'flags') {
        await load(server.imap!.port, ourCpu, mode);
        await load(dovecot.port, dovecotCpu, mode);
      }
      for (let i = 0; i < ROUNDS; i++) {
        await ourRun(mode);
        theirs.push({ ...(await load(dovecot.port, dovecotCpu, mode)), loop: 0 });
      }
      const a = print('kpop', ours[mode], mode);
      const b = print('Dovecot', theirs, mode);
      console.log(`kpop / Dovecot: ${(a / b).toFixed(2)}× msg/s`);
    }
  } finally {
    dovecot.stop();
  }
}
await server.close();
await kdc.stop();
