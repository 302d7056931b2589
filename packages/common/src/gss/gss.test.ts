import { describe, expect, it } from 'vitest';
import { decryptData } from '../crypto/index.js';
import { ApOptions, decodeApRep, decodeEncApRepPart, ErrorCode, formatPrincipal, KeyUsage, KrbError } from '../krb5/index.js';
import { acceptApReq, makeApRep } from './acceptor.js';
import { decodeGssChecksum, encodeGssChecksum, GssFlags } from './checksum.js';
import { GssError } from './errors.js';
import { ReplayCache } from './replay-cache.js';
import { GssapiSaslServer } from './sasl-gssapi.js';
import { decodeContextToken, encodeContextToken, KRB5_MECH_OID, TokId } from './token.js';
import { makeWrapToken, readWrapToken } from './wrap.js';
import { buildApReq, mitPopKeytab, mitPopTicket, MIT_NOW } from './testing/initiator.js';

const keytab = mitPopKeytab();
const subkey = { keytype: 18, keyvalue: new Uint8Array(32).fill(7) };

function code(fn: () => unknown): number | string {
  try {
    fn();
  } catch (e) {
    if (e instanceof KrbError) return e.code;
    if (e instanceof GssError) return e.major;
    throw e;
  }
  return 'accepted';
}

describe('acceptApReq on the genuine MIT pop/localhost ticket', () => {
  const opts = () => ({ keytab, now: MIT_NOW, replayCache: new ReplayCache() });

  it('opens the ticket with pop.keytab and names the client', () => {
    const a = acceptApReq(buildApReq({ apOptions: ApOptions.MUTUAL_REQUIRED }), opts());
    expect(formatPrincipal(a.client)).toBe('alice@LAB.TEST');
    expect(formatPrincipal(a.server)).toBe('pop/localhost@LAB.TEST');
    expect(a.mutualRequired).toBe(true);
    expect(a.keytabEntry.kvno).toBe(2);
    expect(Buffer.from(a.sessionKey.keyvalue).toString('hex')).toBe(Buffer.from(mitPopTicket().sessionKey.keyvalue).toString('hex'));
  });
  it('accepts an sname with name type 0, as fetchmail sends (principals compare without name type)', () => {
    const { ticket } = mitPopTicket();
    const t0 = { ...ticket, sname: { ...ticket.sname, nameType: 0 } };
    expect(code(() => acceptApReq(buildApReq({ ticket: t0 }), opts()))).toBe('accepted');
  });
  it('refuses a replayed authenticator with KRB_AP_ERR_REPEAT', () => {
    const o = opts();
    const req = buildApReq();
    acceptApReq(req, o);
    expect(code(() => acceptApReq(req, o))).toBe(ErrorCode.KRB_AP_ERR_REPEAT);
    // A fresh authenticator on the same ticket is fine.
    expect(code(() => acceptApReq(buildApReq({ cusec: 1 }), o))).toBe('accepted');
  });
  it('refuses a skewed authenticator, an expired ticket and a ticket for another service', () => {
    expect(code(() => acceptApReq(buildApReq({ ctime: new Date(MIT_NOW.getTime() - 301_000) }), opts()))).toBe(ErrorCode.KRB_AP_ERR_SKEW);
    const late = new Date('2026-11-29T16:20:00Z');
    expect(code(() => acceptApReq(buildApReq({ ctime: late }), { ...opts(), now: late }))).toBe(ErrorCode.KRB_AP_ERR_TKT_EXPIRED);
    const early = new Date('2026-11-29T06:00:00Z');
    expect(code(() => acceptApReq(buildApReq({ ctime: early }), { ...opts(), now: early }))).toBe(ErrorCode.KRB_AP_ERR_TKT_NYV);
    expect(code(() => acceptApReq(buildApReq(), { ...opts(), acceptService: (p) => p.name.nameString[1] === 'mail.example' }))).toBe(ErrorCode.KRB_AP_ERR_NOT_US);
  });
  it('picks keys by kvno and enctype', () => {
    const { ticket } = mitPopTicket();
    expect(code(() => acceptApReq(buildApReq({ ticket: { ...ticket, encPart: { ...ticket.encPart, kvno: 3 } } }), opts()))).toBe(ErrorCode.KRB_AP_ERR_BADKEYVER);
    const only17 = { ...keytab, entries: keytab.entries.filter((e) => e.key.keytype === 17) };
    expect(code(() => acceptApReq(buildApReq(), { ...opts(), keytab: only17 }))).toBe(ErrorCode.KRB_AP_ERR_NOKEY);
    const other = { ...keytab, entries: keytab.entries.map((e) => ({ ...e, principal: { ...e.principal, realm: 'OTHER.TEST' } })) };
    expect(code(() => acceptApReq(buildApReq(), { ...opts(), keytab: other }))).toBe(ErrorCode.KRB_AP_ERR_NOT_US);
  });
  it('refuses a tampered ticket, a wrong session key and a client mismatch', () => {
    const { ticket } = mitPopTicket();
    const cipher = ticket.encPart.cipher.slice();
    cipher[40] ^= 1;
    expect(code(() => acceptApReq(buildApReq({ ticket: { ...ticket, encPart: { ...ticket.encPart, cipher } } }), opts()))).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
    expect(code(() => acceptApReq(buildApReq({ key: subkey }), opts()))).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
    expect(code(() => acceptApReq(buildApReq({ cname: ['mallory'] }), opts()))).toBe(ErrorCode.KRB_AP_ERR_BADMATCH);
    expect(code(() => acceptApReq(Uint8Array.of(0x6e, 0x03, 0x02, 0x01, 0x05), opts()))).toBeTypeOf('number');
  });
  it('builds the AP-REP MIT checks: usage 12, ctime/cusec echoed', () => {
    const a = acceptApReq(buildApReq({ cusec: 4242 }), opts());
    const rep = decodeApRep(makeApRep(a, { seqNumber: 77 }));
    const part = decodeEncApRepPart(decryptData(a.sessionKey, KeyUsage.AP_REP_ENCPART, rep.encPart));
    expect(part.ctime.getTime()).toBe(MIT_NOW.getTime());
    expect(part.cusec).toBe(4242);
    expect(part.seqNumber).toBe(77);
    expect(part.subkey).toBeUndefined();
  });
});

