/**
 * Password quality and the words of a refusal, as MIT's kadm5 library
 * (server_misc.c passwd_check) and kadmind (chpass_util_strings.et) say them.
 * Pure functions over a policy and a principal.
 */
import { KdcDbError } from './errors.js';
import type { PasswordPolicy } from './policy.js';
import type { PrincipalRecord } from './types.js';

/**
 * Why a new password is refused: the kadm5 error (kadmin's words, e.g.
 * "Password is too short") and the longer text kadmind's kpasswd service
 * sends (chpass_util.c's, e.g. "New password is too short.\nPlease choose …").
 */
export type PolicyRefusalKind = 'TOOSHORT' | 'CLASS' | 'DICT' | 'REUSE' | 'TOOSOON';

export class PolicyRefusal extends KdcDbError {
  constructor(
    readonly kind: PolicyRefusalKind,
    message: string,
    /** What MIT's kpasswd service answers (result code 4, KRB5_KPASSWD_SOFTERROR). */
    readonly serviceText: string,
  ) {
    super('BAD_ARGUMENT', message);
    this.name = 'PolicyRefusal';
  }
}

/** kadm5_err.et's texts. */
const KADM5_TEXT: Record<PolicyRefusalKind, string> = {
  TOOSHORT: 'Password is too short',
  CLASS: 'Password does not contain enough character classes',
  DICT: 'Password is in the password dictionary',
  REUSE: 'Cannot reuse password',
  TOOSOON: "Current password's minimum life has not expired",
};

/** ctime(3) without the newline, in UTC ("Sat Dec  5 00:37:54 2026"), as chpass_util.c prints the date. */
function ctime(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export function refusal(kind: PolicyRefusalKind, p: PasswordPolicy, until?: Date): PolicyRefusal {
  // MIT's chpass_util_strings.et, word for word (MIT's kpasswd prints them after "Password change rejected: ").
  const service: Record<PolicyRefusalKind, string> = {
    TOOSHORT: `New password is too short.\nPlease choose a password which is at least ${p.minLength} characters long.`,
    CLASS:
      'New password does not have enough character classes.\nThe character classes are:\n\t- lower-case letters,\n\t- upper-case letters,\n\t- digits,\n\t- punctuation, and\n\t- all other characters (e.g., control characters).\n' +
      `Please choose a password with at least ${p.minClasses} character classes.`,
    DICT: 'New password was found in a dictionary of possible passwords and\ntherefore may be easily guessed. Please choose another password.\nSee the kpasswd man page for help in choosing a good password.',
    REUSE: 'New password was used previously. Please choose a different password.',
    TOOSOON: `Password cannot be changed because it was changed too recently.\nPlease wait until ${ctime(until ?? new Date(0))} before you change it.\nIf you need to change your password before then, contact your system\nsecurity administrator.`,
  };
  return new PolicyRefusal(kind, KADM5_TEXT[kind], service[kind]);
}

/** The character classes of server_misc.c: lower, upper, digit, punctuation, anything else. */
export function characterClasses(password: string): number {
  let lower = 0, upper = 0, digit = 0, punct = 0, other = 0;
  for (const c of password) {
    if (/^[a-z]$/.test(c)) lower = 1;
    else if (/^[A-Z]$/.test(c)) upper = 1;
    else if (/^[0-9]$/.test(c)) digit = 1;
    else if (/^[!-/:-@[-`{-~]$/.test(c)) punct = 1;
    else other = 1;
  }
  return lower + upper + digit + punct + other;
}

/**
 * passwd_check(): length (in bytes, as strlen counts), classes, and the
 * "dictionary" MIT always has: the realm and each name component, case
 * ignored. Throws the refusal; returns when the password passes.
 */
export function checkPasswordQuality(password: string, p: PasswordPolicy, r: Pick<PrincipalRecord, 'principal'>): void {
  if (Buffer.byteLength(password, 'utf8') < p.minLength) throw refusal('TOOSHORT', p);
  if (characterClasses(password) < p.minClasses) throw refusal('CLASS', p);
  const lower = password.toLowerCase();
  if ([r.principal.realm, ...r.principal.name.nameString].some((w) => w.toLowerCase() === lower)) throw refusal('DICT', p);
}

