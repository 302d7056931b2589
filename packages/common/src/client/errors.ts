/**
 * Errors of the client library that are not KDC replies. A KDC's KRB-ERROR
 * reaches the caller as a KrbError with its RFC 4120 code; these are MIT's
 * library conditions (com_err names from MIT's krb5_err.et), whose messages
 * MIT's tools print and scripts look for.
 */
export type ClientErrorCode =
  | 'KRB5_KDC_UNREACH'
  | 'KRB5_REALM_UNKNOWN'
  | 'KRB5_CONFIG_NODEFREALM'
  | 'KRB5_KDCREP_MODIFIED'
  | 'KRB5_KDCREP_SKEW'
  | 'KRB5_PREAUTH_FAILED'
  | 'KRB5_KT_NOTFOUND'
  | 'KRB5_FCC_NOFILE'
  | 'KRB5_CC_NOTFOUND'
  | 'KRB5_LIBOS_PWDINTR'
  | 'KRB5_KRB5_ENCTYPE'
  | 'KRB5KRB_AP_ERR_BAD_INTEGRITY'
  | 'KRB5_PROG_ETYPE_NOSUPP'
  | 'KRB5_NO_TKT_SUPPLIED'
  | 'KRB5_BAD_MSIZE'
  | 'KRB5_PARSE_MALFORMED';

export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClientError';
  }
}

/** MIT sendto_kdc.c: every KDC of the realm failed or stayed silent. */
export function kdcUnreachable(realm: string): ClientError {
  return new ClientError('KRB5_KDC_UNREACH', `Cannot contact any KDC for realm '${realm}'`);
}

/** MIT locate_kdc.c: no kdc entry for the realm. */
export function realmUnknown(realm: string): ClientError {
  return new ClientError('KRB5_REALM_UNKNOWN', `Cannot find KDC for realm "${realm}"`);
}
