// The constants the other areas code against (the contract), and the flag
// convention: RFC bit n is 2 ** (31 - n), as it sits in the 32-bit BIT STRING.
import { describe, expect, it } from 'vitest';
import { type AsReq, ApOptions, ChecksumType, EncType, KdcOptions, KeyUsage, MsgType, PaDataType, TicketFlags, decodeAsReq, encodeAsReq } from './index.js';

const bit = (n: number) => 2 ** (31 - n);

describe('constants', () => {
  it('flags are RFC bits as uint32 masks', () => {
    expect(KdcOptions.FORWARDABLE).toBe(bit(1));
    expect(KdcOptions.CANONICALIZE).toBe(bit(15));
    expect(KdcOptions.RENEWABLE_OK).toBe(bit(27));
    expect(KdcOptions.VALIDATE).toBe(bit(31));
    expect(TicketFlags.PRE_AUTHENT).toBe(bit(10));
    expect(TicketFlags.ENC_PA_REP).toBe(bit(15));
    expect(ApOptions.MUTUAL_REQUIRED).toBe(bit(2));
    // MIT's capture 01 asks for forwardable + renewable-ok: 40000010.
    expect(KdcOptions.FORWARDABLE | KdcOptions.RENEWABLE_OK).toBe(0x40000010);
    // The TGT of capture 04: forwardable, initial, pre-authent, enc-pa-rep.
    expect((TicketFlags.FORWARDABLE | TicketFlags.INITIAL | TicketFlags.PRE_AUTHENT | TicketFlags.ENC_PA_REP) >>> 0).toBe(0x40610000);
  });
  it('a flag word with bit 0 set encodes as the unsigned BIT STRING', () => {
    const m: AsReq = {
      pvno: 5,
      msgType: MsgType.AS_REQ,
      reqBody: { kdcOptions: KdcOptions.RESERVED | KdcOptions.VALIDATE, realm: 'R', till: new Date(0), nonce: 1, etype: [EncType.AES256_CTS_HMAC_SHA1_96] },
    };
    expect(decodeAsReq(encodeAsReq(m)).reqBody.kdcOptions).toBe(0x80000001);
  });
  it('numbers match RFC 4120 and the IANA registries', () => {
    expect([MsgType.AS_REQ, MsgType.AS_REP, MsgType.TGS_REQ, MsgType.TGS_REP, MsgType.AP_REQ, MsgType.AP_REP, MsgType.KRB_SAFE, MsgType.KRB_PRIV, MsgType.KRB_CRED, MsgType.KRB_ERROR]).toEqual([
      10, 11, 12, 13, 14, 15, 20, 21, 22, 30,
    ]);
    expect([PaDataType.PA_TGS_REQ, PaDataType.PA_ENC_TIMESTAMP, PaDataType.PA_PW_SALT, PaDataType.PA_ETYPE_INFO, PaDataType.PA_ETYPE_INFO2]).toEqual([1, 2, 3, 11, 19]);
    expect([PaDataType.PA_PAC_REQUEST, PaDataType.PA_FX_COOKIE, PaDataType.PA_FX_FAST, PaDataType.PA_FX_ERROR, PaDataType.PA_ENCRYPTED_CHALLENGE, PaDataType.PA_REQ_ENC_PA_REP]).toEqual([
      128, 133, 136, 137, 138, 149,
    ]);
    expect([KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, KeyUsage.KDC_REP_TICKET, KeyUsage.AS_REP_ENCPART, KeyUsage.TGS_REQ_AUTH, KeyUsage.AP_REQ_AUTH, KeyUsage.KRB_SAFE_CKSUM, KeyUsage.GSS_INITIATOR_SIGN]).toEqual([
      1, 2, 3, 7, 11, 15, 25,
    ]);
    expect([EncType.AES128_CTS_HMAC_SHA1_96, EncType.AES256_CTS_HMAC_SHA1_96, EncType.AES128_CTS_HMAC_SHA256_128, EncType.AES256_CTS_HMAC_SHA384_192]).toEqual([17, 18, 19, 20]);
    expect([ChecksumType.HMAC_SHA1_96_AES128, ChecksumType.HMAC_SHA1_96_AES256, ChecksumType.HMAC_SHA256_128_AES128, ChecksumType.HMAC_SHA384_192_AES256, ChecksumType.GSSAPI]).toEqual([
      15, 16, 19, 20, 0x8003,
    ]);
  });
});
