/**
 * Splits the POP3 command stream into lines (RFC 1939 §3: CRLF, and a bare LF
 * is tolerated). A line longer than the cap is never buffered whole: its
 * bytes are dropped up to the next LF and it comes out as TOO_LONG, so a peer
 * that never sends LF costs at most `maxLine` bytes.
 */
export const TOO_LONG = Symbol('line too long');
export type Line = string | typeof TOO_LONG;

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(public maxLine: number) {}

  push(chunk: Buffer): Line[] {
    const out: Line[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.discarding) {
        const piece = chunk.subarray(pos, end);
        if (this.size + piece.length > this.maxLine) {
          this.discarding = true;
          this.parts = [];
          this.size = 0;
        } else if (piece.length) {
          this.parts.push(piece);
          this.size += piece.length;
        }
      }
      if (nl === -1) break;
      if (this.discarding) out.push(TOO_LONG);
      else {
        let line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
        if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
        out.push(line.toString('utf8'));
      }
      this.parts = [];
      this.size = 0;
      this.discarding = false;
      pos = nl + 1;
    }
    // Keep copies of what stays buffered: the socket may reuse its chunk.
    if (this.parts.length && this.parts[this.parts.length - 1]!.buffer === chunk.buffer) {
      this.parts[this.parts.length - 1] = Buffer.from(this.parts[this.parts.length - 1]!);
    }
    return out;
  }

  /** Forget everything buffered (after STLS: nothing sent in clear may leak into TLS). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }

  get pending(): number {
    return this.size;
  }

  /** Whether a line is under way (bytes held, or an over-long line being skipped). */
  get partial(): boolean {
    return this.size > 0 || this.discarding;
  }
}
