/**
 * The receiving side of SMTP/LMTP DATA transparency (RFC 5321 §4.5.2): a
 * line starting with "." loses that dot, and a line holding only "." ends
 * the message. Streaming over chunks split anywhere; bytes after the
 * terminator (pipelined commands, RFC 2920) come back as `rest`.
 */
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

export class DotUnstuffer {
  private atLineStart = true;
  /** Bytes seen at a line start while deciding: 0 none, 1 ".", 2 ".\r". */
  private held = 0;
  done = false;

  push(chunk: Buffer): { data: Buffer; rest?: Buffer } {
    const out: Buffer[] = [];
    let pos = 0;
    const len = chunk.length;
    while (pos < len && !this.done) {
      if (this.atLineStart && (this.held > 0 || chunk[pos] === DOT)) {
        const b = chunk[pos]!;
        if (this.held === 0) {
          this.held = 1;
          pos++;
        } else if (this.held === 1) {
          if (b === CR) {
            this.held = 2;
            pos++;
          } else if (b === LF) {
            this.done = true; // ".\n": lenient end of data
            pos++;
          } else {
            this.held = 0; // a stuffed dot: drop it, the line goes on
            this.atLineStart = false;
          }
        } else if (b === LF) {
          this.done = true;
          pos++;
        } else {
          out.push(Buffer.from([CR])); // ".\r" then not LF: the line was "\r…"
          this.held = 0;
          this.atLineStart = false;
        }
        continue;
      }
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        out.push(chunk.subarray(pos));
        this.atLineStart = false;
        pos = len;
        break;
      }
      out.push(chunk.subarray(pos, nl + 1));
      pos = nl + 1;
      this.atLineStart = true;
    }
    const data = out.length === 1 ? out[0]! : Buffer.concat(out);
    return this.done ? { data, rest: chunk.subarray(pos) } : { data };
  }
}
