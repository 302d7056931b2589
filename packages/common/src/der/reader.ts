/**
 * Strict DER reading (X.690 §10 on top of the BER rules of §8) of the types
 * Kerberos uses. Every function reads from a Uint8Array between explicit
 * offsets and throws DerError (without a path; the schema layer adds it) on
 * anything that is not the one canonical DER form:
 * - lengths: definite (§10.1), minimal (§10.1: "the definite form of length
 *   encoding shall be used, encoded in the minimum number of octets"), never
 *   past the input;
 * - INTEGER: minimal two's complement (§8.3.2);
 * - BOOLEAN: 0x00 or 0xFF (§11.1);
 * - BIT STRING: unused bits zero (§11.2.1);
 * - GeneralizedTime: exactly YYYYMMDDHHMMSSZ (RFC 4120 §5.2.3 KerberosTime).
 */
import { DerError } from './errors.js';

/** X.690 tag bytes (class, constructed bit and number together) Kerberos uses. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OBJECT_IDENTIFIER: 0x06,
  UTF8String: 0x0c,
  IA5String: 0x16,
  GeneralizedTime: 0x18,
  GeneralString: 0x1b,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** [n] EXPLICIT: context class, constructed (0xA0 | n). */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

/** [APPLICATION n] EXPLICIT: application class, constructed (0x60 | n). */
export function applicationTag(n: number): number {
  return 0x60 | n;
}

/** A human name for a tag byte, for error messages: `[APPLICATION 10]`, `[3]`, `SEQUENCE`. */
export function tagName(tag: number): string {
  const cls = tag >> 6;
  const num = tag & 0x1f;
  if (cls === 1) return `[APPLICATION ${num}]`;
  if (cls === 2) return `[${num}]`;
  if (cls === 3) return `[PRIVATE ${num}]`;
  for (const [name, value] of Object.entries(Tag)) if (value === tag) return name;
  return `tag 0x${tag.toString(16).padStart(2, '0')}`;
}

/** Set by readHeaderInto(): where the content of the element just read starts and ends. */
export const header = { tag: 0, start: 0, end: 0 };

/**
 * Reads the identifier and length octets at `pos` (which must be before
 * `limit`), fills `header`, and returns the tag byte. `limit` bounds the
 * element: its content must end at or before it.
 */
