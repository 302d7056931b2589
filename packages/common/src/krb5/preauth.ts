/** RFC 4120 §5.2.7 pre-authentication data types, and MS-KILE's PA-PAC-REQUEST. */
import { Bool, Int32, KerberosStringSchema, KerberosTimeSchema, Microseconds, OctetString, codec, field, optional, seq, seqOf } from '../der/index.js';
import type { EtypeInfo2, EtypeInfoEntry, PaEncTsEnc, PaPacRequest } from './types.js';

/**
 * RFC 4120 §5.2.7.2 (the plaintext of PA-ENC-TIMESTAMP, an EncryptedData
 * under key usage 1)
 *
 *   PA-ENC-TS-ENC           ::= SEQUENCE {
 *           patimestamp     [0] KerberosTime -- client's time --,
 *           pausec          [1] Microseconds OPTIONAL
 *   }
 */
export const PaEncTsEncSchema = seq('PA-ENC-TS-ENC', [field('patimestamp', 0, KerberosTimeSchema), optional('pausec', 1, Microseconds)]);

/**
 * RFC 4120 §5.2.7.5
 *
 *   ETYPE-INFO2-ENTRY       ::= SEQUENCE {
 *           etype           [0] Int32,
 *           salt            [1] KerberosString OPTIONAL,
 *           s2kparams       [2] OCTET STRING OPTIONAL
 *   }
 *   ETYPE-INFO2             ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY
 */
export const EtypeInfo2EntrySchema = seq('ETYPE-INFO2-ENTRY', [field('etype', 0, Int32), optional('salt', 1, KerberosStringSchema), optional('s2kparams', 2, OctetString)]);
export const EtypeInfo2Schema = seqOf(EtypeInfo2EntrySchema);

/**
 * RFC 4120 §5.2.7.4 (older clients; the salt is raw bytes here)
 *
 *   ETYPE-INFO-ENTRY        ::= SEQUENCE {
 *           etype           [0] Int32,
 *           salt            [1] OCTET STRING OPTIONAL
 *   }
 *   ETYPE-INFO              ::= SEQUENCE OF ETYPE-INFO-ENTRY
 */
export const EtypeInfoSchema = seqOf(seq('ETYPE-INFO-ENTRY', [field('etype', 0, Int32), optional('salt', 1, OctetString)]));

/**
 * MS-KILE §2.2.3, sent by MIT kinit (`--request-pac`, `--no-request-pac`)
 *
 *   KERB-PA-PAC-REQUEST ::= SEQUENCE {
 *           include-pac[0] BOOLEAN
 *   }
 */
export const PaPacRequestSchema = seq('KERB-PA-PAC-REQUEST', [field('include-pac', 0, Bool)]);

const paEncTsEnc = codec<PaEncTsEnc>(PaEncTsEncSchema, 'PA-ENC-TS-ENC');
export const encodePaEncTsEnc = paEncTsEnc.encode;
export const decodePaEncTsEnc = paEncTsEnc.decode;

const etypeInfo2 = codec<EtypeInfo2>(EtypeInfo2Schema, 'ETYPE-INFO2');
export const encodeEtypeInfo2 = etypeInfo2.encode;
export const decodeEtypeInfo2 = etypeInfo2.decode;

const etypeInfo = codec<EtypeInfoEntry[]>(EtypeInfoSchema, 'ETYPE-INFO');
export const encodeEtypeInfo = etypeInfo.encode;
export const decodeEtypeInfo = etypeInfo.decode;

const paPacRequest = codec<PaPacRequest>(PaPacRequestSchema, 'KERB-PA-PAC-REQUEST');
export const encodePaPacRequest = paPacRequest.encode;
export const decodePaPacRequest = paPacRequest.decode;
