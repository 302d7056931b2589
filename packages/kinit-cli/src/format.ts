/**
 * MIT klist's output pieces: times (krb5_timestamp_to_sfstring picks the
 * first strftime format that fits 19 characters; in the C/POSIX locale that
 * is "%x %X", i.e. "11/29/26 06:11:57", local time per TZ), ticket flag
 * letters (klist.c flags_string) and addresses.
 */
import { TicketFlags, AddrType, type HostAddress } from '@kpop/common';

const two = (n: number) => String(n).padStart(2, '0');

/** "%x %X" in the C locale: MM/DD/YY HH:MM:SS, local time. */
export function formatTime(d: Date): string {
  return `${two(d.getMonth() + 1)}/${two(d.getDate())}/${two(d.getFullYear() % 100)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Width of a formatted time (klist's timestamp_width). */
export const TIME_WIDTH = 17;

/** klist -f letters, in MIT's order. */
const FLAG_LETTERS: [number, string][] = [
  [TicketFlags.FORWARDABLE, 'F'],
  [TicketFlags.FORWARDED, 'f'],
  [TicketFlags.PROXIABLE, 'P'],
  [TicketFlags.PROXY, 'p'],
  [TicketFlags.MAY_POSTDATE, 'D'],
  [TicketFlags.POSTDATED, 'd'],
  [TicketFlags.INVALID, 'i'],
  [TicketFlags.RENEWABLE, 'R'],
  [TicketFlags.INITIAL, 'I'],
  [TicketFlags.HW_AUTHENT, 'H'],
  [TicketFlags.PRE_AUTHENT, 'A'],
  [TicketFlags.TRANSITED_POLICY_CHECKED, 'T'],
  [TicketFlags.OK_AS_DELEGATE, 'O'],
  [TicketFlags.ANONYMOUS, 'a'],
];

export function flagsString(flags: number): string {
  return FLAG_LETTERS.filter(([bit]) => (flags & bit) !== 0).map(([, l]) => l).join('');
}

/** klist -a: IPv4 dotted, IPv6 as inet_ntop writes it, others by type. */
export function formatAddress(a: HostAddress): string {
  if (a.addrType === AddrType.IPV4 && a.address.length === 4) return Array.from(a.address).join('.');
  if (a.addrType === AddrType.IPV6 && a.address.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((a.address[i]! << 8) | a.address[i + 1]!).toString(16));
    return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  }
  return `unknown addrtype ${a.addrType}`;
}
