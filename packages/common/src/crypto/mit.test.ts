/**
 * Interop on genuine MIT krb5 1.20 bytes (test/fixtures/mit, README there):
 * string-to-key, every encrypted part with its key and usage, the checksums,
 * and KRB-FX-CF2 as FAST used it.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { decryptData, getEnctype, krbFxCf2, makeChecksum, stringToKey, verifyChecksum } from './index.js';
import { cipherOfLength, cipherStartingWith, hex, mitMessage, toHex } from './testing/mit-fixtures.js';

const aes256 = getEnctype(18);
const aliceKey = hex('7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a');
const wrongKey = hex('01b950af237256b0caf2913296f267fde7844bd29a2edb001be0d32b8e586780');
const benchKey = hex('0e79bc36888285f25325d9f4ae4967113fe759d1463635d64dc70b88995496ab');
const krbtgtKey = hex('cdc4b86fc9fe9bb4c7492b52adf5c63758aae1a1057ee002a0636a57c148f2e1');
const popKey = hex('38e50ca48425ab5454c4f3a3e6f18f0362576e2600627e4a421136e46ea6d66e');
const tgtSession = hex('699ecb3a9af9416c5c4e3f40afb04bb367bdceacf8163aa72c51723e437b065a');
const subkey = hex('a8cf2f64afa52d76adb4df01419dfa07530406472f3f2477b9d5e86a12d7e157');
const armorKey = hex('208407e0569ea7adc639e68f71836c81a26bd768942badf4083833ed1b57ecb8');
const strengthenKey = hex('f2d4105272a19a793518405d9e9f52091ec12af12139ca427f273ce94258f2a4');
const replyKey = hex('b4316ddd01d1d484fcb82a3b0d914ec6380ccd96dd632146fc597c3d1fe3b0e9');
const popSession = hex('d3d6109819ca7bb974172b00fb0a1e8339b59543c2891f71738e3b2b8b4b255f');

describe('string-to-key against MIT keys (salt LAB.TESTalice, 4096 iterations)', () => {
  it('alice-pw-1 gives the aes256 and aes128 keys MIT stored', () => {
    expect(toHex(getEnctype(18).stringToKey('alice-pw-1', 'LAB.TESTalice'))).toBe(toHex(aliceKey));
    expect(toHex(getEnctype(17).stringToKey('alice-pw-1', 'LAB.TESTalice'))).toBe('9b128cb80cbbd33f80715c981db0ff14');
    expect(stringToKey(18, 'alice-pw-1', 'LAB.TESTalice', hex('00001000')).keyvalue).toEqual(aliceKey);
  });
  it('wrong-pw gives the wrong-password key', () => {
    expect(toHex(aes256.stringToKey('wrong-pw', 'LAB.TESTalice'))).toBe(toHex(wrongKey));
  });
});

describe('PA-ENC-TIMESTAMP (usage 1)', () => {
  it("opens 03's timestamp with alice's key", () => {
    const c = cipherOfLength(mitMessage('03-alice-AS-REQ.hex'), 56);
    expect(toHex(aes256.decrypt(aliceKey, 1, c))).toBe('301aa011180f32303236313132393036313135375aa105020306ca70');
  });
  it("opens 09's timestamp with bench's key", () => {
    const c = cipherOfLength(mitMessage('09-bench-AS-REQ.hex'), 56);
    const p = aes256.decrypt(benchKey, 1, c);
    expect(p.length).toBe(28);
    expect(toHex(p.subarray(0, 2))).toBe('301a');
  });
  it("rejects 13's timestamp with alice's real key (BAD_INTEGRITY), opens it with the wrong-password key", () => {
    const c = cipherOfLength(mitMessage('13-alice-AS-REQ.hex'), 56);
    let err: unknown;
    try {
      aes256.decrypt(aliceKey, 1, c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KrbError);
    expect((err as KrbError).code).toBe(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY);
    expect(toHex(aes256.decrypt(wrongKey, 1, c))).toBe('301aa011180f32303236313132393036313135375aa105020306ca73');
  });
  it('fails integrity with the right key but another usage', () => {
    const c = cipherOfLength(mitMessage('03-alice-AS-REQ.hex'), 56);
    expect(() => aes256.decrypt(aliceKey, 2, c)).toThrow(KrbError);
  });
});

describe('AS-REP 04', () => {
  const msg = mitMessage('04-alice-AS-REP.hex');
  it("enc-part opens with alice's key, usage 3, to an EncTGSRepPart (0x7a) of 230 bytes", () => {
    const p = decryptData({ keytype: 18, keyvalue: aliceKey }, 3, { etype: 18, cipher: cipherOfLength(msg, 258) });
    expect(p.length).toBe(230);
    expect(p[0]).toBe(0x7a);
    // The session key inside is the TGT session key the ccache holds.
    expect(toHex(p)).toContain(toHex(tgtSession));
  });
  it('the TGT opens with the krbtgt key, usage 2, to an EncTicketPart (0x63) of 290 bytes', () => {
    const p = aes256.decrypt(krbtgtKey, 2, cipherOfLength(msg, 318));
    expect(p.length).toBe(290);
    expect(p[0]).toBe(0x63);
    expect(toHex(p)).toContain(toHex(tgtSession));
  });
  it('the PA-REQ-ENC-PA-REP checksum (usage 56) covers all of 03', () => {
    const asReq = mitMessage('03-alice-AS-REQ.hex');
    const key = { keytype: 18, keyvalue: aliceKey };
    expect(toHex(makeChecksum(key, 56, asReq).checksum)).toBe('214548eda22013137cff7522');
    expect(makeChecksum(key, 56, asReq).cksumtype).toBe(16);
    expect(verifyChecksum(key, 56, asReq, { cksumtype: 16, checksum: hex('214548eda22013137cff7522') })).toBe(true);
    expect(verifyChecksum(key, 56, asReq, { cksumtype: 16, checksum: hex('214548eda22013137cff7523') })).toBe(false);
  });
});

describe('AS-REP 10', () => {
  it("enc-part opens with bench's key, usage 3", () => {
    const p = aes256.decrypt(benchKey, 3, cipherOfLength(mitMessage('10-bench-AS-REP.hex'), 258));
    expect(p[0]).toBe(0x7a);
    expect(toHex(p)).toContain('54ad197f738e6e13c1bb44b06d698a6e66f322ee100db57d00837c77e44d134e');
  });
});

describe('TGS-REQ 05', () => {
  const msg = mitMessage('05-alice-TGS-REQ.hex');
  it('the authenticator opens with the TGT session key, usage 7, and carries the subkey', () => {
    const p = aes256.decrypt(tgtSession, 7, cipherOfLength(msg, 139 + 28));
    expect(p[0]).toBe(0x62);
    expect(p.length).toBe(139);
    expect(toHex(p)).toContain(toHex(subkey));
    // Its cksum is the req-body checksum (usage 6).
    expect(toHex(p)).toContain('bab39619a416f712d8469a15');
  });
  it('the authenticator checksum (usage 6) covers the 107-byte outer req-body', () => {
    // The outer KDC-REQ-BODY is the last element of the TGS-REQ: [4] then the SEQUENCE.
    const body = msg.subarray(msg.length - 107);
    expect(body[0]).toBe(0x30);
    expect(toHex(aes256.checksum(tgtSession, 6, body))).toBe('bab39619a416f712d8469a15');
    expect(aes256.verifyChecksum(tgtSession, 6, body, hex('bab39619a416f712d8469a15'))).toBe(true);
    expect(aes256.verifyChecksum(tgtSession, 7, body, hex('bab39619a416f712d8469a15'))).toBe(false);
  });
  it('the armor key is KRB-FX-CF2(subkey, TGT session key, "subkeyarmor", "ticketarmor")', () => {
    const k = krbFxCf2({ keytype: 18, keyvalue: subkey }, { keytype: 18, keyvalue: tgtSession }, 'subkeyarmor', 'ticketarmor');
    expect(k.keytype).toBe(18);
    expect(toHex(k.keyvalue)).toBe(toHex(armorKey));
  });
});

describe('TGS-REP 06', () => {
  const msg = mitMessage('06-alice-TGS-REP.hex');
  it('the strengthened reply key is KRB-FX-CF2(strengthen-key, subkey, "strengthenkey", "replykey")', () => {
    const k = krbFxCf2({ keytype: 18, keyvalue: strengthenKey }, { keytype: 18, keyvalue: subkey }, 'strengthenkey', 'replykey');
    expect(toHex(k.keyvalue)).toBe(toHex(replyKey));
  });
  it('the pop/localhost ticket (kvno 2) opens with the service key, usage 2', () => {
    const c = cipherStartingWith(msg, hex('dbe8fe99a29dd6be9fbd2ee81fe1a57c20fef7d110327a2a4b21e157021c0666'));
    const p = aes256.decrypt(popKey, 2, c);
    expect(p[0]).toBe(0x63);
    expect(toHex(p)).toContain(toHex(popSession));
  });
  it('the enc-part opens with the strengthened reply key, usage 9, and not with the plain subkey', () => {
    const c = cipherStartingWith(msg, hex('e2a03dc19f8a00cf8e771f89209bd3b0b98af664ea59bdcf70f802d6cc0096aa'));
    const p = aes256.decrypt(replyKey, 9, c);
    expect(p[0]).toBe(0x7a);
    expect(toHex(p)).toContain(toHex(popSession));
    expect(() => aes256.decrypt(subkey, 9, c)).toThrow(KrbError);
  });
  it('the FAST reply (usage 52) opens with the armor key and carries the strengthen-key', () => {
    const c = cipherStartingWith(msg, hex('a8b62c08b87d10ec012fb1baf14f2ba8e2b324645bcdea445b2a69d0de90486e'));
    const p = aes256.decrypt(armorKey, 52, c);
    expect(toHex(p)).toContain(toHex(strengthenKey));
    expect(toHex(p)).toContain('de9d9a00b155637ef44ee7f6'); // ticket-checksum of KrbFastFinished
  });
});
