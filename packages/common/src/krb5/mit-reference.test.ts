// MIT krb5's own ASN.1 reference encodings (src/tests/asn.1/reference_encode.out,
// for the sample values of ktest.c): outside bytes for the types the captures
// lack (AP-REP, KRB-SAFE, KRB-PRIV, KRB-CRED, their encrypted parts, every
// OPTIONAL field). Each decodes to MIT's sample values and re-encodes to the
// identical bytes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from './index.js';

const vectors = new Map(
  readFileSync(new URL('./testdata/mit-reference-encode.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('encode_krb5_'))
    .map((l) => {
      const i = l.indexOf(': ');
      return [l.slice('encode_krb5_'.length, i), new Uint8Array(Buffer.from(l.slice(i + 2).replace(/ /g, ''), 'hex'))] as const;
    }),
);

/* eslint-disable @typescript-eslint/no-explicit-any */
const codecs: Record<string, [(b: Uint8Array) => any, (v: any) => Uint8Array]> = {
  authenticator: [k.decodeAuthenticator, k.encodeAuthenticator],
  ticket: [k.decodeTicket, k.encodeTicket],
  keyblock: [k.decodeEncryptionKey, k.encodeEncryptionKey],
  enc_tkt_part: [k.decodeEncTicketPart, k.encodeEncTicketPart],
  enc_kdc_rep_part: [k.decodeEncKdcRepPart, k.encodeEncTgsRepPart],
  as_rep: [k.decodeAsRep, k.encodeAsRep],
  tgs_rep: [k.decodeTgsRep, k.encodeTgsRep],
  ap_req: [k.decodeApReq, k.encodeApReq],
  ap_rep: [k.decodeApRep, k.encodeApRep],
  ap_rep_enc_part: [k.decodeEncApRepPart, k.encodeEncApRepPart],
  as_req: [k.decodeAsReq, k.encodeAsReq],
  tgs_req: [k.decodeTgsReq, k.encodeTgsReq],
  safe: [k.decodeKrbSafe, k.encodeKrbSafe],
  priv: [k.decodeKrbPriv, k.encodeKrbPriv],
  enc_priv_part: [k.decodeEncKrbPrivPart, k.encodeEncKrbPrivPart],
  cred: [k.decodeKrbCred, k.encodeKrbCred],
  enc_cred_part: [k.decodeEncKrbCredPart, k.encodeEncKrbCredPart],
  error: [k.decodeKrbErrorMessage, k.encodeKrbErrorMessage],
  authorization_data: [k.decodeAuthorizationData, k.encodeAuthorizationData],
  padata_sequence: [k.decodeMethodData, k.encodeMethodData],
  etype_info: [k.decodeEtypeInfo, k.encodeEtypeInfo],
  etype_info2: [k.decodeEtypeInfo2, k.encodeEtypeInfo2],
  pa_enc_ts: [k.decodePaEncTsEnc, k.encodePaEncTsEnc],
  enc_data: [k.decodeEncryptedData, k.encodeEncryptedData],
};
const codecFor = (name: string) => codecs[name.replace(/ ?\(.*\)$/, '')]!;
const decoded = (name: string) => {
  const v = vectors.get(name);
  if (!v) throw new Error(`no vector ${name}`);
  return codecFor(name)[0](v);
};

// ktest.c's sample values.
const realm = 'ATHENA.MIT.EDU';
const principal = { nameType: 1, nameString: ['hftsai', 'extra'] };
const time = new Date('1994-06-10T06:03:17Z');
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const keyblock = { keytype: 1, keyvalue: bytes('12345678') };
const encData = { etype: 0, kvno: 5, cipher: bytes('krbASN.1 test message') };
const ticket = { tktVno: 5, realm, sname: principal, encPart: encData };
const address = { addrType: 2, address: new Uint8Array([0x12, 0xd0, 0x00, 0x23]) };
const authdata = [
  { adType: 1, adData: bytes('foobar') },
  { adType: 1, adData: bytes('foobar') },
];

describe('MIT reference encodings', () => {
  it('has every vector', () => expect(vectors.size).toBe(33));
  for (const [name, v] of vectors) {
    it(`${name} decodes and re-encodes to the identical bytes`, () => {
      const [decode, encode] = codecFor(name);
      expect(Buffer.from(encode(decode(v))).toString('hex')).toBe(Buffer.from(v).toString('hex'));
    });
  }

  it('Authenticator, with every OPTIONAL field and with none', () => {
    expect(decoded('authenticator')).toEqual({
      authenticatorVno: 5,
      crealm: realm,
      cname: principal,
      cksum: { cksumtype: 1, checksum: bytes('1234') },
      cusec: 123456,
      ctime: time,
      subkey: keyblock,
      seqNumber: 17,
      authorizationData: authdata,
    });
    expect(decoded('authenticator(optionals empty)')).toEqual({ authenticatorVno: 5, crealm: realm, cname: principal, cusec: 123456, ctime: time });
  });

  it('EncTicketPart and EncKDCRepPart', () => {
    expect(decoded('enc_tkt_part')).toEqual({
      flags: 0xfedcba98,
      key: keyblock,
      crealm: realm,
      cname: principal,
      transited: { trType: 1, contents: bytes('EDU,MIT.,ATHENA.,WASHINGTON.EDU,CS.') },
      authtime: time,
      starttime: time,
      endtime: time,
      renewTill: time,
      caddr: [address, address],
      authorizationData: authdata,
    });
    expect(decoded('enc_kdc_rep_part')).toMatchObject({
      key: keyblock,
      lastReq: [
        { lrType: -5, lrValue: time },
        { lrType: -5, lrValue: time },
      ],
      nonce: 42,
      keyExpiration: time,
      flags: 0xfedcba98,
      srealm: realm,
      sname: principal,
      caddr: [address, address],
    });
    expect(decoded('enc_kdc_rep_part(optionals NULL)').flags).toBe(0xfe5cba98);
  });

  it('AS-REQ with every KDC-REQ-BODY field', () => {
    const m = decoded('as_req');
    expect(m.padata).toEqual([
      { padataType: 13, padataValue: bytes('pa-data') },
      { padataType: 13, padataValue: bytes('pa-data') },
    ]);
    expect(m.reqBody).toEqual({
      kdcOptions: 0xfedcba90,
      cname: principal,
      realm,
      sname: principal,
      from: time,
      till: time,
      rtime: time,
      nonce: 42,
      etype: [0, 1],
      addresses: [address, address],
      encAuthorizationData: encData,
      additionalTickets: [ticket, ticket],
    });
    expect(k.decodeMessage(vectors.get('as_req')!).msgType).toBe(10);
  });

  it('AP-REQ, AP-REP and EncAPRepPart', () => {
    expect(decoded('ap_req')).toEqual({ pvno: 5, msgType: 14, apOptions: 0xfedcba98, ticket, authenticator: encData });
    expect(decoded('ap_rep')).toEqual({ pvno: 5, msgType: 15, encPart: encData });
    expect(decoded('ap_rep_enc_part')).toEqual({ ctime: time, cusec: 123456, subkey: keyblock, seqNumber: 17 });
    expect(k.decodeMessage(vectors.get('ap_rep')!).msgType).toBe(15);
  });

  it('KRB-SAFE, KRB-PRIV and EncKrbPrivPart', () => {
    const safeBody = { userData: bytes('krb5data'), timestamp: time, usec: 123456, seqNumber: 17, sAddress: address, rAddress: address };
    expect(decoded('safe')).toEqual({ pvno: 5, msgType: 20, safeBody, cksum: { cksumtype: 1, checksum: bytes('1234') } });
    expect(decoded('safe(optionals NULL)').safeBody).toEqual({ userData: bytes('krb5data'), sAddress: address });
    expect(decoded('priv')).toEqual({ pvno: 5, msgType: 21, encPart: encData });
    expect(decoded('enc_priv_part')).toEqual(safeBody);
    expect(k.decodeMessage(vectors.get('safe')!).msgType).toBe(20);
    expect(k.decodeMessage(vectors.get('priv')!).msgType).toBe(21);
  });

  it('KRB-CRED and EncKrbCredPart', () => {
    expect(decoded('cred')).toEqual({ pvno: 5, msgType: 22, tickets: [ticket, ticket], encPart: encData });
    const part = decoded('enc_cred_part(optionals NULL)');
    expect(part.ticketInfo).toHaveLength(2);
    expect(part.ticketInfo[0]).toEqual({ key: keyblock });
    expect(part.ticketInfo[1]).toEqual({
      key: keyblock,
      prealm: realm,
      pname: principal,
      flags: 0xfedcba98,
      authtime: time,
      starttime: time,
      endtime: time,
      renewTill: time,
      srealm: realm,
      sname: principal,
      caddr: [address, address],
    });
    expect(k.decodeMessage(vectors.get('cred')!).msgType).toBe(22);
  });

  it('KRB-ERROR, full and minimal, and as a KrbError', () => {
    const m = decoded('error');
    expect(m).toEqual({
      pvno: 5,
      msgType: 30,
      ctime: time,
      cusec: 123456,
      stime: time,
      susec: 123456,
      errorCode: 60,
      crealm: realm,
      cname: principal,
      realm,
      sname: principal,
      eText: 'krb5data',
      eData: bytes('krb5data'),
    });
    const e = k.krbErrorFromMessage(m);
    expect(e.code).toBe(k.ErrorCode.KRB_ERR_GENERIC);
    const back = k.krbErrorToMessage(e, { realm, sname: principal, stime: time, susec: 123456, crealm: realm, cname: principal, ctime: time, cusec: 123456 });
    expect(Buffer.from(k.encodeKrbErrorMessage(back))).toEqual(Buffer.from(vectors.get('error')!));
    expect(decoded('error(optionals NULL)')).toEqual({ pvno: 5, msgType: 30, cusec: 123456, stime: time, susec: 123456, errorCode: 60, realm, sname: principal });
  });

  it('ETYPE-INFO, ETYPE-INFO2, PA-ENC-TS-ENC', () => {
    expect(decoded('etype_info')).toEqual([{ etype: 0, salt: bytes("Morton's #0") }, { etype: 1 }, { etype: 2, salt: bytes("Morton's #2") }]);
    expect(decoded('etype_info2')).toEqual([
      { etype: 0, salt: "Morton's #0", s2kparams: bytes('s2k: 0') },
      { etype: 1, s2kparams: bytes('s2k: 1') },
      { etype: 2, salt: "Morton's #2", s2kparams: bytes('s2k: 2') },
    ]);
    expect(decoded('pa_enc_ts')).toEqual({ patimestamp: time, pausec: 123456 });
    expect(decoded('pa_enc_ts (no usec)')).toEqual({ patimestamp: time });
    expect(decoded('padata_sequence(empty)')).toEqual([]);
  });
});
