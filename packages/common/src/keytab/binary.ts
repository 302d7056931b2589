/**
 * Bounds-checked readers and writers for MIT's binary file formats (FILE
 * keytab, FILE ccache). Both formats are plain sequences of fixed-width
 * integers and length-prefixed byte strings; the byte order is big-endian
 * except in the oldest versions (keytab 0x0501, ccache 0x0501/0x0502), which
 * used the writing host's native order.
 *
 * Every read past the end of the input throws a FileFormatError that names
 * the file and the byte offset, never a RangeError from DataView.
 */
import { KrbError, ErrorCode } from '../krb5/errors.js';

/** A malformed keytab or ccache: which file, where, and what was wrong. */
export class FileFormatError extends KrbError {
  /** File name (or a description such as "keytab") given to the parser. */
  readonly file: string;
  /** Byte offset at which the problem was found. */
  readonly offset: number;
  /** True when the input simply ended early (e.g. a file caught mid-write). */
  readonly truncated: boolean;

  constructor(file: string, offset: number, reason: string, truncated = false) {
    super(ErrorCode.KRB_ERR_GENERIC, `${file}: ${reason} (at byte offset ${offset})`);
    this.name = 'FileFormatError';
    this.file = file;
    this.offset = offset;
    this.truncated = truncated;
  }
}

/** A keytab or ccache file that does not exist. */
export class FileNotFoundError extends KrbError {
  readonly file: string;
  constructor(file: string, what: string, cause?: unknown) {
    super(ErrorCode.KRB_ERR_GENERIC, `${what} '${file}' not found`, { cause });
    this.name = 'FileNotFoundError';
    this.file = file;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** UTF-8 bytes of a string; principal names are nearly always ASCII, which skips TextEncoder. */
export function encodeUtf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return utf8Encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Decode UTF-8 (fatal on invalid input), with an ASCII fast path; throws TypeError when invalid. */
function decodeUtf8(b: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return utf8.decode(b.subarray(start, end));
  return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
}

/**
 * Whether this machine stores integers little-endian: the byte order of the
 * oldest keytab and ccache versions (0x0501, and ccache 1 and 2), which
 * wrote native integers. os.endianness() would load node:os for it.
 */
export const NATIVE_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export class ByteReader {
  private readonly view: DataView;
  offset = 0;
  /** Reads stop here: the end of the input, or of the record being read (see enter). */
  private end: number;
  /** Offset and kind of the record being read, for error messages; -1 outside records. */
  private recordAt = -1;
  private recordKind = '';

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length;
  }

  /** Bytes left before the current limit (the end of the file, or of the record being read). */
  get remaining(): number {
    return this.end - this.offset;
  }

  /**
   * Confine reads to the next `length` bytes, a length-prefixed record that
   * starts at `recordAt`: running off its end is then a malformed record, not
   * a truncated file. Returns the token for leave().
   */
  enter(length: number, kind: string, recordAt: number): number {
    this.need(length, kind);
    const saved = this.end;
    this.end = this.offset + length;
    this.recordAt = recordAt;
    this.recordKind = kind;
    return saved;
  }

  /** Skip whatever the record had left (slack) and lift its limit. */
  leave(saved: number): void {
    this.offset = this.end;
    this.end = saved;
    this.recordAt = -1;
  }

  fail(reason: string, at = this.offset): never {
    throw new FileFormatError(this.file, at, reason);
  }

  private need(n: number, what: string): void {
    if (n <= this.end - this.offset) return;
    if (this.recordAt >= 0) {
      this.fail(`${this.recordKind} at offset ${this.recordAt} too short: ${what} needs ${n} bytes, ${this.remaining} left`);
    }
    throw new FileFormatError(this.file, this.offset, `truncated: ${what} needs ${n} bytes, ${this.remaining} left`, true);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset, this.littleEndian);
    this.offset += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset, this.littleEndian);
    this.offset += 4;
    return v;
  }

  i32(what = 'i32'): number {
    this.need(4, what);
    const v = this.view.getInt32(this.offset, this.littleEndian);
    this.offset += 4;
    return v;
  }

  /** Skip n bytes. */
  skip(n: number, what = 'bytes'): void {
    this.need(n, what);
    this.offset += n;
  }

  /** n raw bytes, copied so the result does not pin the whole file. */
  bytesN(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** A UTF-8 string of n bytes (principal realms and components). */
  utf8N(n: number, what = 'string'): string {
    const start = this.offset;
    this.need(n, what);
    this.offset += n;
    try {
      return decodeUtf8(this.bytes, start, start + n);
    } catch {
      return this.fail(`${what} is not valid UTF-8`, start);
    }
  }
}

/** Grows as needed; integers in the chosen byte order (plain byte stores: faster than DataView here). */
export class ByteWriter {
  private buf = new Uint8Array(1024);
  length = 0;

  constructor(readonly littleEndian = false) {}

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    const i = this.length;
    if (this.littleEndian) {
      b[i] = v;
      b[i + 1] = v >>> 8;
    } else {
      b[i] = v >>> 8;
      b[i + 1] = v;
    }
    this.length += 2;
  }

  /** Stores the low 32 bits, so signed and unsigned values both land right. */
  private put32(at: number, v: number): void {
    const b = this.buf;
    if (this.littleEndian) {
      b[at] = v;
      b[at + 1] = v >>> 8;
      b[at + 2] = v >>> 16;
      b[at + 3] = v >>> 24;
    } else {
      b[at] = v >>> 24;
      b[at + 1] = v >>> 16;
      b[at + 2] = v >>> 8;
      b[at + 3] = v;
    }
  }

  u32(v: number): void {
    this.ensure(4);
    this.put32(this.length, v);
    this.length += 4;
  }

  i32(v: number): void {
    this.u32(v | 0);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Overwrite a u32/i32 written earlier (record lengths known only afterwards). */
  patchI32(at: number, v: number): void {
    this.put32(at, v | 0);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Checks that a number fits an unsigned field before it is written. */
export function checkUint(v: number, bits: 8 | 16 | 32, what: string): number {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new KrbError(ErrorCode.KRB_ERR_FIELD_TOOLONG, `${what} ${v} does not fit in ${bits} bits`);
  }
  return v;
}

/**
 * Kerberos numbers that may be negative in C (enctypes, address and
 * authorization-data types) are stored as 16-bit two's complement.
 */
export function toU16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0xffff) {
    throw new KrbError(ErrorCode.KRB_ERR_FIELD_TOOLONG, `${what} ${v} does not fit in 16 bits`);
  }
  return v & 0xffff;
}
