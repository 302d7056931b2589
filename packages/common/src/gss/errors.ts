/**
 * GSS-API failures that are not Kerberos protocol errors (those stay
 * KrbError): malformed tokens, bad MICs, wrong direction or sequence. `major`
 * names the RFC 2744 §3.9.1 major status the condition maps to.
 */
export type GssMajor = 'DEFECTIVE_TOKEN' | 'BAD_MECH' | 'BAD_MIC' | 'BAD_SIG' | 'DUPLICATE_TOKEN' | 'OLD_TOKEN' | 'UNSEQ_TOKEN' | 'GAP_TOKEN' | 'FAILURE';

export class GssError extends Error {
  constructor(readonly major: GssMajor, message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'GssError';
  }
}
