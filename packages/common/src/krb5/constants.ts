/**
 * Kerberos constants by their RFC names (IANA "Kerberos Parameters" registries,
 * RFC 4120 §7.5, with later additions from RFC 6113 FAST, RFC 6806, RFC 8009
 * and MIT krb5 1.20 where MIT sends them). Error codes live in errors.ts and
 * name types in principal.ts.
 *
 * Flags (KdcOptions, TicketFlags, ApOptions) are uint32 masks: RFC bit n is
 * 2 ** (31 - n), bit 0 being the most significant bit of the 32-bit BIT STRING
 * (RFC 4120 §5.2.8). Use `>>> 0` after combining them with `|` to stay unsigned.
 */

/** Protocol version number (RFC 4120 §5.1: pvno is always 5). */
export const PVNO = 5;

/** RFC 4120 §7.5.7 message types: the msg-type field and the APPLICATION tag. */
export const MsgType = {
  AS_REQ: 10,
  AS_REP: 11,
  TGS_REQ: 12,
  TGS_REP: 13,
  AP_REQ: 14,
  AP_REP: 15,
  /** RFC 4120 §7.5.7 reserved 16, 17 (KRB_TGT_REQ/REP, user-to-user draft). */
  KRB_SAFE: 20,
  KRB_PRIV: 21,
  KRB_CRED: 22,
  KRB_ERROR: 30,
} as const;

/**
 * APPLICATION tag numbers of every RFC 4120 §5 type that has one: the
 * messages, and the types that only travel encrypted or nested.
 */
export const ApplicationTag = {
  Ticket: 1,
  Authenticator: 2,
  EncTicketPart: 3,
  // Each message's APPLICATION tag is its msg-type (RFC 4120 §5.4.1 and on).
  ...MsgType,
  EncASRepPart: 25,
  EncTGSRepPart: 26,
  EncAPRepPart: 27,
  EncKrbPrivPart: 28,
  EncKrbCredPart: 29,
} as const;

/** RFC 4120 §7.5.2 PA-DATA types, plus RFC 6113/6806/8070 and MIT/MS ones. */
export const PaDataType = {
  PA_TGS_REQ: 1,
  PA_ENC_TIMESTAMP: 2,
  PA_PW_SALT: 3,
  PA_ENC_UNIX_TIME: 5,
  PA_SANDIA_SECUREID: 6,
  PA_SESAME: 7,
  PA_OSF_DCE: 8,
  PA_CYBERSAFE_SECUREID: 9,
  PA_AFS3_SALT: 10,
  PA_ETYPE_INFO: 11,
  PA_SAM_CHALLENGE: 12,
  PA_SAM_RESPONSE: 13,
  PA_PK_AS_REQ_OLD: 14,
  PA_PK_AS_REP_OLD: 15,
  /** RFC 4556 PKINIT */
  PA_PK_AS_REQ: 16,
  PA_PK_AS_REP: 17,
  PA_ETYPE_INFO2: 19,
  /** RFC 6806 §8 (same number as PA-USE-SPECIFIED-KVNO) */
  PA_SVR_REFERRAL_INFO: 20,
  PA_USE_SPECIFIED_KVNO: 20,
  PA_SAM_REDIRECT: 21,
  PA_GET_FROM_TYPED_DATA: 22,
  PA_SAM_ETYPE_INFO: 23,
  PA_REFERRAL: 25,
  PA_SAM_CHALLENGE_2: 30,
  PA_SAM_RESPONSE_2: 31,
  /** MS-KILE §2.2.3 KERB-PA-PAC-REQUEST; MIT kinit sends it when asked. */
  PA_PAC_REQUEST: 128,
  /** MS-SFU S4U2Self */
  PA_FOR_USER: 129,
  PA_S4U_X509_USER: 130,
  PA_AS_CHECKSUM: 132,
  /** RFC 6113 §5.2 */
  PA_FX_COOKIE: 133,
  PA_AUTHENTICATION_SET: 134,
  PA_AUTH_SET_SELECTED: 135,
  PA_FX_FAST: 136,
  PA_FX_ERROR: 137,
  PA_ENCRYPTED_CHALLENGE: 138,
  /** RFC 6560 OTP */
  PA_OTP_CHALLENGE: 141,
  PA_OTP_REQUEST: 142,
  PA_OTP_PIN_CHANGE: 144,
  PA_PKINIT_KX: 147,
  /** RFC 6806 §11 */
  PA_REQ_ENC_PA_REP: 149,
  /** RFC 8070 §4 (MIT 1.20 sends it empty in every AS-REQ) */
  PA_AS_FRESHNESS: 150,
  /** draft-ietf-kitten-krb-spake-preauth */
  PA_SPAKE: 151,
  /** MS-KILE PA-PAC-OPTIONS */
  PA_PAC_OPTIONS: 167,
} as const;

