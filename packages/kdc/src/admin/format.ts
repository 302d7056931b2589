/**
 * Output in the shapes MIT kadmin prints (kadmin/cli/kadmin.c): getprinc's
 * "Field: value" lines, durations as "1 day 00:00:00", dates as
 * "Sun Nov 29 06:11:57 UTC 2026", "[never]" for unset times. Times are shown
 * in UTC so that output does not depend on the machine's zone.
 */
import { enctypeName } from '@kpop/common';
import { attributeNames, isLockedOut, LOCKED_FOREVER, type DbPrincipalRecord, type RealmSettings } from '../db/index.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** kadmin's strdate: "%a %b %d %H:%M:%S %Z %Y". */
export function formatDate(d: Date | undefined): string {
  if (d === undefined) return '[never]';
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** kadmin's strdur: "N day(s) hh:mm:ss" or "hh:mm:ss". */
export function formatDuration(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  let rest = seconds % 86400;
  const h = Math.floor(rest / 3600);
  rest %= 3600;
  const hms = `${p2(h)}:${p2(Math.floor(rest / 60))}:${p2(rest % 60)}`;
  return days > 0 ? `${days} ${days === 1 ? 'day' : 'days'} ${hms}` : hms;
}

export function formatPrincipalRecord(r: DbPrincipalRecord, s: RealmSettings, now: Date = new Date(), policy?: string): string {
  const lines = [
    `Principal: ${r.canonicalName}`,
    `Expiration date: ${formatDate(r.expiresAt)}`,
    `Last password change: ${formatDate(r.lastPwChange)}`,
    `Password expiration date: ${formatDate(r.pwExpiresAt)}`,
    `Maximum ticket life: ${formatDuration(r.maxLife || s.maxLife)}${r.maxLife === 0 ? ' (realm default)' : ''}`,
    `Maximum renewable life: ${formatDuration(r.maxRenew || s.maxRenew)}${r.maxRenew === 0 ? ' (realm default)' : ''}`,
    `Last modified: ${formatDate(r.modifiedAt)}`,
    `Last successful authentication: ${formatDate(r.lastSuccess)}`,
    `Last failed authentication: ${formatDate(r.lastFailure)}`,
    `Failed password attempts: ${r.failCount}`,
  ];
  if (isLockedOut(r, now)) lines.push(`Locked out until: ${r.lockedUntil!.getTime() === LOCKED_FOREVER.getTime() ? 'unlocked by an administrator' : formatDate(r.lockedUntil)}`);
  lines.push(`Number of keys: ${r.keys.length}`);
  for (const k of r.keys) lines.push(`Key: vno ${k.kvno}, ${enctypeName(k.etype)}`);
  lines.push('MKey: vno 1');
  const attrs = attributeNames(r.attributes);
  lines.push(`Attributes:${attrs.length > 0 ? ' ' + attrs.join(' ') : ''}`);
  lines.push(`Policy: ${policy ?? '[none]'}`);
  return lines.join('\n') + '\n';
}

export function formatSettings(s: RealmSettings): string {
  const l = s.lockout;
  return [
    `Realm: ${s.realm}`,
    `Maximum ticket life: ${formatDuration(s.maxLife)}`,
    `Maximum renewable life: ${formatDuration(s.maxRenew)}`,
    `Clock skew allowed: ${formatDuration(s.clockSkew)}`,
    `Enctypes of new keys: ${s.enctypes.map(enctypeName).join(' ')}`,
    `Lockout: ${l.maxFailures === 0 ? 'off' : `after ${l.maxFailures} failures within ${l.failureWindow === 0 ? 'any time' : formatDuration(l.failureWindow)}, for ${l.lockoutDuration === 0 ? 'ever (until unlocked)' : formatDuration(l.lockoutDuration)}`}`,
  ].join('\n') + '\n';
}
