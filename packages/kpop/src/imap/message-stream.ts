/**
 * A message file sent as it is read (FETCH of large messages, ./session.ts):
 * in chunks with CRLF line ends, a partial read from the nearest mark, and a
 * file that changes under the send detected (MessageChangedError) so the
 * session can hang up rather than finish a literal with a wrong body.
 * ./folder.ts opens it (Folder.openStream) and checks it against the name.
 */
import type { FileHandle } from 'node:fs/promises';
import { CrlfEncoder } from '../maildir/crlf.js';

/** How much of a streamed message is read (and written) at a time. */
export const STREAM_CHUNK = 64 * 1024;
/** A CRLF mark (ImapMessage.crlfMarks) every this many octets of file; a multiple of STREAM_CHUNK. */
export const MARK_EVERY = 16 * STREAM_CHUNK;

/** The file changed while it was being sent: the literal already announced cannot be finished truthfully. */
export class MessageChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageChangedError';
  }
}

/**
 * An open message file sent in chunks of STREAM_CHUNK with CRLF line ends
 * (../maildir/crlf.ts's CrlfEncoder), so that a FETCH of a 50 MiB message
 * holds one chunk at a time instead of the message (twice, with its CRLF
 * copy). `size` is the CRLF size announced as the literal's length; a file
 * that gives other bytes than that (truncated or grown under us) throws
 * MessageChangedError, and the caller must drop the connection: the
 * client was promised `size` octets.
 */
export class MessageStream {
  /** The file offset, as far as sequential read()s moved it (they do; positioned ones don't). */
  private offset = 0;

  constructor(private readonly fh: FileHandle, readonly fileSize: number, readonly size: number, private readonly marks: number[]) {}

  /**
   * The octets [start, start + length) of the message in its CRLF form. A
   * file already in CRLF form (its size equals the CRLF size) is read from
   * `start` directly; one with bare LFs is converted from the nearest mark
   * (ImapMessage.crlfMarks) before `start`, what comes before `start` read
   * and dropped, not kept.
   */
  async *range(start: number, length: number): AsyncGenerator<Buffer> {
    const end = Math.min(this.size, start + length);
    if (start >= end) return;
    const direct = this.fileSize === this.size;
    let filePos = direct ? start : 0;
    let outPos = direct ? start : 0;
    let before = -1;
    if (!direct) {
      const marks = this.marks;
      for (let k = 0; k + 2 < marks.length && marks[k + 1]! <= start; k += 3) {
        filePos = marks[k]!;
        outPos = marks[k + 1]!;
        before = marks[k + 2]!;
      }
    }
    const enc = new CrlfEncoder(before);
    while (outPos < end) {
      let chunk: Buffer;
      if (filePos < this.fileSize) {
        const buf = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, this.fileSize - filePos));
        // Sequential reads where the offset already is, so that it tells how far the read has got (/proc/PID/fdinfo).
        const { bytesRead } = await this.fh.read(buf, 0, buf.length, filePos === this.offset ? null : filePos);
        if (bytesRead === 0) throw new MessageChangedError(`message file shrank to ${filePos} of ${this.fileSize} octets while being sent`);
        if (filePos === this.offset) this.offset += bytesRead;
        filePos += bytesRead;
        chunk = direct ? buf.subarray(0, bytesRead) : enc.push(buf.subarray(0, bytesRead));
        const lastMark = this.marks.length ? this.marks[this.marks.length - 3]! : 0;
        if (!direct && filePos % MARK_EVERY === 0 && filePos > lastMark) this.marks.push(filePos, outPos + chunk.length, buf[bytesRead - 1]!);
      } else if (!direct && filePos === this.fileSize) {
        chunk = enc.end();
        filePos++;
      } else throw new MessageChangedError(`message file gave ${outPos} of ${this.size} octets`);
      const from = outPos;
      outPos += chunk.length;
      if (outPos <= start) continue;
      yield chunk.subarray(Math.max(0, start - from), Math.min(chunk.length, end - from));
    }
    // A file that grew (or was rewritten to another size) meanwhile: what went out may be a mix.
    if ((await this.fh.stat()).size !== this.fileSize) throw new MessageChangedError('message file changed size while being sent');
  }

  /**
   * The header in CRLF form through the blank line that ends it (what
   * ./mime.ts's parser takes as the header: up to the first CRLF CRLF, or
   * an empty header when the message starts with CRLF), the whole message
   * when it has no blank line, or undefined when the header goes on past
   * `max` octets.
   */
  async head(max: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    for await (const chunk of this.range(0, this.size)) {
      parts.push(Buffer.from(chunk));
      got += chunk.length;
      const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) return buf.subarray(0, 2);
      // A CRLF CRLF may straddle two chunks: look from a little before the new one.
      const i = buf.indexOf('\r\n\r\n', Math.max(0, got - chunk.length - 3));
      if (i !== -1) return buf.subarray(0, i + 4);
      if (got >= max) return undefined;
      parts.length = 0;
      parts.push(buf);
    }
    return parts.length ? parts[0] : Buffer.alloc(0);
  }

  close(): Promise<void> {
    return this.fh.close().catch(() => {});
  }
}
