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

/*
 * Output buffers of small pushes are cut from a shared slab, like Node's own
 * 8 KiB Buffer pool but big enough for a whole small message: a 10 KiB RETR
 * otherwise allocates a fresh ArrayBuffer (malloc, a GC-tracked external
 * backing store) per message, which showed as ~7% of the server's time in
 * bench/pop3. Each piece is handed out once and never reused, so a socket
 * still holding an earlier reply is never overwritten; a slab is freed by the
 * GC when its last piece is. Pieces are at most SLAB_PIECE, so a slow client
 * pins at most one slab.
 */
const SLAB_SIZE = 256 * 1024;
const SLAB_PIECE = 64 * 1024;
let slab = Buffer.allocUnsafe(0);
let slabUsed = 0;

/** Room for n bytes; commit() what was used before the next call. */
function carve(n: number): Buffer {
  if (n > SLAB_PIECE) return Buffer.allocUnsafe(n);
  if (slabUsed + n > slab.length) {
    slab = Buffer.allocUnsafe(SLAB_SIZE);
    slabUsed = 0;
  }
  return slab.subarray(slabUsed, slabUsed + n);
}

function commit(piece: Buffer, used: number): void {
  // Only pieces of the current slab advance it; 8-byte alignment keeps
  // later pieces' typed-array views cheap.
  if (piece.buffer === slab.buffer) slabUsed += (used + 7) & ~7;
}

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

  /**
   * A whole small message in one buffer: `head` (the +OK line), the stuffed
   * body and the terminator, so the reply goes out in one write, one copy.
   */
  whole(head: string, data: Uint8Array): Buffer {
    const out = this.push(data, Buffer.byteLength(head), 5);
    out.write(head, 0, 'latin1');
    const tail = this.end();
    const end = out.length;
    // push() left room for the tail (at most CRLF + ".CRLF").
    const full = Buffer.from(out.buffer, out.byteOffset, end + tail.length);
    tail.copy(full, end);
    return full;
  }

  push(chunk: Uint8Array, reserveBefore = 0, reserveAfter = 0): Buffer {
    if (this.finished || chunk.length === 0) {
      const empty = carve(reserveBefore + reserveAfter);
      commit(empty, reserveBefore + reserveAfter);
      return empty.subarray(0, reserveBefore);
    }
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    // Worst case every byte is an LF that becomes CRLF, plus a held CR and
    // stuffing dots (at most one per line, and a line has at least one byte).
    const out = carve(reserveBefore + 2 * buf.length + 2 + reserveAfter);
    let o = reserveBefore;
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
    commit(out, o + reserveAfter);
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
