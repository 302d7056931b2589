/**
 * Making a principal's long-term keys: one per enctype, from a password with
 * the default salt (realm ‖ components, RFC 4120 §4) and each enctype's
 * default string-to-key parameters, or random.
 */
import { defaultSalt, getEnctype, type Principal } from '@kpop/common';
import type { PrincipalKey } from './types.js';

export function passwordKeys(principal: Principal, password: string, kvno: number, enctypes: readonly number[]): PrincipalKey[] {
  const salt = defaultSalt(principal);
  return enctypes.map((etype) => ({ kvno, etype, key: getEnctype(etype).stringToKey(password, salt), salt }));
}

/** Random keys still record the default salt, as MIT does, so PA-ETYPE-INFO2 looks the same. */
export function randomKeys(principal: Principal, kvno: number, enctypes: readonly number[]): PrincipalKey[] {
  const salt = defaultSalt(principal);
  return enctypes.map((etype) => ({ kvno, etype, key: getEnctype(etype).randomKey(), salt }));
}
