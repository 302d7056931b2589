/**
 * RFC 4120 §5.2 building blocks and the small types every message shares,
 * as DER schemas (see der/schema.ts) with their encode/decode functions.
 */
import { Int32, KerberosStringSchema, KerberosTimeSchema, OctetString, UInt32, codec, field, optional, seq, seqOf } from '../der/index.js';
import type {
  AuthorizationData,
  Checksum,
  EncryptedData,
  EncryptionKey,
  HostAddress,
  HostAddresses,
  LastReq,
  MethodData,
  PaData,
  PrincipalName,
  TransitedEncoding,
  TypedData,
} from './types.js';

/** RFC 4120 §5.2.1: Realm ::= KerberosString */
export const RealmSchema = KerberosStringSchema;

/**
 * RFC 4120 §5.2.2
 *
 *   PrincipalName   ::= SEQUENCE {
 *           name-type       [0] Int32,
 *           name-string     [1] SEQUENCE OF KerberosString
 *   }
 */
export const PrincipalNameSchema = seq('PrincipalName', [field('name-type', 0, Int32), field('name-string', 1, seqOf(KerberosStringSchema))]);

/**
 * RFC 4120 §5.2.5
 *
 *   HostAddress     ::= SEQUENCE  {
 *           addr-type       [0] Int32,
 *           address         [1] OCTET STRING
 *   }
 *   HostAddresses   ::= SEQUENCE OF HostAddress
 */
export const HostAddressSchema = seq('HostAddress', [field('addr-type', 0, Int32), field('address', 1, OctetString)]);
export const HostAddressesSchema = seqOf(HostAddressSchema);

/**
 * RFC 4120 §5.2.6
 *
 *   AuthorizationData       ::= SEQUENCE OF SEQUENCE {
 *           ad-type         [0] Int32,
 *           ad-data         [1] OCTET STRING
 *   }
 *
 * RFC 4120 §5.2.6.1: AD-IF-RELEVANT ::= AuthorizationData
 */
export const AuthorizationDataEntrySchema = seq('AuthorizationData', [field('ad-type', 0, Int32), field('ad-data', 1, OctetString)]);
export const AuthorizationDataSchema = seqOf(AuthorizationDataEntrySchema);

/**
 * RFC 4120 §5.2.7
 *
 *   PA-DATA         ::= SEQUENCE {
 *           -- NOTE: first tag is [1], not [0]
 *           padata-type     [1] Int32,
 *           padata-value    [2] OCTET STRING -- might be encoded AP-REQ
 *   }
 *
 * RFC 4120 §5.9.1: METHOD-DATA ::= SEQUENCE OF PA-DATA
 */
export const PaDataSchema = seq('PA-DATA', [field('padata-type', 1, Int32), field('padata-value', 2, OctetString)]);
export const MethodDataSchema = seqOf(PaDataSchema);

/**
 * RFC 4120 §5.9.1
 *
 *   TYPED-DATA      ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE {
 *           data-type       [0] Int32,
 *           data-value      [1] OCTET STRING OPTIONAL
 *   }
 */
export const TypedDataSchema = seqOf(seq('TYPED-DATA', [field('data-type', 0, Int32), optional('data-value', 1, OctetString)]));

/**
 * RFC 4120 §5.2.9
 *
 *   EncryptedData   ::= SEQUENCE {
 *           etype   [0] Int32 -- EncryptionType --,
 *           kvno    [1] UInt32 OPTIONAL,
 *           cipher  [2] OCTET STRING -- ciphertext
 *   }
 */
export const EncryptedDataSchema = seq('EncryptedData', [field('etype', 0, Int32), optional('kvno', 1, UInt32), field('cipher', 2, OctetString)]);

/**
 * RFC 4120 §5.2.9
 *
 *   EncryptionKey   ::= SEQUENCE {
 *           keytype         [0] Int32 -- actually encryption type --,
 *           keyvalue        [1] OCTET STRING
 *   }
 */
