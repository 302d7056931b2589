// Test support: fast-check arbitraries generated from the DER schemas, and
// the table of every codec with its schema (used by the asn1js oracle and the
// hostile-input properties).
import fc from 'fast-check';
import type { Schema } from '../../der/index.js';
import * as k from '../index.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Random valid values of a schema (strings include non-ASCII, times whole seconds 1900..9999). */
export function arb(s: Schema): fc.Arbitrary<any> {
  switch (s.kind) {
    case 'int':
      return fc.bigInt({ min: BigInt(s.min), max: BigInt(s.max) }).map(Number);
    case 'bool':
      return fc.boolean();
    case 'octets':
      return fc.uint8Array({ maxLength: 40 });
    case 'string':
      return fc.oneof(fc.string({ maxLength: 16 }), fc.string({ unit: 'binary', maxLength: 6 }));
    case 'time':
      return fc
        .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
        .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000));
    case 'flags':
      return fc.bigInt({ min: 0n, max: 0xffffffffn }).map(Number);
    case 'seqOf':
      return fc.array(arb(s.of), { maxLength: 3 });
    case 'seq': {
      const model: Record<string, fc.Arbitrary<any>> = {};
      for (const f of s.fields) model[f.key] = f.equals !== undefined ? fc.constant(f.equals) : arb(f.schema);
      return fc.record(model, { requiredKeys: s.fields.filter((f) => !f.optional).map((f) => f.key) });
    }
    case 'choice':
      return fc.oneof(...s.alternatives.map((f) => arb(f.schema).map((v) => ({ [f.key]: v }))));
  }
}

export const codecTable: Array<[string, Schema, (v: any) => Uint8Array, (b: Uint8Array) => any]> = [
  ['PrincipalName', k.PrincipalNameSchema, k.encodePrincipalName, k.decodePrincipalName],
  ['HostAddresses', k.HostAddressesSchema, k.encodeHostAddresses, k.decodeHostAddresses],
  ['AuthorizationData', k.AuthorizationDataSchema, k.encodeAuthorizationData, k.decodeAuthorizationData],
  ['METHOD-DATA', k.MethodDataSchema, k.encodeMethodData, k.decodeMethodData],
  ['TYPED-DATA', k.TypedDataSchema, k.encodeTypedData, k.decodeTypedData],
  ['EncryptedData', k.EncryptedDataSchema, k.encodeEncryptedData, k.decodeEncryptedData],
  ['EncryptionKey', k.EncryptionKeySchema, k.encodeEncryptionKey, k.decodeEncryptionKey],
  ['Checksum', k.ChecksumSchema, k.encodeChecksum, k.decodeChecksum],
  ['LastReq', k.LastReqSchema, k.encodeLastReq, k.decodeLastReq],
  ['Ticket', k.TicketSchema, k.encodeTicket, k.decodeTicket],
  ['EncTicketPart', k.EncTicketPartSchema, k.encodeEncTicketPart, k.decodeEncTicketPart],
  ['KDC-REQ-BODY', k.KdcReqBodySchema, k.encodeKdcReqBody, k.decodeKdcReqBody],
  ['AS-REQ', k.AsReqSchema, k.encodeAsReq, k.decodeAsReq],
  ['TGS-REQ', k.TgsReqSchema, k.encodeTgsReq, k.decodeTgsReq],
  ['AS-REP', k.AsRepSchema, k.encodeAsRep, k.decodeAsRep],
  ['TGS-REP', k.TgsRepSchema, k.encodeTgsRep, k.decodeTgsRep],
  ['EncASRepPart', k.EncAsRepPartSchema, k.encodeEncAsRepPart, k.decodeEncKdcRepPart],
  ['EncTGSRepPart', k.EncTgsRepPartSchema, k.encodeEncTgsRepPart, k.decodeEncKdcRepPart],
  ['AP-REQ', k.ApReqSchema, k.encodeApReq, k.decodeApReq],
  ['Authenticator', k.AuthenticatorSchema, k.encodeAuthenticator, k.decodeAuthenticator],
  ['AP-REP', k.ApRepSchema, k.encodeApRep, k.decodeApRep],
  ['EncAPRepPart', k.EncApRepPartSchema, k.encodeEncApRepPart, k.decodeEncApRepPart],
  ['KRB-SAFE', k.KrbSafeSchema, k.encodeKrbSafe, k.decodeKrbSafe],
  ['KRB-PRIV', k.KrbPrivSchema, k.encodeKrbPriv, k.decodeKrbPriv],
  ['EncKrbPrivPart', k.EncKrbPrivPartSchema, k.encodeEncKrbPrivPart, k.decodeEncKrbPrivPart],
  ['KRB-CRED', k.KrbCredSchema, k.encodeKrbCred, k.decodeKrbCred],
  ['EncKrbCredPart', k.EncKrbCredPartSchema, k.encodeEncKrbCredPart, k.decodeEncKrbCredPart],
  ['KRB-ERROR', k.KrbErrorSchema, k.encodeKrbErrorMessage, k.decodeKrbErrorMessage],
  ['PA-ENC-TS-ENC', k.PaEncTsEncSchema, k.encodePaEncTsEnc, k.decodePaEncTsEnc],
  ['ETYPE-INFO2', k.EtypeInfo2Schema, k.encodeEtypeInfo2, k.decodeEtypeInfo2],
  ['ETYPE-INFO', k.EtypeInfoSchema, k.encodeEtypeInfo, k.decodeEtypeInfo],
  ['KERB-PA-PAC-REQUEST', k.PaPacRequestSchema, k.encodePaPacRequest, k.decodePaPacRequest],
  ['PA-FX-FAST-REQUEST', k.PaFxFastRequestSchema, k.encodePaFxFastRequest, k.decodePaFxFastRequest],
  ['PA-FX-FAST-REPLY', k.PaFxFastReplySchema, k.encodePaFxFastReply, k.decodePaFxFastReply],
  ['KrbFastReq', k.KrbFastReqSchema, k.encodeKrbFastReq, k.decodeKrbFastReq],
  ['KrbFastResponse', k.KrbFastResponseSchema, k.encodeKrbFastResponse, k.decodeKrbFastResponse],
];


/** One byte edit: set, insert or delete at `at` modulo (length + 1) (see applyEdits). */
export type ByteEdit = [at: number, value: number, op: 'set' | 'insert' | 'delete'];

/** 1 to maxEdits random byte edits, for hostile-input properties. */
export function byteEdits(maxEdits: number): fc.Arbitrary<ByteEdit[]> {
  return fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set' as const, 'insert' as const, 'delete' as const)), {
    minLength: 1,
    maxLength: maxEdits,
  });
}

/** bytes with the edits applied in order (a set past the end does nothing). */
export function applyEdits(bytes: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  const b = Array.from(bytes);
  for (const [at, v, op] of edits) {
    const i = at % (b.length + 1);
    if (op === 'set' && i < b.length) b[i] = v;
    else if (op === 'insert') b.splice(i, 0, v);
    else b.splice(i, 1);
  }
  return Uint8Array.from(b);
}
