/**
 * RFC 1939 §11: message sizes are counted "as if every line ended in CRLF",
 * and the octets a client receives are exactly what the dot-stuffer in
 * ../pop3/dot-stuff.ts emits minus the stuffing dots. This counter mirrors
 * that transformation byte for byte, so LIST/STAT agree with RETR:
 * - a line ending in LF or CRLF counts as its content plus 2;
 * - a last line without LF is terminated with CRLF (a trailing lone CR is
 *   taken as the start of that CRLF).
 */
export class CrlfSizeCounter {
  private bytes = 0;
  private bareLf = 0;
  private last = -1;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    let prev = this.last;
    let i = chunk.indexOf(0x0a);
    while (i !== -1) {
      const before = i === 0 ? prev : chunk[i - 1]!;
      if (before !== 0x0d) this.bareLf++;
      i = chunk.indexOf(0x0a, i + 1);
    }
    prev = chunk[chunk.length - 1]!;
    this.last = prev;
    this.bytes += chunk.length;
  }

  /** Octets of CRLF form produced by what was pushed so far, before any terminator a last line gets. */
  get converted(): number {
    return this.bytes + this.bareLf;
  }

  /** The last octet pushed (-1 before any). */
  get lastByte(): number {
    return this.last;
  }

  /** The RFC 1939 size of everything pushed so far. */
  get size(): number {
    let tail = 0;
    if (this.bytes > 0 && this.last !== 0x0a) tail = this.last === 0x0d ? 1 : 2;
    return this.bytes + this.bareLf + tail;
  }
}

export function crlfSize(data: Uint8Array): number {
  const c = new CrlfSizeCounter();
  c.push(data);
  return c.size;
}

/**
 * The streaming form of the same transformation (imap/folder.ts's toCrlf):
 * every LF not preceded by CR becomes CRLF, across chunk boundaries, and
 * end() gives the terminator a last line without LF gets (a trailing lone
 * CR gets its LF). Its output has exactly CrlfSizeCounter's size.
 */
export class CrlfEncoder {
  /** last: the octet before the first one pushed, when starting mid-file (-1 at the start). */
  constructor(private last = -1) {}

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    let bare = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
      if ((i === 0 ? this.last : chunk[i - 1]) !== 0x0d) bare++;
    }
    const prev = this.last;
    this.last = chunk[chunk.length - 1]!;
    if (bare === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + bare);
    let o = 0;
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
      if ((i === 0 ? prev : chunk[i - 1]) !== 0x0d) {
        o += chunk.copy(out, o, start, i);
        out[o++] = 0x0d;
        start = i;
      }
    }
    chunk.copy(out, o, start);
    return out;
  }

  end(): Buffer {
    if (this.last === -1 || this.last === 0x0a) return Buffer.alloc(0);
    return this.last === 0x0d ? Buffer.from('\n') : Buffer.from('\r\n');
  }
}