export function readHeaderInto(buf: Uint8Array, pos: number, limit: number): number {
  if (pos >= limit) throw new DerError('truncated: expected an element, found the end of the input');
  const tag = buf[pos++]!;
  // Tag numbers above 30 (the multi-byte form, X.690 §8.1.2.4) never occur in
  // Kerberos; refusing them keeps the reader one byte per tag.
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported high tag number form (0x${tag.toString(16)})`);
  if (pos >= limit) throw new DerError(`truncated: ${tagName(tag)} has no length`);
  let len = buf[pos++]!;
  if (len >= 0x80) {
    if (len === 0x80) throw new DerError(`${tagName(tag)} has an indefinite length (BER, not DER)`);
    const n = len & 0x7f;
    if (n > 4) throw new DerError(`${tagName(tag)} has a ${n}-byte length field`);
    if (limit - pos < n) throw new DerError(`truncated: ${tagName(tag)} length field`);
    if (buf[pos] === 0) throw new DerError(`${tagName(tag)} has a non-minimal length (leading zero)`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos++]!;
    if (len < 0x80) throw new DerError(`${tagName(tag)} has a non-minimal length (long form for ${len})`);
  }
  if (len > limit - pos) throw new DerError(`truncated: ${tagName(tag)} declares ${len} bytes but ${limit - pos} remain`);
  header.tag = tag;
  header.start = pos;
  header.end = pos + len;
  return tag;
}

/**
 * A copy of buf[start, end), always a plain Uint8Array. (Not slice(): on a
 * Node Buffer, slice() returns a view of the same memory, and on a large
 * Uint8Array it is several times slower than allocate-and-set.)
 */
export function copyBytes(buf: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(buf.subarray(start, end));
  return out;
}

export interface DerHeader {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content (and so past the element). */
  end: number;
}

/** readHeaderInto() returning a fresh object, for callers outside the hot path. */
export function readHeader(buf: Uint8Array, pos = 0, limit = buf.length): DerHeader {
  const tag = readHeaderInto(buf, pos, limit);
  return { tag, start: header.start, end: header.end };
}

/**
 * INTEGER content (X.690 §8.3) as a JS number. Up to 6 content bytes are read
 * (safe integers); callers check the range their ASN.1 type allows.
 */
export function decodeIntegerContent(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n === 0) throw new DerError('empty INTEGER');
  if (n > 6) throw new DerError(`INTEGER of ${n} bytes is too large`);
  const b0 = buf[start]!;
  if (n > 1) {
    const b1 = buf[start + 1]!;
    // §8.3.2: the first nine bits must not be all zeros or all ones.
    if ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) throw new DerError('non-minimal INTEGER');
  }
  let v = b0 >= 0x80 ? b0 - 256 : b0;
  for (let i = start + 1; i < end; i++) v = v * 256 + buf[i]!;
  return v;
}

/** BOOLEAN content: DER allows only 0x00 (FALSE) and 0xFF (TRUE) (X.690 §11.1). */
export function decodeBooleanContent(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start !== 1) throw new DerError('BOOLEAN must have one content byte');
  const b = buf[start];
  if (b === 0x00) return false;
  if (b === 0xff) return true;
  throw new DerError(`BOOLEAN content 0x${b!.toString(16)} is not DER (0x00 or 0xff)`);
}

/**
 * KerberosFlags (RFC 4120 §5.2.8): `BIT STRING (SIZE (32..MAX))`, read as a
 * uint32 with bit 0 the most significant. Longer strings keep their first 32
 * bits (MIT does the same); shorter ones break the SIZE constraint and are
 * refused, as reading them as 32 bits could not be re-encoded faithfully.
 */
export function decodeFlagsContent(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n === 0) throw new DerError('BIT STRING without its unused-bits byte');
  const unused = buf[start]!;
  if (unused > 7) throw new DerError(`BIT STRING with ${unused} unused bits`);
  if (n === 1 && unused !== 0) throw new DerError('empty BIT STRING with unused bits');
  // X.690 §11.2.1: the unused bits of the last byte are zero in DER.
  if (n > 1 && (buf[end - 1]! & ((1 << unused) - 1)) !== 0) throw new DerError('BIT STRING unused bits are not zero');
  const bits = (n - 1) * 8 - unused;
  if (bits < 32) throw new DerError(`KerberosFlags of ${bits} bits (RFC 4120 §5.2.8: at least 32)`);
  return ((buf[start + 1]! << 24) | (buf[start + 2]! << 16) | (buf[start + 3]! << 8) | buf[start + 4]!) >>> 0;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Strings up to this length are interned; the table has INTERN_SLOTS entries (a power of two). */
const INTERN_MAX = 32;
const INTERN_SLOTS = 256;
const interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

/**
 * GeneralString / IA5String / UTF8String content as a JS string. RFC 4120
 * §5.2.1: KerberosString is GeneralString restricted to IA5 in theory, but
 * implementations send UTF-8, so UTF-8 is decoded (strictly: invalid UTF-8 is
 * an error rather than silently replaced, so re-encoding loses nothing).
 */
export function decodeStringContent(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= INTERN_MAX) {
    // Realms and name components recur in every message: short ASCII strings
    // come from a small direct-mapped table, so a repeat allocates nothing.
    let h = n;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      h = (Math.imul(h, 31) + c) | 0;
    }
    if (ascii) {
      const slot = (h ^ (h >>> 7)) & (INTERN_SLOTS - 1);
      const known = interned[slot];
      if (known !== undefined && known.length === n) {
        let same = true;
        for (let i = 0; i < n; i++) {
          if (known.charCodeAt(i) !== buf[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return known;
      }
      let out = '';
      for (let i = start; i < end; i++) out += String.fromCharCode(buf[i]!);
      interned[slot] = out;
      return out;
    }
  }
  // Fast path: principal names and realms are almost always ASCII.
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) {
      try {
        return decoder.decode(buf.subarray(start, end));
      } catch {
        throw new DerError('string is not valid UTF-8');
      }
    }
    s += String.fromCharCode(c);
  }
  return s;
}

function digits(buf: Uint8Array, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function badTime(buf: Uint8Array, start: number, end: number, why: string): DerError {
  return new DerError(`bad GeneralizedTime "${String.fromCharCode(...buf.subarray(start, Math.min(end, start + 32)))}" (${why})`);
}

/**
 * KerberosTime content (RFC 4120 §5.2.3): GeneralizedTime restricted to
 * exactly `YYYYMMDDHHMMSSZ`, UTC, no fractional seconds.
 */
export function decodeTimeContent(buf: Uint8Array, start: number, end: number): Date {
  if (end - start !== 15) throw badTime(buf, start, end, 'KerberosTime is exactly YYYYMMDDHHMMSSZ');
  if (buf[start + 14] !== 0x5a) throw badTime(buf, start, end, 'must end in Z');
  const y = digits(buf, start, 4);
  const mo = digits(buf, start + 4, 2);
  const d = digits(buf, start + 6, 2);
  const h = digits(buf, start + 8, 2);
  const mi = digits(buf, start + 10, 2);
  const s = digits(buf, start + 12, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) throw badTime(buf, start, end, 'not digits');
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) throw badTime(buf, start, end, 'field out of range');
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  const date = new Date(Date.UTC(y < 100 ? 2000 : y, mo - 1, d, h, mi, s));
  if (y < 100) date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCDate() !== d) throw badTime(buf, start, end, 'no such day');
  return date;
}
