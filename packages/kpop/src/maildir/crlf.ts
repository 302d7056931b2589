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
