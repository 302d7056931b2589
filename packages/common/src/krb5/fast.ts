/**
 * RFC 6113 FAST (Flexible Authentication Secure Tunneling) messages: the
 * value of PA-FX-FAST (136) in requests and replies, and what its encrypted
 * parts hold. MIT 1.20 clients armour TGS-REQs with them when the KDC sets
 * PA-FX-FAST in the AS reply's encrypted-pa-data (test/fixtures/mit 05, 06).
 *
 * The ASN.1 types are extensible (`...`); as everywhere in this codec,
 * fields beyond the ones listed are refused rather than dropped.
 */
import { Int32, KerberosFlagsSchema, KerberosTimeSchema, Microseconds, OctetString, UInt32, choice, codec, field, optional, seq, Nonce } from '../der/index.js';
import { ChecksumSchema, EncryptedDataSchema, EncryptionKeySchema, MethodDataSchema, PrincipalNameSchema, RealmSchema } from './basic-types.js';
import { KdcReqBodySchema } from './kdc-req.js';
import type { Checksum, EncryptedData, EncryptionKey, KdcReqBody, KerberosTime, PaData, PrincipalName, Realm } from './types.js';

/** RFC 6113 §5.4.1 armor types. */
export const FastArmorType = {
  /** The armor is an AP-REQ (with the TGT or an anonymous ticket). */
  FX_FAST_ARMOR_AP_REQUEST: 1,
} as const;

/** RFC 6113 §5.4.2 FastOptions bits (KerberosFlags, bit n = 2 ** (31 - n)). */
export const FastOptions = {
  RESERVED: 0x80000000,
  HIDE_CLIENT_NAMES: 0x40000000,
  /** bit 16: options from here on are critical */
  KDC_FOLLOW_REFERRALS: 0x00008000,
} as const;

export interface KrbFastArmor {
  armorType: number;
  armorValue: Uint8Array;
}
export interface KrbFastArmoredReq {
  armor?: KrbFastArmor;
  reqChecksum: Checksum;
  encFastReq: EncryptedData;
}
export interface KrbFastReq {
  fastOptions: number;
  padata: PaData[];
  reqBody: KdcReqBody;
}
export interface KrbFastArmoredRep {
  encFastRep: EncryptedData;
}
export interface KrbFastFinished {
  timestamp: KerberosTime;
  usec: number;
  crealm: Realm;
  cname: PrincipalName;
  ticketChecksum: Checksum;
}
export interface KrbFastResponse {
  padata: PaData[];
  strengthenKey?: EncryptionKey;
  finished?: KrbFastFinished;
  nonce: number;
}
/** PA-FX-FAST-REQUEST: a CHOICE with one alternative. */
export interface PaFxFastRequest {
  armoredData: KrbFastArmoredReq;
}
/** PA-FX-FAST-REPLY: a CHOICE with one alternative. */
export interface PaFxFastReply {
  armoredData: KrbFastArmoredRep;
}

/**
 *   KrbFastArmor ::= SEQUENCE {
 *       armor-type   [0] Int32,
 *       armor-value  [1] OCTET STRING,
 *       ...
 *   }
 */
export const KrbFastArmorSchema = seq('KrbFastArmor', [field('armor-type', 0, Int32), field('armor-value', 1, OctetString)]);

/**
 *   KrbFastArmoredReq ::= SEQUENCE {
 *       armor        [0] KrbFastArmor OPTIONAL,
 *       req-checksum [1] Checksum,
 *       enc-fast-req [2] EncryptedData, -- KrbFastReq --
 *       ...
 *   }
 *   PA-FX-FAST-REQUEST ::= CHOICE {
 *       armored-data [0] KrbFastArmoredReq,
 *       ...
 *   }
 */