export const EncryptionKeySchema = seq('EncryptionKey', [field('keytype', 0, Int32), field('keyvalue', 1, OctetString)]);

/**
 * RFC 4120 §5.2.9
 *
 *   Checksum        ::= SEQUENCE {
 *           cksumtype       [0] Int32,
 *           checksum        [1] OCTET STRING
 *   }
 */
export const ChecksumSchema = seq('Checksum', [field('cksumtype', 0, Int32), field('checksum', 1, OctetString)]);

/**
 * RFC 4120 §5.3
 *
 *   TransitedEncoding       ::= SEQUENCE {
 *           tr-type         [0] Int32 -- must be registered --,
 *           contents        [1] OCTET STRING
 *   }
 */
export const TransitedEncodingSchema = seq('TransitedEncoding', [field('tr-type', 0, Int32), field('contents', 1, OctetString)]);

/**
 * RFC 4120 §5.4.2
 *
 *   LastReq         ::=     SEQUENCE OF SEQUENCE {
 *           lr-type         [0] Int32,
 *           lr-value        [1] KerberosTime
 *   }
 */
export const LastReqSchema = seqOf(seq('LastReq', [field('lr-type', 0, Int32), field('lr-value', 1, KerberosTimeSchema)]));

const principalName = codec<PrincipalName>(PrincipalNameSchema, 'PrincipalName');
export const encodePrincipalName = principalName.encode;
export const decodePrincipalName = principalName.decode;

const hostAddress = codec<HostAddress>(HostAddressSchema, 'HostAddress');
export const encodeHostAddress = hostAddress.encode;
export const decodeHostAddress = hostAddress.decode;

const hostAddresses = codec<HostAddresses>(HostAddressesSchema, 'HostAddresses');
export const encodeHostAddresses = hostAddresses.encode;
export const decodeHostAddresses = hostAddresses.decode;

const authorizationData = codec<AuthorizationData>(AuthorizationDataSchema, 'AuthorizationData');
export const encodeAuthorizationData = authorizationData.encode;
export const decodeAuthorizationData = authorizationData.decode;

const adIfRelevant = codec<AuthorizationData>(AuthorizationDataSchema, 'AD-IF-RELEVANT');
/** The ad-data of an AD-IF-RELEVANT (ad-type 1) element is itself AuthorizationData. */
export const encodeAdIfRelevant = adIfRelevant.encode;
export const decodeAdIfRelevant = adIfRelevant.decode;

const paData = codec<PaData>(PaDataSchema, 'PA-DATA');
export const encodePaData = paData.encode;
export const decodePaData = paData.decode;

const methodData = codec<MethodData>(MethodDataSchema, 'METHOD-DATA');
export const encodeMethodData = methodData.encode;
export const decodeMethodData = methodData.decode;

const typedData = codec<TypedData>(TypedDataSchema, 'TYPED-DATA');
export const encodeTypedData = typedData.encode;
export const decodeTypedData = typedData.decode;

const encryptedData = codec<EncryptedData>(EncryptedDataSchema, 'EncryptedData');
export const encodeEncryptedData = encryptedData.encode;
export const decodeEncryptedData = encryptedData.decode;

const encryptionKey = codec<EncryptionKey>(EncryptionKeySchema, 'EncryptionKey');
export const encodeEncryptionKey = encryptionKey.encode;
export const decodeEncryptionKey = encryptionKey.decode;

const checksum = codec<Checksum>(ChecksumSchema, 'Checksum');
export const encodeChecksum = checksum.encode;
export const decodeChecksum = checksum.decode;

const transitedEncoding = codec<TransitedEncoding>(TransitedEncodingSchema, 'TransitedEncoding');
export const encodeTransitedEncoding = transitedEncoding.encode;
export const decodeTransitedEncoding = transitedEncoding.decode;

const lastReq = codec<LastReq>(LastReqSchema, 'LastReq');
export const encodeLastReq = lastReq.encode;
export const decodeLastReq = lastReq.decode;
