/**
 * Splits the IMAP client stream into commands (RFC 3501 §2.2): a command is
 * a line, but a line ending in a literal `{n}` or `{n+}` (LITERAL+, RFC 7888)
 * continues after n more octets. A synchronizing literal is only sent by the
 * client after our "+" continuation, which the reader asks for (onContinue)
 * once the announced size passed the limits; a size over the limit is refused
 * before a byte of it is stored (RFC 7888 §4: a non-synchronizing one can
 * only be answered by closing the connection). Lines over the limit are
 * discarded up to their LF, never buffered whole.
 */

export interface ReaderLimits {
  /** One line of text (between literals): GSSAPI tokens come on one line. */
  maxLine: number;
  /** One literal, for APPEND (its message) and for everything else. */
  maxAppendLiteral: number;
  maxLiteral: number;
  /** A whole command, literals included, other than APPEND. */
  maxCommand: number;
}

export const DEFAULT_LIMITS: ReaderLimits = {
  maxLine: 64 * 1024,
  maxAppendLiteral: 64 * 1024 * 1024,
  maxLiteral: 64 * 1024,
  maxCommand: 1024 * 1024,
};

export type ReaderEvent =
  | { kind: 'command'; data: Buffer }
  /** The line overran maxLine: the tag if we saw one. */
  | { kind: 'too-long'; tag?: string }
  /** A literal over the limit: sync ones get a tagged NO, non-sync ones a BYE. */
  | { kind: 'literal-too-big'; tag?: string; sync: boolean; size: number };

const LITERAL_AT_END = /\{(\d{1,20})(\+?)\}\r?$/;

export class CommandReader {
  private parts: Buffer[] = [];
  private size = 0;
  /** Octets of literal still to come before the line resumes. */
  private literalLeft = 0;
  private lineStart = 0;
  private discarding = false;
  private discardTag?: string;
  private isAppend?: boolean;

  constructor(private readonly limits: ReaderLimits, private readonly onContinue: () => void) {}

  reset(): void {
    this.parts = [];
    this.size = 0;
    this.literalLeft = 0;
    this.lineStart = 0;
    this.discarding = false;
    this.isAppend = undefined;
  }

  /** True while part of a command (a line or its literals) is buffered: the command deadline runs. */
  get pending(): boolean {
    return this.size > 0 || this.discarding;
  }

  /** The name the shared connection (../net/line-connection.ts) reads. */
  get partial(): boolean {
    return this.pending;
  }

  /** True while a literal is being received (the session must not time out on it). */
  get inLiteral(): boolean {
    return this.literalLeft > 0;
  }

  push(chunk: Buffer): ReaderEvent[] {
    const out: ReaderEvent[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - pos);
        this.append(chunk.subarray(pos, pos + take));
        this.literalLeft -= take;
        pos += take;
        if (this.literalLeft === 0) this.lineStart = this.size;
        continue;
      }
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl === -1 ? chunk.length : nl;
      if (this.discarding) {
        pos = end + 1;
        if (nl !== -1) {
          this.discarding = false;
          out.push({ kind: 'too-long', tag: this.discardTag });
          this.reset();
        }
        continue;
      }
      const piece = chunk.subarray(pos, end);
      if (this.size - this.lineStart + piece.length > this.limits.maxLine || this.size + piece.length > this.commandLimit()) {
        this.discardTag = this.tag(this.parts.length ? Buffer.concat([this.parts[0]!, piece.subarray(0, 80)]) : piece);
        this.parts = [];
        this.size = 0;
        this.discarding = true;
        pos = end + 1;
        if (nl !== -1) {
          this.discarding = false;
          out.push({ kind: 'too-long', tag: this.discardTag });
          this.reset();
        }
        continue;
      }
      this.append(piece);
      pos = end + 1;
      if (nl === -1) break;
      // A complete line: does it announce a literal?
      const line = this.lineText();
      const m = LITERAL_AT_END.exec(line);
      if (!m) {
        let data = Buffer.concat(this.parts, this.size);
        if (data.length && data[data.length - 1] === 0x0d) data = data.subarray(0, data.length - 1);
        out.push({ kind: 'command', data });
        this.reset();
        continue;
      }
      const n = Number(m[1]);
      const sync = m[2] !== '+';
      if (this.isAppend === undefined) this.isAppend = /^\S+ (?:UID )?APPEND /i.test(this.headText());
      const max = this.isAppend ? this.limits.maxAppendLiteral : this.limits.maxLiteral;
      if (n > max || this.size + n > this.commandLimit()) {
        out.push({ kind: 'literal-too-big', tag: this.tag(this.parts[0] ?? Buffer.alloc(0)), sync, size: n });
        this.reset();
        // A non-synchronizing literal is on its way: the session closes the connection.
        if (!sync) return out;
        continue;
      }
      this.append(Buffer.from('\n'));
      this.literalLeft = n;
      this.lineStart = this.size;
      if (n === 0) this.lineStart = this.size;
      if (sync) this.onContinue();
    }
    return out;
  }

  private commandLimit(): number {
    return this.isAppend ? this.limits.maxAppendLiteral + this.limits.maxCommand : this.limits.maxCommand;
  }

  private append(b: Buffer): void {
    if (!b.length) return;
    // Copy: the chunk's buffer is reused by the socket.
    this.parts.push(Buffer.from(b));
    this.size += b.length;
  }

  /** The text of the current line (after the last literal). */
  private lineText(): string {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    if (this.parts.length > 1) this.parts = [all];
    return all.subarray(this.lineStart).toString('latin1');
  }

  private headText(): string {
    return (this.parts[0] ?? Buffer.alloc(0)).subarray(0, 64).toString('latin1');
  }

  private tag(first: Buffer): string | undefined {
    const t = /^([\x21-\x7e]{1,64}?) /.exec(first.subarray(0, 80).toString('latin1'));
    return t && /^[^(){%*"\\\]+]+$/.test(t[1]!) ? t[1] : undefined;
  }
}