export const KrbFastArmoredReqSchema = seq('KrbFastArmoredReq', [
  optional('armor', 0, KrbFastArmorSchema),
  field('req-checksum', 1, ChecksumSchema),
  field('enc-fast-req', 2, EncryptedDataSchema),
]);
export const PaFxFastRequestSchema = choice('PA-FX-FAST-REQUEST', [field('armored-data', 0, KrbFastArmoredReqSchema)]);

/**
 *   KrbFastReq ::= SEQUENCE {
 *       fast-options [0] FastOptions,
 *       padata       [1] SEQUENCE OF PA-DATA,
 *       req-body     [2] KDC-REQ-BODY,
 *       ...
 *   }
 */
export const KrbFastReqSchema = seq('KrbFastReq', [field('fast-options', 0, KerberosFlagsSchema), field('padata', 1, MethodDataSchema), field('req-body', 2, KdcReqBodySchema)]);

/**
 *   KrbFastArmoredRep ::= SEQUENCE {
 *       enc-fast-rep      [0] EncryptedData, -- KrbFastResponse --
 *       ...
 *   }
 *   PA-FX-FAST-REPLY ::= CHOICE {
 *       armored-data [0] KrbFastArmoredRep,
 *       ...
 *   }
 */
export const KrbFastArmoredRepSchema = seq('KrbFastArmoredRep', [field('enc-fast-rep', 0, EncryptedDataSchema)]);
export const PaFxFastReplySchema = choice('PA-FX-FAST-REPLY', [field('armored-data', 0, KrbFastArmoredRepSchema)]);

/**
 *   KrbFastFinished ::= SEQUENCE {
 *       timestamp       [0] KerberosTime,
 *       usec            [1] Microseconds,
 *       crealm          [2] Realm,
 *       cname           [3] PrincipalName,
 *       ticket-checksum [4] Checksum,
 *       ...
 *   }
 */
export const KrbFastFinishedSchema = seq('KrbFastFinished', [
  field('timestamp', 0, KerberosTimeSchema),
  field('usec', 1, Microseconds),
  field('crealm', 2, RealmSchema),
  field('cname', 3, PrincipalNameSchema),
  field('ticket-checksum', 4, ChecksumSchema),
]);

/**
 *   KrbFastResponse ::= SEQUENCE {
 *       padata         [0] SEQUENCE OF PA-DATA,
 *       strengthen-key [1] EncryptionKey OPTIONAL,
 *       finished       [2] KrbFastFinished OPTIONAL,
 *       nonce          [3] UInt32,
 *       ...
 *   }
 */
export const KrbFastResponseSchema = seq('KrbFastResponse', [
  field('padata', 0, MethodDataSchema),
  optional('strengthen-key', 1, EncryptionKeySchema),
  optional('finished', 2, KrbFastFinishedSchema),
  field('nonce', 3, Nonce),
]);

const paFxFastRequest = codec<PaFxFastRequest>(PaFxFastRequestSchema, 'PA-FX-FAST-REQUEST');
export const encodePaFxFastRequest = paFxFastRequest.encode;
export const decodePaFxFastRequest = paFxFastRequest.decode;

const paFxFastReply = codec<PaFxFastReply>(PaFxFastReplySchema, 'PA-FX-FAST-REPLY');
export const encodePaFxFastReply = paFxFastReply.encode;
export const decodePaFxFastReply = paFxFastReply.decode;

const krbFastReq = codec<KrbFastReq>(KrbFastReqSchema, 'KrbFastReq');
export const encodeKrbFastReq = krbFastReq.encode;
export const decodeKrbFastReq = krbFastReq.decode;

const krbFastResponse = codec<KrbFastResponse>(KrbFastResponseSchema, 'KrbFastResponse');
export const encodeKrbFastResponse = krbFastResponse.encode;
export const decodeKrbFastResponse = krbFastResponse.decode;

const krbFastFinished = codec<KrbFastFinished>(KrbFastFinishedSchema, 'KrbFastFinished');
export const encodeKrbFastFinished = krbFastFinished.encode;
export const decodeKrbFastFinished = krbFastFinished.decode;
