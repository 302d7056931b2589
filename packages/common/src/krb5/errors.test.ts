import { describe, expect, it } from 'vitest';
import { ErrorCode, ErrorText, KrbError, errorCodeName } from './errors.js';

describe('KrbError', () => {
  it('carries the RFC 4120 code, its name and its text', () => {
    const e = new KrbError(ErrorCode.KDC_ERR_PREAUTH_FAILED, undefined, { eText: 'PREAUTH_FAILED' });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(24);
    expect(e.codeName).toBe('KDC_ERR_PREAUTH_FAILED');
    expect(e.rfcText).toBe('Pre-authentication information was invalid');
    expect(e.message).toBe('PREAUTH_FAILED');
  });
  it('names every code it knows, and unknown ones by number', () => {
    for (const [name, code] of Object.entries(ErrorCode)) {
      expect(errorCodeName(code)).toBe(name);
      expect(ErrorText[code]).toBeTypeOf('string');
    }
    expect(errorCodeName(1234)).toBe('KRB5_ERROR_1234');
  });
});
