/**
 * The key a client's share is counted under. IPv4 addresses count one by
 * one; an IPv4-mapped IPv6 address ("::ffff:192.0.2.1", what a dual-stack
 * listener reports) is the IPv4 address; other IPv6 addresses count by
 * their /64, because one host is routinely given a whole /64 (RFC 7421) and
 * could otherwise take a new address per connection.
 */
import { isIPv6 } from 'node:net';

export function addressKey(remote: string | undefined): string {
  if (!remote) return '?';
  if (remote.startsWith('::ffff:') && remote.includes('.')) return remote.slice(7);
  if (!isIPv6(remote)) return remote;
  return ipv6Prefix64(remote);
}

/** "2001:db8:1:2:3:4:5:6" → "2001:db8:1:2::/64". */
function ipv6Prefix64(a: string): string {
  const zone = a.indexOf('%');
  const addr = zone === -1 ? a : a.slice(0, zone);
  const [head = '', tail] = addr.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  const first = groups.slice(0, 4).map((g) => (g.includes('.') ? '0' : g.replace(/^0+(?=.)/, '').toLowerCase()));
  while (first.length < 4) first.push('0');
  return `${first.join(':')}::/64`;
}
