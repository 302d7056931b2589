// The shared preamble of bench/pop3 and bench/imap: one service ticket per
// user from our KDC (as each user's kinit would get), fresh SASL GSSAPI
// tokens per session (an AP-REQ with a new authenticator, so replay caches
// see no replay, and the answer to the server's layer offer, sent the way
// curl sends them: no mutual authentication), and one load run in a worker
// thread with the server's CPU time around it.
import { Worker } from 'node:worker_threads';
import {
  decodeTicket, encodeApReq, encodeAuthenticator, encodeContextToken, encodeGssChecksum, encryptData, getInitialCredentials,
  getServiceTicket, GSS_CHECKSUM_TYPE, KeyUsage, loadKrb5Config, makeWrapToken, parsePrincipal, TokId,
  type EncryptionKey, type Ticket,
} from '@kpop/common';

export interface SessionTokens {
  user: string;
  count: number;
  /** The AP-REQ as a base64 GSS-API initial context token. */
  token: string;
  /** The base64 wrap token answering the server's security-layer offer. */
  answer: string;
}

/** Tickets for `service` (e.g. imap/127.0.0.1) for each user (password `${user}-pw`); returns a token maker. */
export async function gssapiTokens(krb5ConfPath: string, realm: string, service: string, users: string[]): Promise<(user: string, i: number, count: number) => SessionTokens> {
  const config = loadKrb5Config({ KRB5_CONFIG: krb5ConfPath });
  const tickets = new Map<string, { ticket: Ticket; key: EncryptionKey }>();
  for (const u of users) {
    const initial = await getInitialCredentials({ config, client: parsePrincipal(`${u}@${realm}`), password: `${u}-pw` });
    const st = await getServiceTicket({ config, tgt: initial.credential, service: parsePrincipal(`${service}@${realm}`) });
    tickets.set(u, { ticket: decodeTicket(st.credential.ticket), key: st.credential.key });
  }
  let cusec = 0;
  return (user, i, count) => {
    const { ticket, key } = tickets.get(user)!;
    const subkey = { keytype: key.keytype, keyvalue: new Uint8Array(key.keyvalue.length).fill((i % 250) + 1) };
    const seq = 1000 + i;
    const auth = encodeAuthenticator({
      authenticatorVno: 5, crealm: realm, cname: { nameType: 1, nameString: [user] }, cusec: ++cusec % 1_000_000,
      ctime: new Date(Math.floor(Date.now() / 1000) * 1000),
      cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: encodeGssChecksum({ flags: 0x134 }) }, subkey, seqNumber: seq,
    });
    const apReq = encodeApReq({ pvno: 5, msgType: 14, apOptions: 0, ticket, authenticator: encryptData(key, KeyUsage.AP_REQ_AUTH, auth) });
    // Non-mutual: the server's offer and our answer both carry our seq-number.
    const answer = makeWrapToken(Uint8Array.of(1, 0, 0, 0), { key: subkey, seq, fromAcceptor: false });
    return { user, count, token: Buffer.from(encodeContextToken(TokId.AP_REQ, apReq)).toString('base64'), answer: Buffer.from(answer).toString('base64') };
  };
}

/** The server's CPU seconds so far; a server in this process has the client thread's own CPU taken out. */
export interface ServerCpu {
  seconds: () => number;
  inThisProcess: boolean;
}

export interface LoadResult {
  s: number;
  bytes: number;
  cpu: number;
}

/** One run of a client worker (./pop3/client.mjs, ./imap/client.mjs) against a server. */
export async function workerLoad(client: URL, workerData: { port: number; sessions: SessionTokens[]; [k: string]: unknown }, cpu: ServerCpu): Promise<LoadResult> {
  const c0 = cpu.seconds();
  const worker = new Worker(client, { workerData });
  const r = await new Promise<{ ms: number; bytes: number; clientCpu: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const used = cpu.seconds() - c0 - (cpu.inThisProcess ? r.clientCpu : 0);
  await worker.terminate();
  return { s: r.ms / 1000, bytes: r.bytes, cpu: used };
}