describe('GSS-API token framing and the 0x8003 checksum', () => {
  it('frames a 139-byte AP-REP as MIT does (60 81 98 06 09 … 02 00 6f …, protocols.md §3.3)', () => {
    const rep = new Uint8Array(139).fill(0x6f);
    const tok = encodeContextToken(TokId.AP_REP, rep);
    expect([...tok.subarray(0, 3)]).toEqual([0x60, 0x81, 0x98]);
    expect([...tok.subarray(3, 14)]).toEqual([...KRB5_MECH_OID]);
    expect([...tok.subarray(14, 16)]).toEqual([0x02, 0x00]);
    expect(decodeContextToken(tok).message).toEqual(rep);
  });
  it('rejects other mechanisms and bad lengths', () => {
    const tok = encodeContextToken(TokId.AP_REQ, new Uint8Array(10));
    const bad = tok.slice();
    bad[12] ^= 1;
    expect(() => decodeContextToken(bad)).toThrow(/Kerberos 5 mechanism/);
    expect(() => decodeContextToken(tok.subarray(0, tok.length - 1))).toThrow(GssError);
    expect(() => decodeContextToken(Uint8Array.of(0x60, 0x85, 1, 1, 1, 1, 1))).toThrow(GssError);
  });
  it('reads the 0x8003 checksum little-endian (fetchmail flags 0x13a)', () => {
    const c = decodeGssChecksum(Buffer.from('10000000' + '00'.repeat(16) + '3a010000', 'hex'));
    expect(c.flags).toBe(0x13a);
    expect(c.flags & GssFlags.MUTUAL).toBeTruthy();
    expect(decodeGssChecksum(encodeGssChecksum({ flags: 0x134 })).flags).toBe(0x134);
    expect(() => decodeGssChecksum(new Uint8Array(20))).toThrow(GssError);
  });
});

describe('RFC 4121 wrap tokens', () => {
  const key = subkey;
  it('unsealed acceptor token has the header curl/fetchmail saw: 05 04 01 ff 00 0c 00 00 seq', () => {
    const t = makeWrapToken(Uint8Array.of(1, 0, 0, 0), { key, seq: 0x33777cf7, fromAcceptor: true });
    expect(Buffer.from(t.subarray(0, 16)).toString('hex')).toBe('050401ff000c000000000000' + '33777cf7');
    expect(t.length).toBe(16 + 4 + 12);
    expect(readWrapToken(t, { key, fromAcceptor: true }).plaintext).toEqual(Uint8Array.of(1, 0, 0, 0));
  });
  it('reads sealed tokens with and without rotation, and unsealed rotated ones', () => {
    for (const sealed of [false, true]) {
      for (const rrc of [0, 12, 28, 1000]) {
        const msg = new TextEncoder().encode('\x01\xff\xff\xffalice');
        const t = makeWrapToken(msg, { key, seq: 5, fromAcceptor: false, sealed, rrc });
        const r = readWrapToken(t, { key, fromAcceptor: false });
        expect(r).toEqual({ plaintext: msg, seq: 5, sealed });
      }
    }
  });
  it('rejects a flipped bit, the wrong direction and an unexpected AcceptorSubkey flag', () => {
    const t = makeWrapToken(Uint8Array.of(1, 0, 0, 0), { key, seq: 1, fromAcceptor: false });
    for (let i = 0; i < t.length; i++) {
      // Byte 3 is the filler (checked but 0xfe is as wrong as anything); byte 6
      // is RRC's high byte: RRC 256 rotates these 16 bytes by a whole turn, a
      // no-op, and RFC 4121 §4.2.5 leaves RRC outside the checksum.
      if (i === 6) continue;
      const bad = t.slice();
      bad[i] ^= 0x01;
      expect(() => readWrapToken(bad, { key, fromAcceptor: false })).toThrow(GssError);
    }
    expect(() => readWrapToken(t, { key, fromAcceptor: true })).toThrow(/direction/);
    expect(() => readWrapToken(t, { key, fromAcceptor: false, acceptorSubkey: true })).toThrow(/AcceptorSubkey/);
  });
});

