// The load generator: fresh AS-REQs with PA-ENC-TIMESTAMP, or fresh TGS-REQs
// on one TGT, over UDP at concurrency N, against any KDC address. Built on
// @kpop/common's codecs and crypto (through @kpop/kdc's request builders).
import dgram from 'node:dgram';
import { KeyUsage, decodeAsRep, decodeEncKdcRepPart, getEnctype, stringToKey } from '@kpop/common';
import type { EncryptionKey, Ticket } from '@kpop/common';
import { buildAsReq, buildTgsReq } from '@kpop/kdc';

export interface Target {
  label: string;
  host: string;
  port: number;
  realm: string;
  user: string;
  password: string;
  service: string[];
  pid?: number;
}

export interface PhaseResult {
  requests: number;
  failures: number;
  seconds: number;
  latenciesUs: number[];
}

/** One UDP round trip; retransmits after a second, gives up after three. */
function exchange(sock: dgram.Socket, t: Target, msg: Uint8Array): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    let tries = 0;
    let timer: NodeJS.Timeout;
    const onMsg = (m: Buffer): void => {
      clearTimeout(timer);
      sock.off('message', onMsg);
      resolve(new Uint8Array(m.buffer, m.byteOffset, m.length));
    };
    const send = (): void => {
      if (tries++ === 3) {
        sock.off('message', onMsg);
        resolve(null);
        return;
      }
      sock.send(msg, t.port, t.host);
      timer = setTimeout(send, 1000);
    };
    sock.on('message', onMsg);
    send();
  });
}

async function socket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

export function userKey(t: Target, etype = 18): EncryptionKey {
  return stringToKey(etype, t.password, `${t.realm}${t.user}`);
}

export async function getTgt(t: Target, key: EncryptionKey): Promise<{ ticket: Ticket; sessionKey: EncryptionKey }> {
  const s = await socket();
  try {
    const reply = await exchange(s, t, buildAsReq({ realm: t.realm, cname: [t.user], etypes: [key.keytype], preauthKey: key }));
    if (!reply || reply[0] !== 0x6b) throw new Error(`${t.label}: no AS-REP for ${t.user}@${t.realm}`);
    const rep = decodeAsRep(reply);
    const part = decodeEncKdcRepPart(getEnctype(key.keytype).decrypt(key.keyvalue, KeyUsage.AS_REP_ENCPART, rep.encPart.cipher));
    return { ticket: rep.ticket, sessionKey: part.key };
  } finally {
    s.close();
  }
}

/** Run `concurrency` workers for `seconds`, each sending make() and expecting a reply starting with `tag`. */
export async function runPhase(t: Target, make: () => Uint8Array, tag: number, concurrency: number, seconds: number): Promise<PhaseResult> {
  const socks = await Promise.all(Array.from({ length: concurrency }, socket));
  const latenciesUs: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    socks.map(async (s) => {
      while (performance.now() < end) {
        const msg = make();
        const a = performance.now();
        const reply = await exchange(s, t, msg);
        const us = (performance.now() - a) * 1000;
        if (reply && reply[0] === tag) latenciesUs.push(us);
        else failures++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  for (const s of socks) s.close();
  return { requests: latenciesUs.length, failures, seconds: elapsed, latenciesUs };
}

export function asRequestMaker(t: Target, key: EncryptionKey): () => Uint8Array {
  return () => buildAsReq({ realm: t.realm, cname: [t.user], etypes: [key.keytype], preauthKey: key });
}

export function tgsRequestMaker(t: Target, tgt: { ticket: Ticket; sessionKey: EncryptionKey }, etype = 18): () => Uint8Array {
  return () =>
    buildTgsReq({ realm: t.realm, ticket: tgt.ticket, sessionKey: tgt.sessionKey, crealm: t.realm, cname: { nameType: 1, nameString: [t.user] }, sname: t.service, etypes: [etype] });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
