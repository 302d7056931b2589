/**
 * Genuine Heimdal 7.8 client requests (test/fixtures/heimdal, made by its
 * capture.ts) through our codec and our KDC holding the same keys, its clock
 * pinned to each request's capture time. Issue 10 item 7: Heimdal sends its
 * TGS nonce as a signed INTEGER, negative half the time; the KDC must serve
 * it and echo the same INTEGER, and every other 32-bit field of Heimdal's
 * requests (kvno, seq-number, cusec, etypes) must read as it is meant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ErrorCode,
  KeyUsage,
  PaDataType,
  decodeApReq,
  decodeAsReq,
  decodeAuthenticator,
  decodeEncTicketPart,
  decodeKrbErrorMessage,
  decodeTgsReq,
  encodeAsReq,
  encodeTgsReq,
  getEnctype,
} from '@kpop/common';
import { handleRequest, openAsRep, openTgsRep } from '@kpop/kdc';
import type { HandlerContext } from '@kpop/kdc';
import { MIT_KEYS, mitFixtureRealm } from './kdc-helpers.js';

const DIR = join(import.meta.dirname, 'fixtures', 'heimdal');
const capture = JSON.parse(readFileSync(join(DIR, 'capture.json'), 'utf8')) as { files: Record<string, { time: string; nonce?: number }> };
const bytes = (name: string): Uint8Array => Uint8Array.from(Buffer.from(readFileSync(join(DIR, `${name}.hex`), 'utf8').trim(), 'hex'));
const at = (name: string): Date => new Date(capture.files[name]!.time);

let realm: ReturnType<typeof mitFixtureRealm>;
const records: Record<string, unknown>[] = [];
const ctxAt = (name: string): HandlerContext => ({ store: realm.db, now: () => at(name), enctypes: [18, 17, 20, 19], log: (r) => records.push(r) });

beforeAll(() => {
  realm = mitFixtureRealm();
});
afterAll(() => realm.cleanup());

/** The TGT session key, from the AS-REP our KDC gave Heimdal's kinit (alice's aes256 key opens it). */
function tgtSession(): { keytype: number; keyvalue: Uint8Array } {
  return openAsRep(bytes('04-alice-AS-REP'), { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 }).part.key;
}

describe('Heimdal 7.8 requests through the codec', () => {
  it('decode and re-encode to the same bytes, the negative nonce included', () => {
    for (const name of ['01-alice-AS-REQ', '03-alice-AS-REQ']) expect(Buffer.from(encodeAsReq(decodeAsReq(bytes(name))))).toEqual(Buffer.from(bytes(name)));
    for (const name of ['05-alice-TGS-REQ-negative-nonce', '07-alice-TGS-REQ-positive-nonce']) {
      const req = decodeTgsReq(bytes(name));
      expect(req.reqBody.nonce).toBe(capture.files[name]!.nonce);
      expect(Buffer.from(encodeTgsReq(req))).toEqual(Buffer.from(bytes(name)));
    }
    expect(decodeTgsReq(bytes('05-alice-TGS-REQ-negative-nonce')).reqBody.nonce).toBeLessThan(0);
  });

  it('the other 32-bit fields of the TGS-REQ read in range: ticket kvno, authenticator seq-number, cusec, etypes', () => {
    const session = tgtSession();
    for (const name of ['05-alice-TGS-REQ-negative-nonce', '07-alice-TGS-REQ-positive-nonce']) {
      const req = decodeTgsReq(bytes(name));
      expect(req.reqBody.etype.every((e) => e > 0 && e < 0x10000)).toBe(true);
      const pa = req.padata!.find((p) => p.padataType === PaDataType.PA_TGS_REQ)!;
      const ap = decodeApReq(pa.padataValue);
      expect(ap.ticket.encPart.kvno).toBe(1); // krbtgt's kvno in the fixture realm
      const auth = decodeAuthenticator(getEnctype(session.keytype).decrypt(session.keyvalue, KeyUsage.TGS_REQ_AUTH, ap.authenticator.cipher));
      expect(auth.cname.nameString).toEqual(['alice']);
      expect(auth.cusec).toBeGreaterThanOrEqual(0);
      expect(auth.cusec).toBeLessThan(1_000_000);
      // Heimdal's seq-number is a krb5uint32: whatever it sent reads as 0..2^32-1.
      if (auth.seqNumber !== undefined) expect(auth.seqNumber >= 0 && auth.seqNumber <= 0xffffffff).toBe(true);
      expect(Math.abs(auth.ctime.getTime() - at(name).getTime())).toBeLessThan(5000);
    }
  });
});

