/**
 * RFC 4121 §4.1.1 (RFC 1964 §1.1.1): the authenticator checksum of type
 * 0x8003 that carries GSS-API data in an AP-REQ. Unlike the rest of
 * Kerberos, its integers are little-endian.
 *   0  4  Lgth = 16          4 16 Bnd (MD5 of channel bindings or zeros)
 *   20 4  Flags              24 2 DlgOpt = 1, 26 2 Dlgth, 28 n KRB-CRED (if DELEG)
 */
import { GssError } from './errors.js';

export const GSS_CHECKSUM_TYPE = 0x8003;

/** RFC 4121 §4.1.1.1 context flags (RFC 2744 values). */
export const GssFlags = {
  DELEG: 0x01,
  MUTUAL: 0x02,
  REPLAY: 0x04,
  SEQUENCE: 0x08,
  CONF: 0x10,
  INTEG: 0x20,
  ANON: 0x40,
  PROT_READY: 0x80,
  TRANS: 0x100,
  DCE_STYLE: 0x1000,
  IDENTIFY: 0x2000,
  EXTENDED_ERROR: 0x4000,
} as const;

export interface GssChecksum {
  bindings: Uint8Array;
  flags: number;
  /** KRB-CRED DER when DELEG was set. */
  delegation?: Uint8Array;
}

export function decodeGssChecksum(value: Uint8Array): GssChecksum {
  if (value.length < 24) throw new GssError('DEFECTIVE_TOKEN', `0x8003 checksum too short (${value.length} bytes)`);
  const dv = new DataView(value.buffer, value.byteOffset, value.length);
  const lgth = dv.getUint32(0, true);
  if (lgth !== 16) throw new GssError('DEFECTIVE_TOKEN', `0x8003 checksum Lgth ${lgth}, expected 16`);
  const flags = dv.getUint32(20, true);
  const out: GssChecksum = { bindings: value.slice(4, 20), flags };
  if (flags & GssFlags.DELEG) {
    if (value.length < 28) throw new GssError('DEFECTIVE_TOKEN', '0x8003 checksum has DELEG but no delegation field');
    const dlgOpt = dv.getUint16(24, true);
    const dlgth = dv.getUint16(26, true);
    if (dlgOpt !== 1 || 28 + dlgth > value.length) throw new GssError('DEFECTIVE_TOKEN', 'bad delegation field in 0x8003 checksum');
    out.delegation = value.slice(28, 28 + dlgth);
  }
  return out;
}

export function encodeGssChecksum(c: { flags: number; bindings?: Uint8Array; delegation?: Uint8Array }): Uint8Array {
  const deleg = c.delegation;
  const out = new Uint8Array(24 + (deleg ? 4 + deleg.length : 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 16, true);
  if (c.bindings) out.set(c.bindings.subarray(0, 16), 4);
  dv.setUint32(20, (c.flags | (deleg ? GssFlags.DELEG : 0)) >>> 0, true);
  if (deleg) {
    dv.setUint16(24, 1, true);
    dv.setUint16(26, deleg.length, true);
    out.set(deleg, 28);
  }
  return out;
}
