import { KrbError } from '../../krb5/errors.js';

/** The RFC 4120 code of the KrbError f throws: -1 for any other error, undefined when it does not throw. */
export const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof KrbError ? e.code : -1;
  }
  return undefined;
};
