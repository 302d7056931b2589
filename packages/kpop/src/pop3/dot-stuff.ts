/**
 * RFC 1939 §3 multi-line responses, as a streaming transform over the bytes
 * of a message file: every line goes out ending in CRLF (bare LF becomes
 * CRLF), a line starting with "." gets one more "." (byte-stuffing), and the
 * response ends with ".CRLF". With a body-line limit it produces TOP (§7):
 * the headers, the blank line, then at most n body lines.
 *
 * Chunks may split anywhere (even between CR and LF); memory is O(chunk).
 */
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');

export class DotStuffer {
  /** Content bytes of the current line emitted so far (a held CR not counted). */
  private lineLen = 0;
  private heldCr = false;
  private inHeaders = true;
  private bodyLines = 0;
  private finished = false;

  /** bodyLineLimit: undefined for RETR, n for TOP n. */
  constructor(private readonly bodyLineLimit?: number) {}

  /** True once TOP's limit is reached: the rest of the file is not needed. */
  get done(): boolean {
    return this.finished;
  }

  push(chunk: Uint8Array): Buffer {
    if (this.finished || chunk.length === 0) return Buffer.alloc(0);
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    // Worst case every byte is an LF that becomes CRLF, plus a held CR and
    // stuffing dots (at most one per line, and a line has at least one byte).
    const out = Buffer.allocUnsafe(2 * buf.length + 2);
    let o = 0;
    let pos = 0;
    if (this.heldCr) {
      this.heldCr = false;
      if (buf[0] === LF) {
        out[o++] = CR;
        out[o++] = LF;
        this.endLine();
        pos = 1;
      } else {
        out[o++] = CR;
        this.lineLen++;
      }
    }
    const len = buf.length;
    while (pos < len) {
      if (this.lineLen === 0) {
        if (this.limitReached()) {
          this.finished = true;
          break;
        }
        if (buf[pos] === DOT) out[o++] = DOT;
      }
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) {
        let end = len;
        if (buf[len - 1] === CR) {
          end = len - 1;
          this.heldCr = true;
        }
        if (end > pos) {
          o += buf.copy(out, o, pos, end);
          this.lineLen += end - pos;
        }
        break;
      }
      let lineEnd = nl;
      if (lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--;
      if (lineEnd > pos) o += buf.copy(out, o, pos, lineEnd);
      this.lineLen += lineEnd - pos;
      out[o++] = CR;
      out[o++] = LF;
      this.endLine();
      pos = nl + 1;
    }
    return out.subarray(0, o);
  }

  /** The tail: close an unterminated last line, then ".CRLF". */
  end(): Buffer {
    const parts: Buffer[] = [];
    if (!this.finished && (this.heldCr || this.lineLen > 0)) parts.push(CRLF);
    this.finished = true;
    parts.push(TERMINATOR);
    return Buffer.concat(parts);
  }

  private endLine(): void {
    if (this.inHeaders) {
      if (this.lineLen === 0) this.inHeaders = false;
    } else {
      this.bodyLines++;
    }
    this.lineLen = 0;
  }

  private limitReached(): boolean {
    return this.bodyLineLimit !== undefined && !this.inHeaders && this.bodyLines >= this.bodyLineLimit;
  }
}

/** Stuff a whole multi-line response body given as text lines (CAPA, LIST, UIDL). */
export function multiLine(first: string, lines: Iterable<string>): string {
  let out = first + '\r\n';
  for (const l of lines) out += (l.startsWith('.') ? '.' + l : l) + '\r\n';
  return out + '.\r\n';
}
