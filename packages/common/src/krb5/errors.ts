/**
 * RFC 4120 §7.5.9 error codes, with the RFC's own text, and the KrbError
 * class that carries one through the code base. A KrbError converts to and
 * from the KRB-ERROR message (see krb-error.ts for the wire form).
 */

export const ErrorCode = {
  KDC_ERR_NONE: 0,
  KDC_ERR_NAME_EXP: 1,
  KDC_ERR_SERVICE_EXP: 2,
  KDC_ERR_BAD_PVNO: 3,
  KDC_ERR_C_OLD_MAST_KVNO: 4,
  KDC_ERR_S_OLD_MAST_KVNO: 5,
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: 7,
  KDC_ERR_PRINCIPAL_NOT_UNIQUE: 8,
  KDC_ERR_NULL_KEY: 9,
  KDC_ERR_CANNOT_POSTDATE: 10,
  KDC_ERR_NEVER_VALID: 11,
  KDC_ERR_POLICY: 12,
  KDC_ERR_BADOPTION: 13,
  KDC_ERR_ETYPE_NOSUPP: 14,
  KDC_ERR_SUMTYPE_NOSUPP: 15,
  KDC_ERR_PADATA_TYPE_NOSUPP: 16,
  KDC_ERR_TRTYPE_NOSUPP: 17,
  KDC_ERR_CLIENT_REVOKED: 18,
  KDC_ERR_SERVICE_REVOKED: 19,
  KDC_ERR_TGT_REVOKED: 20,
  KDC_ERR_CLIENT_NOTYET: 21,
  KDC_ERR_SERVICE_NOTYET: 22,
  KDC_ERR_KEY_EXPIRED: 23,
  KDC_ERR_PREAUTH_FAILED: 24,
  KDC_ERR_PREAUTH_REQUIRED: 25,
  KDC_ERR_SERVER_NOMATCH: 26,
  KDC_ERR_MUST_USE_USER2USER: 27,
  KDC_ERR_PATH_NOT_ACCEPTED: 28,
  KDC_ERR_SVC_UNAVAILABLE: 29,
  KRB_AP_ERR_BAD_INTEGRITY: 31,
  KRB_AP_ERR_TKT_EXPIRED: 32,
  KRB_AP_ERR_TKT_NYV: 33,
  KRB_AP_ERR_REPEAT: 34,
  KRB_AP_ERR_NOT_US: 35,
  KRB_AP_ERR_BADMATCH: 36,
  KRB_AP_ERR_SKEW: 37,
  KRB_AP_ERR_BADADDR: 38,
  KRB_AP_ERR_BADVERSION: 39,
  KRB_AP_ERR_MSG_TYPE: 40,
  KRB_AP_ERR_MODIFIED: 41,
  KRB_AP_ERR_BADORDER: 42,
  KRB_AP_ERR_BADKEYVER: 44,
  KRB_AP_ERR_NOKEY: 45,
  KRB_AP_ERR_MUT_FAIL: 46,
  KRB_AP_ERR_BADDIRECTION: 47,
  KRB_AP_ERR_METHOD: 48,
  KRB_AP_ERR_BADSEQ: 49,
  KRB_AP_ERR_INAPP_CKSUM: 50,
  KRB_AP_PATH_NOT_ACCEPTED: 51,
  KRB_ERR_RESPONSE_TOO_BIG: 52,
  KRB_ERR_GENERIC: 60,
  KRB_ERR_FIELD_TOOLONG: 61,
  KDC_ERROR_CLIENT_NOT_TRUSTED: 62,
  KDC_ERROR_KDC_NOT_TRUSTED: 63,
  KDC_ERROR_INVALID_SIG: 64,
  KDC_ERR_KEY_TOO_WEAK: 65,
  KDC_ERR_CERTIFICATE_MISMATCH: 66,
  KRB_AP_ERR_NO_TGT: 67,
  KDC_ERR_WRONG_REALM: 68,
  KRB_AP_ERR_USER_TO_USER_REQUIRED: 69,
  KDC_ERR_CANT_VERIFY_CERTIFICATE: 70,
  KDC_ERR_INVALID_CERTIFICATE: 71,
  KDC_ERR_REVOKED_CERTIFICATE: 72,
  KDC_ERR_REVOCATION_STATUS_UNKNOWN: 73,
  KDC_ERR_REVOCATION_STATUS_UNAVAILABLE: 74,
  KDC_ERR_CLIENT_NAME_MISMATCH: 75,
  KDC_ERR_KDC_NAME_MISMATCH: 76,
  /** RFC 6113 §5.4.3 */
  KDC_ERR_PREAUTH_EXPIRED: 90,
  KDC_ERR_MORE_PREAUTH_DATA_REQUIRED: 91,
  KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS: 93,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

/** The text RFC 4120 §7.5.9 gives each code. */
export const ErrorText: Readonly<Record<number, string>> = {
  0: 'No error',
  1: "Client's entry in database has expired",
  2: "Server's entry in database has expired",
  3: 'Requested protocol version number not supported',
  4: "Client's key encrypted in old master key",
  5: "Server's key encrypted in old master key",
  6: 'Client not found in Kerberos database',
  7: 'Server not found in Kerberos database',
  8: 'Multiple principal entries in database',
  9: 'The client or server has a null key',
  10: 'Ticket not eligible for postdating',
  11: 'Requested starttime is later than end time',
  12: 'KDC policy rejects request',
  13: 'KDC cannot accommodate requested option',
  14: 'KDC has no support for encryption type',
  15: 'KDC has no support for checksum type',
  16: 'KDC has no support for padata type',
  17: 'KDC has no support for transited type',
  18: "Clients credentials have been revoked",
  19: 'Credentials for server have been revoked',
  20: 'TGT has been revoked',
  21: 'Client not yet valid; try again later',
  22: 'Server not yet valid; try again later',
  23: 'Password has expired; change password to reset',
  24: 'Pre-authentication information was invalid',
  25: 'Additional pre-authentication required',
  26: "Requested server and ticket don't match",
  27: 'Server principal valid for user2user only',
  28: 'KDC Policy rejects transited path',
  29: 'A service is not available',
  31: 'Integrity check on decrypted field failed',
  32: 'Ticket expired',
  33: 'Ticket not yet valid',
  34: 'Request is a replay',
  35: "The ticket isn't for us",
  36: "Ticket and authenticator don't match",
  37: 'Clock skew too great',
  38: 'Incorrect net address',
  39: 'Protocol version mismatch',
  40: 'Invalid msg type',
  41: 'Message stream modified',
  42: 'Message out of order',
  44: 'Specified version of key is not available',
  45: 'Service key not available',
  46: 'Mutual authentication failed',
  47: 'Incorrect message direction',
  48: 'Alternative authentication method required',
  49: 'Incorrect sequence number in message',
  50: 'Inappropriate type of checksum in message',
  51: 'Policy rejects transited path',
  52: 'Response too big for UDP; retry with TCP',
  60: 'Generic error (description in e-text)',
  61: 'Field is too long for this implementation',
  62: 'Client is not trusted',
  63: 'KDC is not trusted',
  64: 'Signature is invalid',
  65: 'Key parameters not accepted',
  66: 'Certificate does not match',
  67: 'No TGT available to validate USER-TO-USER',
  68: 'Wrong realm',
  69: 'Ticket must be for USER-TO-USER',
  70: 'Cannot verify certificate',
  71: 'Invalid certificate',
  72: 'Revoked certificate',
  73: 'Revocation status unknown',
  74: 'Revocation status unavailable',
  75: 'Client name mismatch',
  76: 'KDC name mismatch',
  90: 'Pre-authentication expired',
  91: 'More pre-authentication data is required',
  93: 'Unknown critical FAST option',
};

const nameByCode = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** The symbolic name of an error code, e.g. 24 → KDC_ERR_PREAUTH_FAILED. */
export function errorCodeName(code: number): string {
  return nameByCode.get(code) ?? `KRB5_ERROR_${code}`;
}

export interface KrbErrorOptions {
  /** e-text: free text for the peer (MIT puts its status token here). */
  eText?: string;
  /** e-data: DER bytes, usually METHOD-DATA or TYPED-DATA. */
  eData?: Uint8Array;
  /**
   * The peer's clock (stime + susec) when this error came in a KRB-ERROR:
   * what a client needs to report, or correct, KRB_AP_ERR_SKEW.
   */
  serverTime?: Date;
  cause?: unknown;
}

/**
 * An error carrying an RFC 4120 error code. Thrown by codecs, crypto and the
 * exchanges; the KDC turns it into a KRB-ERROR message, the CLIs into one line.
 */
export class KrbError extends Error {
  readonly code: number;
  readonly eText?: string;
  readonly eData?: Uint8Array;
  readonly serverTime?: Date;

  constructor(code: number, message?: string, options: KrbErrorOptions = {}) {
    super(message ?? options.eText ?? ErrorText[code] ?? errorCodeName(code), options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'KrbError';
    this.code = code;
    if (options.eText !== undefined) this.eText = options.eText;
    if (options.eData !== undefined) this.eData = options.eData;
    if (options.serverTime !== undefined) this.serverTime = options.serverTime;
  }

  /** The symbolic name, e.g. KDC_ERR_PREAUTH_FAILED. */
  get codeName(): string {
    return errorCodeName(this.code);
  }

  /** The RFC's text for the code. */
  get rfcText(): string {
    return ErrorText[this.code] ?? `Unknown error code ${this.code}`;
  }
}
