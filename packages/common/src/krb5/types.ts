/**
 * RFC 4120 §5 types as TypeScript values. The codecs (one file per message,
 * in this folder) encode and decode exactly these shapes.
 *
 * Conventions, shared by the whole suite:
 * - field names are the RFC's ASN.1 names in camelCase (`enc-part` → `encPart`);
 * - KerberosTime is a `Date` with whole seconds; microseconds travel in their
 *   own fields (cusec, susec, pausec);
 * - KerberosFlags (KDCOptions, TicketFlags, APOptions) are uint32 numbers where
 *   RFC bit n is `2 ** (31 - n)` (bit 0 is the most significant), as they sit
 *   in the 32-bit BIT STRING on the wire;
 * - OCTET STRINGs are Uint8Array; GeneralString / KerberosString are JS strings
 *   (UTF-8 on the wire);
 * - OPTIONAL fields are optional properties, `undefined` when absent.
 */

export type Realm = string;
export type KerberosTime = Date;

/** RFC 4120 §5.2.2 */
export interface PrincipalName {
  nameType: number;
  nameString: string[];
}

/** A principal with its realm: what ccaches, keytabs and the KDC database name. */
export interface Principal {
  realm: Realm;
  name: PrincipalName;
}

/** RFC 4120 §5.2.5 */
export interface HostAddress {
  addrType: number;
  address: Uint8Array;
}
export type HostAddresses = HostAddress[];

/** RFC 4120 §5.2.6 */
export interface AuthorizationDataEntry {
  adType: number;
  adData: Uint8Array;
}
export type AuthorizationData = AuthorizationDataEntry[];

/** RFC 4120 §5.2.7 */
export interface PaData {
  padataType: number;
  padataValue: Uint8Array;
}
export type MethodData = PaData[];

/** RFC 4120 §5.9.1 TYPED-DATA */
export interface TypedDataEntry {
  dataType: number;
  dataValue?: Uint8Array;
}
export type TypedData = TypedDataEntry[];

/** RFC 4120 §5.2.9 */
export interface EncryptedData {
  etype: number;
  kvno?: number;
  cipher: Uint8Array;
}

/** RFC 4120 §5.2.9 */
export interface EncryptionKey {
  keytype: number;
  keyvalue: Uint8Array;
}

/** RFC 4120 §5.2.9 */
export interface Checksum {
  cksumtype: number;
  checksum: Uint8Array;
}

/** RFC 4120 §5.3 Ticket ::= [APPLICATION 1] */
export interface Ticket {
  tktVno: number;
  realm: Realm;
  sname: PrincipalName;
  encPart: EncryptedData;
}

/** RFC 4120 §5.3 */
export interface TransitedEncoding {
  trType: number;
  contents: Uint8Array;
}

/** RFC 4120 §5.3 EncTicketPart ::= [APPLICATION 3] */
export interface EncTicketPart {
  flags: number;
  key: EncryptionKey;
  crealm: Realm;
  cname: PrincipalName;
  transited: TransitedEncoding;
  authtime: KerberosTime;
  starttime?: KerberosTime;
  endtime: KerberosTime;
  renewTill?: KerberosTime;
  caddr?: HostAddresses;
  authorizationData?: AuthorizationData;
}

/** RFC 4120 §5.4.1 */
export interface KdcReqBody {
  kdcOptions: number;
  cname?: PrincipalName;
  realm: Realm;
  sname?: PrincipalName;
  from?: KerberosTime;
  till: KerberosTime;
  rtime?: KerberosTime;
  nonce: number;
  etype: number[];
  addresses?: HostAddresses;
  encAuthorizationData?: EncryptedData;
  additionalTickets?: Ticket[];
}

/** RFC 4120 §5.4.1 AS-REQ ::= [APPLICATION 10], TGS-REQ ::= [APPLICATION 12] */
export interface KdcReq {
  pvno: number;
  msgType: 10 | 12;
  padata?: PaData[];
  reqBody: KdcReqBody;
  /**
   * Set by the decoder: the DER bytes of req-body exactly as received. The
   * TGS authenticator checksum covers these bytes (RFC 4120 §5.5.1).
   */
  reqBodyBytes?: Uint8Array;
}
export type AsReq = KdcReq & { msgType: 10 };
export type TgsReq = KdcReq & { msgType: 12 };

/** RFC 4120 §5.4.2 AS-REP ::= [APPLICATION 11], TGS-REP ::= [APPLICATION 13] */
export interface KdcRep {
  pvno: number;
  msgType: 11 | 13;
  padata?: PaData[];
  crealm: Realm;
  cname: PrincipalName;
  ticket: Ticket;
  encPart: EncryptedData;
}
export type AsRep = KdcRep & { msgType: 11 };
export type TgsRep = KdcRep & { msgType: 13 };

/** RFC 4120 §5.4.2 */
export interface LastReqEntry {
  lrType: number;
  lrValue: KerberosTime;
}
export type LastReq = LastReqEntry[];

/**
 * RFC 4120 §5.4.2 EncKDCRepPart, sent as EncASRepPart [APPLICATION 25] or
 * EncTGSRepPart [APPLICATION 26]. MIT sends 26 in AS replies too.
 */
