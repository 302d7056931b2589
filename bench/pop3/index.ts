// bench/pop3: N concurrent POP3 sessions, each AUTH GSSAPI (a real ticket
// from our KDC, the way curl sends it) then RETR of M messages of 10 KiB.
// Reports messages per second and MB/s. The clients run in a worker thread.
// Dovecot is not compared here unless installed (see protocols.md §7); this
// prints which.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
import {
  encodeApReq, encodeAuthenticator, encodeContextToken, encryptData, getInitialCredentials, getServiceTicket, decodeTicket,
  loadKrb5Config, makeWrapToken, parsePrincipal, KeyUsage, TokId, encodeGssChecksum, GSS_CHECKSUM_TYPE,
} from '@kpop/common';
import { startTestKdc } from '@kpop/kdc';
import { deliver, startPopServer } from '@kpop/kpop';

const N = Number(process.env.POP3_SESSIONS ?? 8);
const M = Number(process.env.POP3_MESSAGES ?? 1000);
const SIZE = 10 * 1024;

const kdc = await startTestKdc({ realm: 'BENCH.TEST', principals: { alice: 'alice-pw-1', 'pop/127.0.0.1': { randkey: true } } });
const keytab = kdc.keytab(['pop/127.0.0.1']);
const config = loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath });
const client = parsePrincipal('alice@BENCH.TEST');
const initial = await getInitialCredentials({ config, client, password: 'alice-pw-1' });
const st = await getServiceTicket({ config, tgt: initial.credential, service: parsePrincipal('pop/127.0.0.1@BENCH.TEST') });
const ticket = decodeTicket(st.credential.ticket);
const sessionKey = st.credential.key;

const root = join(kdc.dir, 'mail');
const users = Array.from({ length: N }, (_, i) => `user${i}`);
writeFileSync(join(kdc.dir, 'users.map'), users.map((u) => `alice@BENCH.TEST ${u}`).join('\n') + '\n');
const line = 'z'.repeat(79) + '\n';
const body = Buffer.from('Subject: bench\nFrom: bench@bench.test\n\n' + line.repeat(Math.floor(SIZE / 80)));
const t0 = performance.now();
for (const u of users) for (let i = 0; i < M; i++) await deliver(join(root, u), body);
console.log(`delivered ${N * M} messages of ${body.length} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s (tmp/, fsync, rename)`);

const server = await startPopServer({ maildirRoot: root, realm: 'BENCH.TEST', keytab, userMapFile: join(kdc.dir, 'users.map'), pop3: { host: '127.0.0.1', port: 0 }, log: () => {} });

function sessionTokens(user: string, i: number) {
  const subkey = { keytype: sessionKey.keytype, keyvalue: new Uint8Array(sessionKey.keyvalue.length).fill(i + 1) };
  const seq = 1000 + i;
  const now = new Date();
  const auth = encodeAuthenticator({
    authenticatorVno: 5, crealm: 'BENCH.TEST', cname: client.name, cusec: i, ctime: new Date(Math.floor(now.getTime() / 1000) * 1000),
    cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: encodeGssChecksum({ flags: 0x134 }) }, subkey, seqNumber: seq,
  });
  const apReq = encodeApReq({ pvno: 5, msgType: 14, apOptions: 0, ticket, authenticator: encryptData(sessionKey, KeyUsage.AP_REQ_AUTH, auth) });
  const answer = makeWrapToken(Buffer.from('\x01\x00\x00\x00' + user, 'latin1'), { key: subkey, seq, fromAcceptor: false });
  return { user, count: M, token: Buffer.from(encodeContextToken(TokId.AP_REQ, apReq)).toString('base64'), answer: Buffer.from(answer).toString('base64') };
}

async function load(port: number, label: string): Promise<void> {
  const sessions = users.map((u, i) => sessionTokens(u, i));
  const worker = new Worker(new URL('./client.mjs', import.meta.url), { workerData: { port, sessions } });
  const r = await new Promise<{ ms: number; bytes: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  const msgs = N * M;
  const s = r.ms / 1000;
  console.log(`${label.padEnd(28)} ${N} sessions × ${M} RETR: ${(msgs / s).toFixed(0).padStart(7)} msg/s  ${(r.bytes / s / 1e6).toFixed(1).padStart(6)} MB/s  (${s.toFixed(2)} s)`);
}

await load(server.pop3!.port, 'kpop (AUTH GSSAPI, RETR)');
let dovecot = false;
try {
  execFileSync('dovecot', ['--version'], { stdio: 'ignore' });
  dovecot = true;
} catch {
  console.log('Dovecot: not installed here, no side-by-side run (apt-get install dovecot-core dovecot-pop3d dovecot-gssapi)');
}
if (dovecot) console.log('Dovecot is installed, but this benchmark does not drive it yet: compare by hand with protocols.md §7');
await server.close();
await kdc.stop();