describe('Heimdal 7.8 requests against our KDC', () => {
  it('01 (no pre-authentication) → PREAUTH_REQUIRED', () => {
    const err = decodeKrbErrorMessage(handleRequest(bytes('01-alice-AS-REQ'), ctxAt('01-alice-AS-REQ'))!);
    expect(err.errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_REQUIRED);
  });

  it('03 (PA-ENC-TIMESTAMP) → an AS-REP alice\'s key opens, with Heimdal\'s nonce', () => {
    const { part } = openAsRep(handleRequest(bytes('03-alice-AS-REQ'), ctxAt('03-alice-AS-REQ'))!, { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 });
    expect(part.nonce).toBe(capture.files['03-alice-AS-REQ']!.nonce);
  });

  for (const [req, rep] of [['05-alice-TGS-REQ-negative-nonce', '06-alice-TGS-REP-negative-nonce'], ['07-alice-TGS-REQ-positive-nonce', '08-alice-TGS-REP-positive-nonce']] as const) {
    it(`${req.slice(0, 2)} → a TGS-REP for pop/localhost whose nonce is the request's, encoded the same (as the reply Heimdal accepted, ${rep.slice(0, 2)})`, () => {
      const session = tgtSession();
      const n = records.length;
      const reply = handleRequest(bytes(req), ctxAt(req))!;
      expect(reply[0], JSON.stringify(records.slice(n))).toBe(0x6d);
      // Heimdal puts a subkey in its TGS authenticator: the reply is under it (RFC 4120 §5.4.2, usage 9).
      const subkey = authenticatorOf(req, session).subkey!;
      expect(subkey).toBeDefined();
      for (const r of [reply, bytes(rep)]) {
        const { rep: tgsRep, part } = openTgsRep(r, subkey, KeyUsage.TGS_REP_ENCPART_SUBKEY);
        expect(part.nonce).toBe(capture.files[req]!.nonce);
        expect(part.sname.nameString).toEqual(['pop', 'localhost']);
        const etp = decodeEncTicketPart(getEnctype(18).decrypt(MIT_KEYS.pop.aes256, KeyUsage.KDC_REP_TICKET, tgsRep.ticket.encPart.cipher));
        expect(etp.cname.nameString).toEqual(['alice']);
        // The INTEGER in the reply is the request's, byte for byte: [2] nonce inside EncTGSRepPart.
        const plain = Buffer.from(getEnctype(subkey.keytype).decrypt(subkey.keyvalue, KeyUsage.TGS_REP_ENCPART_SUBKEY, tgsRep.encPart.cipher));
        expect(plain.includes(nonceTlv(bytes(req)))).toBe(true);
      }
      expect(records.at(-1)).toMatchObject({ msg: 'TGS_REQ', status: 'ISSUE', cname: 'alice@LAB.TEST', sname: 'pop/localhost@LAB.TEST' });
    });
  }
});

function authenticatorOf(name: string, session: { keytype: number; keyvalue: Uint8Array }) {
  const pa = decodeTgsReq(bytes(name)).padata!.find((p) => p.padataType === PaDataType.PA_TGS_REQ)!;
  return decodeAuthenticator(getEnctype(session.keytype).decrypt(session.keyvalue, KeyUsage.TGS_REQ_AUTH, decodeApReq(pa.padataValue).authenticator.cipher));
}

/** The `[7] nonce` TLV of a KDC-REQ-BODY re-tagged as `[2]`, as EncKDCRepPart carries it. */
function nonceTlv(req: Uint8Array): Buffer {
  const nonce = decodeTgsReq(req).reqBody.nonce;
  const hex = Buffer.from(new Int32Array([nonce | 0]).buffer).reverse();
  // Minimal two's complement: strip redundant leading 0x00/0xff bytes; an unsigned value over 2^31 gets a leading 0x00.
  let b = [...hex];
  while (b.length > 1 && ((b[0] === 0 && b[1]! < 0x80) || (b[0] === 0xff && b[1]! >= 0x80))) b = b.slice(1);
  if (nonce > 0x7fffffff) b = [0, ...b];
  return Buffer.from([0xa2, b.length + 2, 0x02, b.length, ...b]);
}