export interface EncKdcRepPart {
  key: EncryptionKey;
  lastReq: LastReq;
  nonce: number;
  keyExpiration?: KerberosTime;
  flags: number;
  authtime: KerberosTime;
  starttime?: KerberosTime;
  endtime: KerberosTime;
  renewTill?: KerberosTime;
  srealm: Realm;
  sname: PrincipalName;
  caddr?: HostAddresses;
  /** RFC 6806 §11 encrypted-pa-data [12] */
  encryptedPaData?: PaData[];
}

/** RFC 4120 §5.5.1 AP-REQ ::= [APPLICATION 14] */
export interface ApReq {
  pvno: number;
  msgType: 14;
  apOptions: number;
  ticket: Ticket;
  authenticator: EncryptedData;
}

/** RFC 4120 §5.5.1 Authenticator ::= [APPLICATION 2] */
export interface Authenticator {
  authenticatorVno: number;
  crealm: Realm;
  cname: PrincipalName;
  cksum?: Checksum;
  cusec: number;
  ctime: KerberosTime;
  subkey?: EncryptionKey;
  seqNumber?: number;
  authorizationData?: AuthorizationData;
}

/** RFC 4120 §5.5.2 AP-REP ::= [APPLICATION 15] */
export interface ApRep {
  pvno: number;
  msgType: 15;
  encPart: EncryptedData;
}

/** RFC 4120 §5.5.2 EncAPRepPart ::= [APPLICATION 27] */
export interface EncApRepPart {
  ctime: KerberosTime;
  cusec: number;
  subkey?: EncryptionKey;
  seqNumber?: number;
}

/** RFC 4120 §5.6.1 KRB-SAFE ::= [APPLICATION 20] */
export interface KrbSafeBody {
  userData: Uint8Array;
  timestamp?: KerberosTime;
  usec?: number;
  seqNumber?: number;
  sAddress: HostAddress;
  rAddress?: HostAddress;
}
export interface KrbSafe {
  pvno: number;
  msgType: 20;
  safeBody: KrbSafeBody;
  cksum: Checksum;
}

/** RFC 4120 §5.7.1 KRB-PRIV ::= [APPLICATION 21] */
export interface KrbPriv {
  pvno: number;
  msgType: 21;
  encPart: EncryptedData;
}
/** EncKrbPrivPart ::= [APPLICATION 28] */
export interface EncKrbPrivPart {
  userData: Uint8Array;
  timestamp?: KerberosTime;
  usec?: number;
  seqNumber?: number;
  sAddress: HostAddress;
  rAddress?: HostAddress;
}

/** RFC 4120 §5.8.1 KRB-CRED ::= [APPLICATION 22] */
export interface KrbCred {
  pvno: number;
  msgType: 22;
  tickets: Ticket[];
  encPart: EncryptedData;
}
/** KrbCredInfo */
export interface KrbCredInfo {
  key: EncryptionKey;
  prealm?: Realm;
  pname?: PrincipalName;
  flags?: number;
  authtime?: KerberosTime;
  starttime?: KerberosTime;
  endtime?: KerberosTime;
  renewTill?: KerberosTime;
  srealm?: Realm;
  sname?: PrincipalName;
  caddr?: HostAddresses;
}
/** EncKrbCredPart ::= [APPLICATION 29] */
export interface EncKrbCredPart {
  ticketInfo: KrbCredInfo[];
  nonce?: number;
  timestamp?: KerberosTime;
  usec?: number;
  sAddress?: HostAddress;
  rAddress?: HostAddress;
}

/** RFC 4120 §5.9.1 KRB-ERROR ::= [APPLICATION 30] */
export interface KrbErrorMessage {
  pvno: number;
  msgType: 30;
  ctime?: KerberosTime;
  cusec?: number;
  stime: KerberosTime;
  susec: number;
  errorCode: number;
  crealm?: Realm;
  cname?: PrincipalName;
  realm: Realm;
  sname: PrincipalName;
  eText?: string;
  eData?: Uint8Array;
}

/** RFC 4120 §5.2.7.2 PA-ENC-TS-ENC */
export interface PaEncTsEnc {
  patimestamp: KerberosTime;
  pausec?: number;
}

/** RFC 4120 §5.2.7.5 ETYPE-INFO2-ENTRY */
export interface EtypeInfo2Entry {
  etype: number;
  salt?: string;
  s2kparams?: Uint8Array;
}
export type EtypeInfo2 = EtypeInfo2Entry[];

/** RFC 4120 §5.2.7.4 ETYPE-INFO-ENTRY (the salt is an OCTET STRING here) */
export interface EtypeInfoEntry {
  etype: number;
  salt?: Uint8Array;
}

/** MS-KILE §2.2.3 KERB-PA-PAC-REQUEST, sent by MIT's kinit as padata 128. */
export interface PaPacRequest {
  includePac: boolean;
}

/** Every message decodeMessage() can return, told apart by msgType. */
export type KrbMessage = KdcReq | KdcRep | ApReq | ApRep | KrbSafe | KrbPriv | KrbCred | KrbErrorMessage;
