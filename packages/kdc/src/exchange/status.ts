/**
 * Status tokens: one short name per way a request can end, written in the
 * log record and sent as the KRB-ERROR e-text, as MIT's KDC does
 * (krb5/krb5 src/kdc: "NEEDED_PREAUTH", "PREAUTH_FAILED", "CLIENT_NOT_FOUND").
 */
import { ErrorCode, KrbError } from '@kpop/common';

export const Status = {
  ISSUE: 'ISSUE',
  C_PRINCIPAL_UNKNOWN: 'C_PRINCIPAL_UNKNOWN',
  S_PRINCIPAL_UNKNOWN: 'S_PRINCIPAL_UNKNOWN',
  PREAUTH_REQUIRED: 'PREAUTH_REQUIRED',
  PREAUTH_FAILED: 'PREAUTH_FAILED',
  ETYPE_NOSUPP: 'ETYPE_NOSUPP',
  BADOPTION: 'BADOPTION',
  CANNOT_POSTDATE: 'CANNOT_POSTDATE',
  NEVER_VALID: 'NEVER_VALID',
  TKT_EXPIRED: 'TKT_EXPIRED',
  TKT_NYV: 'TKT_NYV',
  SKEW: 'SKEW',
  BAD_INTEGRITY: 'BAD_INTEGRITY',
  MODIFIED: 'MODIFIED',
  BADMATCH: 'BADMATCH',
  BADKEYVER: 'BADKEYVER',
  NOT_US: 'NOT_US',
  INAPP_CKSUM: 'INAPP_CKSUM',
  CLIENT_REVOKED: 'CLIENT_REVOKED',
  KEY_EXPIRED: 'KEY_EXPIRED',
  SERVICE_EXPIRED: 'SERVICE_EXPIRED',
  POLICY: 'POLICY',
  PADATA_NOSUPP: 'PADATA_NOSUPP',
  BAD_PVNO: 'BAD_PVNO',
  RESPONSE_TOO_BIG: 'RESPONSE_TOO_BIG',
  /** A principal not in memory and the database away (PostgreSQL): KDC_ERR_SVC_UNAVAILABLE, on which MIT's clients and ours try the next KDC. */
  DB_UNAVAILABLE: 'DB_UNAVAILABLE',
  GENERIC: 'GENERIC',
} as const;
export type StatusToken = (typeof Status)[keyof typeof Status];

/**
 * MIT's e-text for the paths its clients and admins know (MIT kinit shows
 * e-text in some messages; tshark and logs show it). Other paths send the
 * status token itself.
 */
const mitText: Partial<Record<StatusToken, string>> = {
  C_PRINCIPAL_UNKNOWN: 'CLIENT_NOT_FOUND',
  S_PRINCIPAL_UNKNOWN: 'SERVER_NOT_FOUND',
  PREAUTH_REQUIRED: 'NEEDED_PREAUTH',
  PREAUTH_FAILED: 'PREAUTH_FAILED',
  ETYPE_NOSUPP: 'BAD_ENCRYPTION_TYPE',
};

export function eTextFor(status: StatusToken): string {
  return mitText[status] ?? status;
}

/**
 * A request that ends in a KRB-ERROR. Thrown anywhere in an exchange; the
 * handler turns it into the reply and the log record.
 */
export class KdcFailure extends KrbError {
  readonly status: StatusToken;
  /** Extra detail for the log only (never sent: it may name internal state). */
  readonly detail?: string;

  constructor(code: number, status: StatusToken, opts: { eData?: Uint8Array; detail?: string; cause?: unknown } = {}) {
    // No stack trace: this is an answer, not a bug (the status and detail say
    // where), and capturing one cost more than the rest of a refused request
    // (every first kinit round trip ends in PREAUTH_REQUIRED).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(code, opts.detail ?? status, { eText: eTextFor(status), ...(opts.eData ? { eData: opts.eData } : {}), ...(opts.cause !== undefined ? { cause: opts.cause } : {}) });
    Error.stackTraceLimit = limit;
    this.name = 'KdcFailure';
    this.status = status;
    if (opts.detail !== undefined) this.detail = opts.detail;
  }
}

export function fail(code: number, status: StatusToken, detail?: string, eData?: Uint8Array): never {
  throw new KdcFailure(code, status, { ...(detail !== undefined ? { detail } : {}), ...(eData ? { eData } : {}) });
}

/** Map a KrbError thrown by crypto or codecs to the status token of its code. */
export function statusForCode(code: number): StatusToken {
  switch (code) {
    case ErrorCode.KRB_AP_ERR_BAD_INTEGRITY:
      return Status.BAD_INTEGRITY;
    case ErrorCode.KRB_AP_ERR_MODIFIED:
      return Status.MODIFIED;
    case ErrorCode.KDC_ERR_ETYPE_NOSUPP:
      return Status.ETYPE_NOSUPP;
    case ErrorCode.KRB_AP_ERR_BADKEYVER:
      return Status.BADKEYVER;
    case ErrorCode.KRB_AP_ERR_SKEW:
      return Status.SKEW;
    case ErrorCode.KDC_ERR_SUMTYPE_NOSUPP:
    case ErrorCode.KRB_AP_ERR_INAPP_CKSUM:
      return Status.INAPP_CKSUM;
    default:
      return Status.GENERIC;
  }
}
