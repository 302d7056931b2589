/**
 * A DER writer that fills its buffer from the end towards the start: a
 * constructed value writes its children first (last child first), after
 * which its content length is known and its header is prepended. Every
 * length is therefore computed exactly once, with no second pass and no
 * copying of children (the webathena approach: "DER is most naturally
 * encoded in reverse").
 */
import { DerError } from './errors.js';
import { pooledCopy } from './pool.js';

const encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class DerWriter {
  private buf: Uint8Array;
  private pos: number;

  constructor(initialSize = 1024) {
    this.buf = new Uint8Array(initialSize);
    this.pos = initialSize;
  }

  /** Bytes written so far. Use it as a mark: content length = length - mark. */
  get length(): number {
    return this.buf.length - this.pos;
  }

  /** Forgets everything written, keeping the buffer. */
  reset(): void {
    this.pos = this.buf.length;
  }

  /** A copy of the bytes written (the writer can then be reused); small ones are cut from a shared slab (pool.ts). */
  toBytes(): Uint8Array {
    return pooledCopy(this.buf, this.pos, this.buf.length);
  }

  private room(n: number): void {
    if (this.pos >= n) return;
    const used = this.buf.length - this.pos;
    let size = this.buf.length * 2;
    while (size - used < n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(this.pos), size - used);
    this.buf = next;
    this.pos = size - used;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[--this.pos] = b;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.pos -= b.length;
    this.buf.set(b, this.pos);
  }

  /** Prepends a tag and the minimal definite length (X.690 §10.1) of `len` content bytes. */
  header(tag: number, len: number): void {
    this.room(6);
    const buf = this.buf;
    if (len < 0x80) {
      buf[--this.pos] = len;
    } else {
      let n = 0;
      while (len > 0) {
        buf[--this.pos] = len & 0xff;
        len = Math.floor(len / 256);
        n++;
      }
      buf[--this.pos] = 0x80 | n;
    }
    buf[--this.pos] = tag;
  }

  /** INTEGER content (minimal two's complement) for a safe integer; returns nothing, use length marks. */
  integerContent(v: number): void {
    if (!Number.isSafeInteger(v)) throw new DerError(`${v} is not an integer`);
    this.room(8);
    const buf = this.buf;
    let b: number;
    if (v >= 0) {
      do {
        b = v % 256;
        buf[--this.pos] = b;
        v = (v - b) / 256;
      } while (v > 0);
      if (b & 0x80) buf[--this.pos] = 0x00;
    } else {
      do {
        b = ((v % 256) + 256) % 256;
        buf[--this.pos] = b;
        v = (v - b) / 256;
      } while (v !== -1);
      if (!(b & 0x80)) buf[--this.pos] = 0xff;
    }
  }

  /** A complete INTEGER element. */
  integer(v: number, tag = 0x02): void {
    const mark = this.length;
    this.integerContent(v);
    this.header(tag, this.length - mark);
  }

  boolean(v: boolean): void {
    this.byte(v ? 0xff : 0x00);
    this.header(0x01, 1);
  }

  /**
   * KerberosFlags as the 32-bit BIT STRING MIT sends: `03 05 00 b0 b1 b2 b3`
   * (RFC 4120 §5.2.8: at least 32 bits; all 32 are always sent).
   */
  flags(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new DerError(`flags ${v} is not a 32-bit value`);
    v = v >>> 0;
    this.room(7);
    const buf = this.buf;
    buf[--this.pos] = v & 0xff;
    buf[--this.pos] = (v >>> 8) & 0xff;
    buf[--this.pos] = (v >>> 16) & 0xff;
    buf[--this.pos] = v >>> 24;
    buf[--this.pos] = 0; // no unused bits
    buf[--this.pos] = 5;
    buf[--this.pos] = 0x03;
  }

  /** A string element (GeneralString by default) holding `s` as UTF-8. */
  string(s: string, tag = 0x1b): void {
    if (typeof s !== 'string') throw new DerError(`expected a string, got ${typeof s}`);
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.room(n);
      const buf = this.buf;
      for (let i = n - 1; i >= 0; i--) buf[--this.pos] = s.charCodeAt(i);
      this.header(tag, n);
    } else {
      if (LONE_SURROGATE.test(s)) throw new DerError('string contains a lone surrogate (not representable in UTF-8)');
      const bytes = encoder.encode(s);
      this.bytes(bytes);
      this.header(tag, bytes.length);
    }
  }

  octets(b: Uint8Array, tag = 0x04): void {
    if (!(b instanceof Uint8Array)) throw new DerError('expected a Uint8Array');
    this.bytes(b);
    this.header(tag, b.length);
  }

  private twoDigits(v: number): void {
    this.buf[--this.pos] = 0x30 + (v % 10);
    this.buf[--this.pos] = 0x30 + Math.floor(v / 10);
  }

  /** KerberosTime: GeneralizedTime `YYYYMMDDHHMMSSZ`; milliseconds are dropped (RFC 4120 §5.2.3). */
  time(d: Date): void {
    if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new DerError('expected a valid Date');
    const y = d.getUTCFullYear();
    if (y < 0 || y > 9999) throw new DerError(`year ${y} does not fit in a KerberosTime`);
    this.room(17);
    this.buf[--this.pos] = 0x5a; // 'Z'
    this.twoDigits(d.getUTCSeconds());
    this.twoDigits(d.getUTCMinutes());
    this.twoDigits(d.getUTCHours());
    this.twoDigits(d.getUTCDate());
    this.twoDigits(d.getUTCMonth() + 1);
    this.twoDigits(y % 100);
    this.twoDigits(Math.floor(y / 100));
    this.header(0x18, 15);
  }
}
