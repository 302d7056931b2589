/**
 * KRB-PRIV (RFC 4120 §5.7) as the kpasswd protocol uses it: the key is the
 * authenticator's subkey (or the session key), usage 13; sequence numbers
 * instead of timestamps (MIT's KRB5_AUTH_CONTEXT_DO_SEQUENCE); the sender's
 * address in s-address.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { decryptData, encryptData } from '../crypto/index.js';
import { AddrType, KeyUsage, MsgType } from '../krb5/constants.js';
import { decodeEncKrbPrivPart, decodeKrbPriv, encodeEncKrbPrivPart, encodeKrbPriv } from '../krb5/krb-priv.js';
import type { EncKrbPrivPart, EncryptionKey, HostAddress } from '../krb5/types.js';

export function makeKrbPriv(key: EncryptionKey, part: EncKrbPrivPart): Uint8Array {
  return encodeKrbPriv({ pvno: 5, msgType: MsgType.KRB_PRIV as 21, encPart: encryptData(key, KeyUsage.KRB_PRIV_ENCPART, encodeEncKrbPrivPart(part)) });
}

/** Decrypts and decodes; throws (KrbError or a decoding error) when it does not open. */
export function readKrbPriv(key: EncryptionKey, bytes: Uint8Array): EncKrbPrivPart {
  const priv = decodeKrbPriv(bytes);
  if (priv.pvno !== 5) throw new Error(`KRB-PRIV pvno ${priv.pvno}`);
  return decodeEncKrbPrivPart(decryptData(key, KeyUsage.KRB_PRIV_ENCPART, priv.encPart));
}

/** An IP literal as a HostAddress (IPv4-mapped IPv6 as IPv4, as the kernel reports it to MIT). */
export function hostAddressOf(ip: string): HostAddress {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped ? mapped[1]! : ip;
  if (isIPv4(v4)) return { addrType: AddrType.IPV4, address: new Uint8Array(v4.split('.').map(Number)) };
  if (isIPv6(ip)) {
    const out = new Uint8Array(16);
    const [head, tail] = ip.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    groups.forEach((g, i) => {
      const n = parseInt(g || '0', 16);
      out[2 * i] = n >> 8;
      out[2 * i + 1] = n & 0xff;
    });
    return { addrType: AddrType.IPV6, address: out };
  }
  throw new Error(`not an IP address: ${ip}`);
}

export function hostAddressEquals(a: HostAddress, b: HostAddress): boolean {
  if (a.addrType !== b.addrType || a.address.length !== b.address.length) return false;
  for (let i = 0; i < a.address.length; i++) if (a.address[i] !== b.address[i]) return false;
  return true;
}