describe('SASL GSSAPI server (RFC 4752)', () => {
  const accept = (rc = new ReplayCache()) => (apReq: Uint8Array) => acceptApReq(apReq, { keytab, now: MIT_NOW, replayCache: rc });

  it('mutual (fetchmail): AP-REP with seq N, offer at N, client answer at its own seq', () => {
    const server = new GssapiSaslServer({ accept: accept(), randomSeq: () => 0x1dadef60 });
    const tok = encodeContextToken(TokId.AP_REQ, buildApReq({ gssFlags: 0x13a, subkey, seqNumber: 981869090 }));
    const s1 = server.step(tok);
    if (!('challenge' in s1)) throw new Error('expected a challenge');
    const { tokId, message } = decodeContextToken(s1.challenge);
    expect(tokId).toBe(TokId.AP_REP);
    const part = decodeEncApRepPart(decryptData(mitPopTicket().sessionKey, 12, decodeApRep(message).encPart));
    expect(part.seqNumber).toBe(0x1dadef60);
    const s2 = server.step(new Uint8Array(0));
    if (!('challenge' in s2)) throw new Error('expected the offer');
    const offer = readWrapToken(s2.challenge, { key: subkey, fromAcceptor: true });
    expect(offer).toEqual({ plaintext: Uint8Array.of(1, 0, 0, 0), seq: 0x1dadef60, sealed: false });
    const answer = makeWrapToken(new TextEncoder().encode('\x01\x00\x00\x00alice'), { key: subkey, seq: 981869090, fromAcceptor: false });
    const s3 = server.step(answer);
    if (!('done' in s3)) throw new Error('expected completion');
    expect(s3.done.authzid).toBe('alice');
    expect(formatPrincipal(s3.done.principal)).toBe('alice@LAB.TEST');
  });
  it('non-mutual (curl): no AP-REP, the offer carries the initiator seq; empty authzid; max size ignored', () => {
    const server = new GssapiSaslServer({ accept: accept() });
    const s1 = server.step(encodeContextToken(TokId.AP_REQ, buildApReq({ gssFlags: 0x134, subkey, seqNumber: 0x33777cf7 })));
    if (!('challenge' in s1)) throw new Error('expected the offer');
    expect(readWrapToken(s1.challenge, { key: subkey, fromAcceptor: true }).seq).toBe(0x33777cf7);
    const s2 = server.step(makeWrapToken(Uint8Array.of(1, 0xff, 0xff, 0xff), { key: subkey, seq: 0x33777cf7, fromAcceptor: false, sealed: true }));
    expect('done' in s2 && s2.done.authzid).toBe('');
  });
  it('refuses a layer that was not offered, a wrong sequence number and a bad token', () => {
    const run = (answer: Uint8Array, seq = 9) => {
      const server = new GssapiSaslServer({ accept: accept() });
      server.step(encodeContextToken(TokId.AP_REQ, buildApReq({ gssFlags: 0x134, subkey, seqNumber: 9 })));
      return code(() => server.step(makeWrapToken(answer, { key: subkey, seq, fromAcceptor: false })));
    };
    expect(run(Uint8Array.of(4, 0, 0, 0))).toBe(60);
    expect(run(Uint8Array.of(1, 0, 0, 0), 10)).toBe('UNSEQ_TOKEN');
    expect(run(Uint8Array.of(1, 0))).toBe('DEFECTIVE_TOKEN');
    expect(run(Uint8Array.of(1, 0, 0, 0, 0x61, 0, 0x62))).toBe('DEFECTIVE_TOKEN');
    expect(run(Uint8Array.of(1, 0, 0, 0, 0x62, 0x6f, 0x62, 0))).toBe('accepted');
    const server = new GssapiSaslServer({ accept: accept() });
    expect(code(() => server.step(new Uint8Array([0x60, 0x00])))).toBe('BAD_MECH');
    expect(code(() => server.step(new Uint8Array([0x6e, 0x00])))).toBe('DEFECTIVE_TOKEN');
  });
});
