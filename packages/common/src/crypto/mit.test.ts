/**
 * Interop on genuine MIT krb5 1.20 bytes (test/fixtures/mit, README there):
 * string-to-key, every encrypted part with its key and usage, the checksums
 * (authenticator, PA-REQ-ENC-PA-REP, FAST, PAC), and KRB-FX-CF2 as FAST used
 * it. Messages are taken apart with the krb5 decoders; the FAST armour (no
 * FAST codec in krb5/) is located by the cipher prefix tshark printed.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeAdIfRelevant, decodeApReq, decodeAsRep, decodeAsReq, decodeAuthenticator, decodeEncKdcRepPart, decodeEncTicketPart,
  decodeEncryptedData, decodePaEncTsEnc, decodeTgsRep, decodeTgsReq, encodeTicket,
} from '../krb5/index.js';
import { ErrorCode } from '../krb5/errors.js';
import { codeOf } from './testing/errors.js';
import type { EncryptionKey } from '../krb5/types.js';
import { decryptData, getEnctype, krbFxCf2, makeChecksum, stringToKey, verifyChecksum } from './index.js';
import { cipherStartingWith, hex, indexesOf, mitMessage, toHex } from './testing/mit-fixtures.js';

const aes256 = getEnctype(18);
const k18 = (h: string): EncryptionKey => ({ keytype: 18, keyvalue: hex(h) });
const alice = k18('7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a');
const wrong = k18('01b950af237256b0caf2913296f267fde7844bd29a2edb001be0d32b8e586780');
const bench = k18('0e79bc36888285f25325d9f4ae4967113fe759d1463635d64dc70b88995496ab');
const krbtgt = k18('cdc4b86fc9fe9bb4c7492b52adf5c63758aae1a1057ee002a0636a57c148f2e1');
const pop = k18('38e50ca48425ab5454c4f3a3e6f18f0362576e2600627e4a421136e46ea6d66e');
const tgtSession = k18('699ecb3a9af9416c5c4e3f40afb04bb367bdceacf8163aa72c51723e437b065a');
const subkey = k18('a8cf2f64afa52d76adb4df01419dfa07530406472f3f2477b9d5e86a12d7e157');
const armorKey = k18('208407e0569ea7adc639e68f71836c81a26bd768942badf4083833ed1b57ecb8');
const strengthenKey = k18('f2d4105272a19a793518405d9e9f52091ec12af12139ca427f273ce94258f2a4');
const replyKey = k18('b4316ddd01d1d484fcb82a3b0d914ec6380ccd96dd632146fc597c3d1fe3b0e9');
const popSession = k18('d3d6109819ca7bb974172b00fb0a1e8339b59543c2891f71738e3b2b8b4b255f');

const padata = (pa: { padataType: number; padataValue: Uint8Array }[] | undefined, type: number): Uint8Array => {
  const p = pa?.find((x) => x.padataType === type);
  if (!p) throw new Error(`no padata ${type}`);
  return p.padataValue;
};

describe('string-to-key against MIT keys (salt LAB.TESTalice, 4096 iterations)', () => {
  it('alice-pw-1 gives the aes256 and aes128 keys MIT stored', () => {
    expect(toHex(getEnctype(18).stringToKey('alice-pw-1', 'LAB.TESTalice'))).toBe(toHex(alice.keyvalue));
    expect(toHex(getEnctype(17).stringToKey('alice-pw-1', 'LAB.TESTalice'))).toBe('9b128cb80cbbd33f80715c981db0ff14');
    expect(stringToKey(18, 'alice-pw-1', 'LAB.TESTalice', hex('00001000'))).toEqual(alice);
  });
  it('wrong-pw gives the wrong-password key', () => {
    expect(toHex(aes256.stringToKey('wrong-pw', 'LAB.TESTalice'))).toBe(toHex(wrong.keyvalue));
  });
});

describe('PA-ENC-TIMESTAMP (usage 1)', () => {
  const encTs = (file: string) => decodeEncryptedData(padata(decodeAsReq(mitMessage(file)).padata, 2));
  it("opens 03's timestamp with alice's key", () => {
    const p = decryptData(alice, 1, encTs('03-alice-AS-REQ.hex'));
    expect(toHex(p)).toBe('301aa011180f32303236313132393036313135375aa105020306ca70');
    const ts = decodePaEncTsEnc(p);
    expect(ts.patimestamp.toISOString()).toBe('2026-11-29T06:11:57.000Z');
    expect(ts.pausec).toBe(445040);
  });
  it("opens 09's timestamp with bench's key", () => {
    expect(decodePaEncTsEnc(decryptData(bench, 1, encTs('09-bench-AS-REQ.hex'))).pausec).toBe(445043);
  });
  it("13's timestamp fails integrity with alice's real key and opens with the wrong-password key", () => {
    const ed = encTs('13-alice-AS-REQ.hex');
    expect(codeOf(() => decryptData(alice, 1, ed))).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
    expect(toHex(decryptData(wrong, 1, ed))).toBe('301aa011180f32303236313132393036313135375aa105020306ca73');
  });
  it('fails integrity with the right key but another usage', () => {
    expect(codeOf(() => decryptData(alice, 3, encTs('03-alice-AS-REQ.hex')))).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
  });
});

describe('AS-REP 04 and 10', () => {
  const rep = decodeAsRep(mitMessage('04-alice-AS-REP.hex'));
  it("enc-part opens with alice's key, usage 3, to the TGT session key", () => {
    const p = decryptData(alice, 3, rep.encPart);
    expect(p.length).toBe(230);
    expect(p[0]).toBe(0x7a);
    expect(decodeEncKdcRepPart(p).key).toEqual(tgtSession);
  });
  it('the TGT opens with the krbtgt key, usage 2', () => {
    const p = decryptData(krbtgt, 2, rep.ticket.encPart);
    expect(p.length).toBe(290);
    expect(decodeEncTicketPart(p).key).toEqual(tgtSession);
  });
  it('the PA-REQ-ENC-PA-REP checksum (usage 56) covers all 271 bytes of 03', () => {
    const asReq = mitMessage('03-alice-AS-REQ.hex');
    const part = decodeEncKdcRepPart(decryptData(alice, 3, rep.encPart));
    const c = part.encryptedPaData!.find((p) => p.padataType === 149)!.padataValue;
    expect(toHex(c)).toContain('214548eda22013137cff7522');
    expect(toHex(makeChecksum(alice, 56, asReq).checksum)).toBe('214548eda22013137cff7522');
    expect(verifyChecksum(alice, 56, asReq, { cksumtype: 16, checksum: hex('214548eda22013137cff7522') })).toBe(true);
    expect(verifyChecksum(alice, 56, asReq, { cksumtype: 16, checksum: hex('214548eda22013137cff7523') })).toBe(false);
  });
  it("10's enc-part opens with bench's key, usage 3", () => {
    const p = decryptData(bench, 3, decodeAsRep(mitMessage('10-bench-AS-REP.hex')).encPart);
    expect(toHex(decodeEncKdcRepPart(p).key.keyvalue)).toBe('54ad197f738e6e13c1bb44b06d698a6e66f322ee100db57d00837c77e44d134e');
  });
});

describe('TGS-REQ 05', () => {
  const req = decodeTgsReq(mitMessage('05-alice-TGS-REQ.hex'));
  const apReqBytes = padata(req.padata, 1);
  const ap = decodeApReq(apReqBytes);
  it('the TGT inside opens with the krbtgt key (usage 2)', () => {
    expect(decodeEncTicketPart(decryptData(krbtgt, 2, ap.ticket.encPart)).key).toEqual(tgtSession);
  });
  it('the authenticator opens with the TGT session key, usage 7, and carries the subkey', () => {
    const p = decryptData(tgtSession, 7, ap.authenticator);
    expect(p.length).toBe(139);
    const auth = decodeAuthenticator(p);
    expect(auth.subkey).toEqual(subkey);
    expect(auth.cksum?.cksumtype).toBe(16);
  });
  it('its cksum (usage 6) covers the req-body bytes as sent', () => {
    const auth = decodeAuthenticator(decryptData(tgtSession, 7, ap.authenticator));
    expect(req.reqBodyBytes!.length).toBe(107);
    expect(verifyChecksum(tgtSession, 6, req.reqBodyBytes!, auth.cksum!)).toBe(true);
    expect(toHex(auth.cksum!.checksum)).toBe('bab39619a416f712d8469a15');
    expect(verifyChecksum(tgtSession, 7, req.reqBodyBytes!, auth.cksum!)).toBe(false);
  });
  it('the armor key is KRB-FX-CF2(subkey, TGT session key, "subkeyarmor", "ticketarmor")', () => {
    expect(krbFxCf2(subkey, tgtSession, 'subkeyarmor', 'ticketarmor')).toEqual(armorKey);
  });
  it('the FAST req-checksum (usage 50, armor key) covers the 615-byte AP-REQ', () => {
    expect(apReqBytes.length).toBe(615);
    expect(toHex(aes256.checksum(armorKey.keyvalue, 50, apReqBytes))).toBe('7d6d847239504e0c064a2a88');
  });
});

describe('TGS-REP 06', () => {
  const msg = mitMessage('06-alice-TGS-REP.hex');
  const rep = decodeTgsRep(msg);
  it('the strengthened reply key is KRB-FX-CF2(strengthen-key, subkey, "strengthenkey", "replykey")', () => {
    expect(krbFxCf2(strengthenKey, subkey, 'strengthenkey', 'replykey')).toEqual(replyKey);
  });
  it('the pop/localhost ticket (kvno 2) opens with the service key, usage 2', () => {
    expect(rep.ticket.encPart.kvno).toBe(2);
    expect(decodeEncTicketPart(decryptData(pop, 2, rep.ticket.encPart)).key).toEqual(popSession);
  });
  it('the enc-part opens with the strengthened reply key, usage 9, and not with the plain subkey', () => {
    expect(decodeEncKdcRepPart(decryptData(replyKey, 9, rep.encPart)).key).toEqual(popSession);
    expect(codeOf(() => decryptData(subkey, 9, rep.encPart))).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
  });
  it('the FAST reply (usage 52, armor key) holds the strengthen-key and the ticket-checksum (usage 53)', () => {
    const c = cipherStartingWith(msg, hex('a8b62c08b87d10ec012fb1baf14f2ba8e2b324645bcdea445b2a69d0de90486e'));
    const p = aes256.decrypt(armorKey.keyvalue, 52, c);
    expect(toHex(p)).toContain(toHex(strengthenKey.keyvalue));
    expect(toHex(p)).toContain('de9d9a00b155637ef44ee7f6');
    expect(toHex(aes256.checksum(armorKey.keyvalue, 53, encodeTicket(rep.ticket)))).toBe('de9d9a00b155637ef44ee7f6');
  });
});

describe('PAC signatures (usage 17)', () => {
  /** The PAC in an EncTicketPart, and a copy with the given signature values zeroed. */
  const pacOf = (encTicketPart: Uint8Array): Uint8Array => {
    const ad = decodeEncTicketPart(encTicketPart).authorizationData!;
    const inner = decodeAdIfRelevant(ad.find((e) => e.adType === 1)!.adData);
    return inner.find((e) => e.adType === 128)!.adData;
  };
  const zeroed = (pac: Uint8Array, sigs: string[]): Uint8Array => {
    const out = pac.slice();
    for (const s of sigs) {
      const at = indexesOf(out, hex(s));
      expect(at.length).toBe(1);
      out.fill(0, at[0]!, at[0]! + 12);
    }
    return out;
  };
  it('TGT (04): server checksum with the krbtgt key over the zeroed PAC, KDC checksum over the server signature', () => {
    const pac = pacOf(decryptData(krbtgt, 2, decodeAsRep(mitMessage('04-alice-AS-REP.hex')).ticket.encPart));
    expect(pac.length).toBe(112);
    const srv = '01386efade6859151bd62e78';
    const kdc = '019414c86f8ada611f4cf7af';
    expect(toHex(aes256.checksum(krbtgt.keyvalue, 17, zeroed(pac, [srv, kdc])))).toBe(srv);
    expect(toHex(aes256.checksum(krbtgt.keyvalue, 17, hex(srv)))).toBe(kdc);
  });
  it('pop ticket (06): server checksum with the pop key, KDC checksum with the krbtgt key', () => {
    const pac = pacOf(decryptData(pop, 2, decodeTgsRep(mitMessage('06-alice-TGS-REP.hex')).ticket.encPart));
    expect(pac.length).toBe(144);
    const srv = '82eefbe557c2c52deefca80d';
    const kdc = 'd21e5043e987347447d309ea';
    expect(toHex(aes256.checksum(pop.keyvalue, 17, zeroed(pac, [srv, kdc])))).toBe(srv);
    expect(toHex(aes256.checksum(krbtgt.keyvalue, 17, hex(srv)))).toBe(kdc);
  });
});