/** RFC 4120 §5.4.1 KDCOptions bits as uint32 masks (bit n = 2 ** (31 - n)). */
export const KdcOptions = {
  RESERVED: 0x80000000, // bit 0
  FORWARDABLE: 0x40000000, // bit 1
  FORWARDED: 0x20000000, // bit 2
  PROXIABLE: 0x10000000, // bit 3
  PROXY: 0x08000000, // bit 4
  ALLOW_POSTDATE: 0x04000000, // bit 5
  POSTDATED: 0x02000000, // bit 6
  RENEWABLE: 0x00800000, // bit 8
  /** bit 11, RFC 4120 §5.4.1 "opt-hardware-auth" */
  OPT_HARDWARE_AUTH: 0x00100000,
  /** bit 14, MS-SFU cname-in-addl-tkt (constrained delegation) */
  CNAME_IN_ADDL_TKT: 0x00020000,
  /** bit 15, RFC 6806 §3 */
  CANONICALIZE: 0x00010000,
  /** bit 16, RFC 6112 §4.3 */
  REQUEST_ANONYMOUS: 0x00008000,
  DISABLE_TRANSITED_CHECK: 0x00000020, // bit 26
  RENEWABLE_OK: 0x00000010, // bit 27
  ENC_TKT_IN_SKEY: 0x00000008, // bit 28
  RENEW: 0x00000002, // bit 30
  VALIDATE: 0x00000001, // bit 31
} as const;

/** RFC 4120 §5.3 TicketFlags bits as uint32 masks. */
export const TicketFlags = {
  RESERVED: 0x80000000, // bit 0
  FORWARDABLE: 0x40000000, // bit 1
  FORWARDED: 0x20000000, // bit 2
  PROXIABLE: 0x10000000, // bit 3
  PROXY: 0x08000000, // bit 4
  MAY_POSTDATE: 0x04000000, // bit 5
  POSTDATED: 0x02000000, // bit 6
  INVALID: 0x01000000, // bit 7
  RENEWABLE: 0x00800000, // bit 8
  INITIAL: 0x00400000, // bit 9
  PRE_AUTHENT: 0x00200000, // bit 10
  HW_AUTHENT: 0x00100000, // bit 11
  TRANSITED_POLICY_CHECKED: 0x00080000, // bit 12
  OK_AS_DELEGATE: 0x00040000, // bit 13
  /** bit 15, RFC 6806 §11: the KDC supports PA-REQ-ENC-PA-REP */
  ENC_PA_REP: 0x00010000,
  /** bit 16, RFC 6112 §4.3 */
  ANONYMOUS: 0x00008000,
} as const;

/** RFC 4120 §5.5.1 APOptions bits as uint32 masks. */
export const ApOptions = {
  RESERVED: 0x80000000, // bit 0
  USE_SESSION_KEY: 0x40000000, // bit 1
  MUTUAL_REQUIRED: 0x20000000, // bit 2
} as const;

/** RFC 4120 §7.5.1 key usage numbers, plus RFC 4121, RFC 6113 and RFC 6806. */
export const KeyUsage = {
  AS_REQ_PA_ENC_TIMESTAMP: 1,
  KDC_REP_TICKET: 2,
  AS_REP_ENCPART: 3,
  TGS_REQ_AD_SESSKEY: 4,
  TGS_REQ_AD_SUBKEY: 5,
  TGS_REQ_AUTH_CKSUM: 6,
  TGS_REQ_AUTH: 7,
  TGS_REP_ENCPART_SESSKEY: 8,
  TGS_REP_ENCPART_SUBKEY: 9,
  AP_REQ_AUTH_CKSUM: 10,
  AP_REQ_AUTH: 11,
  AP_REP_ENCPART: 12,
  KRB_PRIV_ENCPART: 13,
  KRB_CRED_ENCPART: 14,
  KRB_SAFE_CKSUM: 15,
  APP_DATA_ENCRYPT: 16,
  APP_DATA_CKSUM: 17,
  KRB_ERROR_CKSUM: 18,
  AD_KDCISSUED_CKSUM: 19,
  AD_MTE: 20,
  AD_ITE: 21,
  /** RFC 4121 §2 */
  GSS_ACCEPTOR_SEAL: 22,
  GSS_ACCEPTOR_SIGN: 23,
  GSS_INITIATOR_SEAL: 24,
  GSS_INITIATOR_SIGN: 25,
  /** MS-SFU PA-S4U-X509-USER */
  PA_S4U_X509_USER_REQUEST: 26,
  PA_S4U_X509_USER_REPLY: 27,
  /** RFC 6113 §5.4 FAST */
  FAST_REQ_CHKSUM: 50,
  FAST_ENC: 51,
  FAST_REP: 52,
  FAST_FINISHED: 53,
  ENC_CHALLENGE_CLIENT: 54,
  ENC_CHALLENGE_KDC: 55,
  /** RFC 6806 §11: the PA-REQ-ENC-PA-REP checksum over the AS-REQ */
  AS_REQ: 56,
  /** MIT: PAC signatures (krb5_c_make_checksum with usage 17 = APP_DATA_CKSUM) */
  PAC_SIGNATURE: 17,
} as const;

