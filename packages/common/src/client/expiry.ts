/**
 * Password expiry as MIT's get_in_tkt.c reads it from an AS-REP
 * (warn_pw_expiry): the time comes from a last-req entry of type 6 (password
 * expiration, RFC 4120 §5.4.2 lr-type; negative: this client only) or from
 * key-expiration. A last-req entry means the KDC wants a warning; a bare
 * key-expiration is warned about only within a week. No warning on a ticket
 * for kadmin/changepw (the password is being changed).
 */
import type { EncKdcRepPart, Principal } from '../krb5/types.js';

const LR_PW_EXPTIME = 6;
const WEEK = 7 * 24 * 3600;

/** ctime(3)-like, as MIT's krb5_timestamp_to_string prints with strftime("%c") in the C locale; UTC. */
export function krb5TimestampString(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** The warning line MIT's kinit prints (without newline), or undefined. */
export function passwordExpiryWarning(enc: EncKdcRepPart, now: Date, service?: Principal): string | undefined {
  if (service && service.name.nameString.length === 2 && service.name.nameString[0] === 'kadmin' && service.name.nameString[1] === 'changepw') return undefined;
  const lr = enc.lastReq?.find((e) => Math.abs(e.lrType) === LR_PW_EXPTIME && e.lrValue.getTime() > 0);
  const pwExp = lr?.lrValue ?? enc.keyExpiration;
  if (pwExp === undefined || pwExp.getTime() <= 0) return undefined;
  const delta = Math.floor((pwExp.getTime() - now.getTime()) / 1000);
  if (lr === undefined && delta > WEEK) return undefined;
  const ts = krb5TimestampString(pwExp);
  if (delta < 3600) return `Warning: Your password will expire in less than one hour on ${ts}`;
  if (delta < 2 * 86400) {
    const hours = Math.floor(delta / 3600);
    return `Warning: Your password will expire in ${hours} hour${delta < 7200 ? '' : 's'} on ${ts}`;
  }
  return `Warning: Your password will expire in ${Math.floor(delta / 86400)} days on ${ts}`;
}
