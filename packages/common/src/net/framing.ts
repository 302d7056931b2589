/**
 * 4-byte big-endian length-prefixed framing, as pure functions over bytes.
 *
 * Two protocols of the suite use it: Kerberos over TCP (RFC 4120 §7.2.2: each
 * message is preceded by its length as a 4-byte big-endian integer, whose high
 * bit is reserved and must be zero) and krb5 sendauth, which KPOP runs (every
 * message after the version strings is a 4-byte big-endian length plus data).
 */

export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

/** Prefix a message with its 4-byte big-endian length. */
export function frameMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + message.length);
  new DataView(out.buffer).setUint32(0, message.length);
  out.set(message, 4);
  return out;
}

export interface LengthPrefixedReaderOptions {
  /** Largest frame accepted; a longer declared length is refused before any of it is read. */
  maxFrame: number;
  /**
   * RFC 4120 §7.2.2 reserves the high bit of the length (for future
   * extensions); a frame with it set is an error there. Default true.
   */
  rejectHighBit?: boolean;
}

/**
 * Streaming reader: push() chunks as they arrive (any split, even inside the
 * length), take whole frames out. A declared length over maxFrame throws a
 * FramingError at once, so a hostile peer can't make us buffer 2 GiB.
 */
export class LengthPrefixedReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private readonly maxFrame: number;
  private readonly rejectHighBit: boolean;

  constructor(options: LengthPrefixedReaderOptions) {
    this.maxFrame = options.maxFrame;
    this.rejectHighBit = options.rejectHighBit ?? true;
  }

  /** Bytes held that are not yet a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Add a chunk and return every frame it completes (possibly none). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const len = ((head[0]! << 24) >>> 0) + (head[1]! << 16) + (head[2]! << 8) + head[3]!;
      if (this.rejectHighBit && len >= 0x80000000) throw new FramingError('frame length has the reserved high bit set');
      if (len > this.maxFrame) throw new FramingError(`frame of ${len} bytes exceeds the limit of ${this.maxFrame}`);
      if (this.buffered < 4 + len) break;
      this.consume(4);
      frames.push(this.consume(len));
    }
    return frames;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  private consume(n: number): Uint8Array {
    return this.gather(n, true);
  }

  private gather(n: number, remove: boolean): Uint8Array {
    const first = this.chunks[0];
    if (remove && first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const c = this.chunks[i]!;
      const take = Math.min(c.length, n - filled);
      out.set(c.subarray(0, take), filled);
      filled += take;
      if (remove) {
        if (take === c.length) {
          this.chunks.shift();
          continue;
        }
        this.chunks[i] = c.subarray(take);
      } else {
        i++;
      }
    }
    if (remove) this.buffered -= n;
    return out;
  }
}