/** RFC 3961 §8 / IANA encryption type numbers. */
export const EncType = {
  NULL: 0,
  DES_CBC_CRC: 1,
  DES_CBC_MD4: 2,
  DES_CBC_MD5: 3,
  DES3_CBC_MD5: 5,
  DES3_CBC_SHA1: 7,
  DES3_CBC_SHA1_KD: 16,
  /** RFC 3962 */
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
  /** RFC 8009 */
  AES128_CTS_HMAC_SHA256_128: 19,
  AES256_CTS_HMAC_SHA384_192: 20,
  /** RFC 4757 */
  ARCFOUR_HMAC: 23,
  ARCFOUR_HMAC_EXP: 24,
  /** RFC 6803 */
  CAMELLIA128_CTS_CMAC: 25,
  CAMELLIA256_CTS_CMAC: 26,
} as const;

/** RFC 3961 §8 / IANA checksum type numbers. */
export const ChecksumType = {
  CRC32: 1,
  RSA_MD4: 2,
  RSA_MD4_DES: 3,
  DES_MAC: 4,
  DES_MAC_K: 5,
  RSA_MD4_DES_K: 6,
  RSA_MD5: 7,
  RSA_MD5_DES: 8,
  RSA_MD5_DES3: 9,
  SHA1: 10,
  HMAC_SHA1_DES3_KD: 12,
  HMAC_SHA1_DES3: 13,
  SHA1_UNKEYED: 14,
  /** RFC 3962 */
  HMAC_SHA1_96_AES128: 15,
  HMAC_SHA1_96_AES256: 16,
  /** RFC 6803 */
  CMAC_CAMELLIA128: 17,
  CMAC_CAMELLIA256: 18,
  /** RFC 8009 */
  HMAC_SHA256_128_AES128: 19,
  HMAC_SHA384_192_AES256: 20,
  /** RFC 4121 §4.1.1: the authenticator checksum of a GSS-API AP-REQ */
  GSSAPI: 0x8003,
  /** RFC 4757 */
  HMAC_MD5_ARCFOUR: -138,
} as const;

/** RFC 4120 §7.5.4 authorization data types, plus later registrations. */
export const AdType = {
  AD_IF_RELEVANT: 1,
  AD_INTENDED_FOR_SERVER: 2,
  AD_INTENDED_FOR_APPLICATION_CLASS: 3,
  AD_KDC_ISSUED: 4,
  AD_AND_OR: 5,
  AD_MANDATORY_TICKET_EXTENSIONS: 6,
  AD_IN_TICKET_EXTENSIONS: 7,
  AD_MANDATORY_FOR_KDC: 8,
  /** RFC 4556 §3.2.2 */
  AD_INITIAL_VERIFIED_CAS: 9,
  OSF_DCE: 64,
  SESAME: 65,
  AD_OSF_DCE_PKI_CERTID: 66,
  /** RFC 7751 §4 */
  AD_AUTHENTICATION_STRENGTH: 70,
  /** RFC 6113 §5.4.1.1 */
  AD_FX_FAST_ARMOR: 71,
  AD_FX_FAST_USED: 72,
  /** RFC 7751 */
  AD_CAMMAC: 96,
  /** RFC 8129 */
  AD_AUTHENTICATION_INDICATOR: 97,
  /** MS-PAC: the Privilege Attribute Certificate MIT 1.20 puts in tickets */
  AD_WIN2K_PAC: 128,
  /** RFC 4537 */
  AD_ETYPE_NEGOTIATION: 129,
  /** MIT's ticket signature (pre-1.20) */
  AD_SIGNTICKET: 512,
} as const;

/** RFC 4120 §7.5.3 host address types. */
export const AddrType = {
  IPV4: 2,
  DIRECTIONAL: 3,
  CHAOSNET: 5,
  XNS: 6,
  ISO: 7,
  DECNET_PHASE_IV: 12,
  APPLETALK_DDP: 16,
  NETBIOS: 20,
  IPV6: 24,
} as const;

/** RFC 4120 §5.4.2 LastReq lr-type values (a negative value: this principal only). */
export const LastReqType = {
  NONE: 0,
  LAST_INITIAL_TGT_REQUEST: 1,
  LAST_INITIAL_REQUEST: 2,
  NEWEST_TGT_ISSUED: 3,
  LAST_RENEWAL: 4,
  LAST_REQUEST: 5,
  /** RFC 4120 §5.4.2: when the password will expire */
  PW_EXPTIME: 6,
  /** RFC 4120 §5.4.2: when the account will expire */
  ACCT_EXPTIME: 7,
} as const;

/** RFC 4120 §7.5.5 transited encoding types. */
export const TrType = {
  DOMAIN_X500_COMPRESS: 1,
} as const;
