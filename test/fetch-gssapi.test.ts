/**
 * The GSSAPI initiator of `kpop fetch` against a scripted acceptor built from
 * the suite's GSS pieces (acceptApReq, makeApRep, wrap tokens) with the
 * realm's real pop keytab, so each check of RFC 4752 §3.1 / RFC 4121 on the
 * client side can be made to fail on purpose: the server's wrap-token
 * sequence number, the offered layers, the direction flag, the length of
 * the offer, the AcceptorSubkey path.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { acceptApReq, decodeContextToken, encodeContextToken, makeApRep, makeWrapToken, randomKeyFor, readKeytab, readWrapToken, TokId, type AcceptedApReq, type EncryptionKey } from '@kpop/common';
import { runFetchCli } from '../packages/kpop/src/fetch/index.js';
import { kinitInProcess, startFetchRealm, tempDir, type FetchRealm } from './fetch-helpers.js';

interface Script {
  /** Acceptor subkey to put in the AP-REP (then tokens use it with flag 0x04). */
  subkey?: boolean;
  seqDelta?: number;
  offer?: number[];
  fromInitiator?: boolean;
}

let r: FetchRealm;
let tmp: ReturnType<typeof tempDir>;
let fake: Server;
let script: Script = {};
let clientAnswer: Uint8Array | undefined;
let seqs: { got: number; want: number | undefined } | undefined;

function serve(sock: Socket): void {
  sock.on('error', () => {});
  let buf = '';
  let step = 0;
  let accepted: AcceptedApReq;
  let key: EncryptionKey;
  let serverSeq = 0;
  let acceptorSubkey = false;
  const keytab = readKeytab(r.keytab);
  const offer = () => {
    const token = makeWrapToken(Uint8Array.from(script.offer ?? [1, 0, 0, 0]), { key, seq: serverSeq + (script.seqDelta ?? 0), fromAcceptor: !script.fromInitiator, acceptorSubkey });
    sock.write(`+ ${Buffer.from(token).toString('base64')}\r\n`);
  };
  sock.write('+OK fake\r\n');
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    let i: number;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line === 'CAPA') sock.write('+OK\r\nSASL GSSAPI\r\n.\r\n');
      else if (line === 'AUTH GSSAPI') sock.write('+ \r\n');
      else if (step === 0) {
        step = 1;
        accepted = acceptApReq(decodeContextToken(Buffer.from(line, 'base64')).message, { keytab });
        const sub = script.subkey ? randomKeyFor(accepted.sessionKey.keytype) : undefined;
        serverSeq = 4242;
        acceptorSubkey = !!sub;
        key = sub ?? accepted.authenticator.subkey!;
        sock.write(`+ ${Buffer.from(encodeContextToken(TokId.AP_REP, makeApRep(accepted, { seqNumber: serverSeq, ...(sub ? { subkey: sub } : {}) }))).toString('base64')}\r\n`);
      } else if (step === 1) {
        step = 2;
        offer();
      } else if (step === 2) {
        step = 3;
        const t = readWrapToken(Buffer.from(line, 'base64'), { key, fromAcceptor: false, acceptorSubkey });
        seqs = { got: t.seq, want: accepted.authenticator.seqNumber };
        clientAnswer = t.plaintext;
        sock.write('+OK in\r\n');
      } else if (line === 'STAT') sock.write('+OK 0 0\r\n');
      else if (line === 'QUIT') sock.end('+OK bye\r\n');
    }
  });
}

beforeAll(async () => {
  r = await startFetchRealm();
  tmp = tempDir();
  fake = createServer(serve);
  await new Promise<void>((ok) => fake.listen(0, '127.0.0.1', ok));
}, 60_000);
afterAll(async () => {
  await new Promise<void>((ok) => fake.close(() => ok()));
  await r?.stop();
  tmp?.cleanup();
});
beforeEach(async () => {
  clientAnswer = undefined;
  await kinitInProcess(r, 'alice', 'alice-pw-1');
});

async function fetch(extra: string[] = []): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await runFetchCli(['--host', 'localhost', '--port', String((fake.address() as { port: number }).port), '--out', join(tmp.dir, 'm'), ...extra], {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (err += s) },
    env: { ...r.env },
  });
  return { code, err };
}

describe('kpop fetch as GSSAPI initiator', () => {
  it('answers layer "none", max size 0 and the authzid, with its own sequence number', async () => {
    script = {};
    const res = await fetch(['--user', 'alice']);
    expect(res.err).toBe('');
    expect([...clientAnswer!]).toEqual([1, 0, 0, 0, ...Buffer.from('alice')]);
    expect(seqs!.got).toBe(seqs!.want);
  });

  it('follows an acceptor subkey from the AP-REP (flag 0x04 both ways)', async () => {
    script = { subkey: true };
    const res = await fetch();
    expect(res.err).toBe('');
    expect([...clientAnswer!]).toEqual([1, 0, 0, 0]);
  });

  it('rejects a wrap token whose sequence number is not the AP-REP one', async () => {
    script = { seqDelta: 1 };
    const res = await fetch();
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: localhost:\d+ sent its wrap token with sequence number 4243, expected 4242\n$/);
  });

  it('refuses a server that insists on a security layer', async () => {
    script = { offer: [4, 0, 16, 0] };
    const res = await fetch();
    expect(res.err).toMatch(/requires a SASL security layer, which kpop fetch does not offer: use --tls instead\n$/);
  });

  it('refuses an offer that is not 4 bytes, and a token sent in the wrong direction', async () => {
    script = { offer: [1, 0, 0] };
    expect((await fetch()).err).toMatch(/sent a 3-byte security layer offer, not 4/);
    script = { fromInitiator: true };
    expect((await fetch()).err).toMatch(/security layer offer that fails its check: .*wrong direction/);
  });
});
