/**
 * IMAP command syntax (RFC 3501 §9) as a token tree: atoms, strings (quoted
 * or literal, `{n}`/`{n+}`), and parenthesised lists, nested at most
 * MAX_DEPTH deep. A FETCH section such as `BODY.PEEK[HEADER.FIELDS (A B)]<0.9>`
 * stays one atom (its brackets may hold spaces and parentheses); handlers
 * take it apart (./fetch.ts). Pure functions: bytes in, tree or ParseError out.
 */

export type Token =
  | { type: 'atom'; value: string }
  | { type: 'string'; value: Buffer; literal: boolean }
  | { type: 'list'; items: Token[] };

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseError';
  }
}

export const MAX_DEPTH = 32;

export interface Command {
  tag: string;
  name: string;
  /** UID FETCH etc.: name is the inner command. */
  uid: boolean;
  args: Token[];
}

const SP = 0x20;
const ATOM_STOP = new Set([0x20, 0x28, 0x29, 0x7b, 0x22, 0x0d, 0x0a]);

function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && !ATOM_STOP.has(c) || c >= 0x80;
}

export class Tokenizer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Tokens up to the end of the buffer, separated by single spaces. */
  all(): Token[] {
    const out: Token[] = [];
    while (!this.done) {
      out.push(this.token(0));
      if (this.done) break;
      if (this.buf[this.pos] !== SP) throw new ParseError('Expected a space');
      this.pos++;
      if (this.done) throw new ParseError('Trailing space');
    }
    return out;
  }

  token(depth: number): Token {
    const c = this.buf[this.pos];
    if (c === undefined) throw new ParseError('Missing argument');
    if (c === 0x28) return this.list(depth + 1);
    if (c === 0x22) return this.quoted();
    if (c === 0x7b) return this.literal();
    return this.atom();
  }

  private list(depth: number): Token {
    if (depth > MAX_DEPTH) throw new ParseError('Too deeply nested');
    this.pos++;
    const items: Token[] = [];
    for (;;) {
      const c = this.buf[this.pos];
      if (c === undefined) throw new ParseError('Missing )');
      if (c === 0x29) {
        this.pos++;
        return { type: 'list', items };
      }
      if (items.length) {
        if (c !== SP) throw new ParseError('Expected a space in list');
        this.pos++;
        // Tolerate "( A)" and "(A )" no further than one space.
        if (this.buf[this.pos] === 0x29) continue;
      }
      items.push(this.token(depth));
    }
  }

  private quoted(): Token {
    this.pos++;
    const bytes: number[] = [];
    for (;;) {
      const c = this.buf[this.pos++];
      if (c === undefined || c === 0x0d || c === 0x0a) throw new ParseError('Unterminated quoted string');
      if (c === 0x22) break;
      if (c === 0x5c) {
        const n = this.buf[this.pos++];
        if (n !== 0x22 && n !== 0x5c) throw new ParseError('Bad escape in quoted string');
        bytes.push(n);
      } else bytes.push(c);
    }
    return { type: 'string', value: Buffer.from(bytes), literal: false };
  }

  private literal(): Token {
    const close = this.buf.indexOf(0x7d, this.pos);
    if (close === -1) throw new ParseError('Bad literal');
    const spec = this.buf.subarray(this.pos + 1, close).toString('latin1');
    const m = /^(\d{1,20})\+?$/.exec(spec);
    if (!m) throw new ParseError('Bad literal size');
    const n = Number(m[1]);
    let p = close + 1;
    if (this.buf[p] === 0x0d) p++;
    if (this.buf[p] !== 0x0a) throw new ParseError('Literal must end its line');
    p++;
    if (p + n > this.buf.length) throw new ParseError('Literal is short');
    this.pos = p + n;
    return { type: 'string', value: this.buf.subarray(p, p + n), literal: true };
  }

  private atom(): Token {
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.buf.length) {
      const c = this.buf[this.pos]!;
      if (c === 0x5b) depth++;
      else if (c === 0x5d && depth > 0) depth--;
      else if (depth === 0 ? !isAtomChar(c) : c === 0x0d || c === 0x0a) break;
      this.pos++;
    }
    if (depth > 0) throw new ParseError('Missing ]');
    if (this.pos === start) throw new ParseError('Unexpected character');
    return { type: 'atom', value: this.buf.subarray(start, this.pos).toString('utf8') };
  }
}

/** Tag SP command [SP UID-subcommand] SP args. */
export function parseCommand(data: Buffer): Command {
  const t = new Tokenizer(data);
  const sp1 = data.indexOf(SP);
  const tagText = (sp1 === -1 ? data : data.subarray(0, sp1)).toString('latin1');
  if (!tagText || !/^[\x21-\x7e]+$/.test(tagText) || /[(){%*"\\+]/.test(tagText)) throw new ParseError('Bad tag');
  if (sp1 === -1) throw Object.assign(new ParseError('Missing command'), { tag: tagText });
  t.pos = sp1 + 1;
  let tokens: Token[];
  try {
    tokens = t.all();
  } catch (e) {
    throw Object.assign(e as Error, { tag: tagText });
  }
  const first = tokens.shift();
  if (!first || first.type !== 'atom') throw Object.assign(new ParseError('Missing command'), { tag: tagText });
  let name = first.value.toUpperCase();
  let uid = false;
  if (name === 'UID') {
    const sub = tokens.shift();
    if (!sub || sub.type !== 'atom') throw Object.assign(new ParseError('UID needs a command'), { tag: tagText });
    name = sub.value.toUpperCase();
    uid = true;
  }
  return { tag: tagText, name, uid, args: tokens };
}

// ---- helpers for handlers ----------------------------------------------------

export function isAtom(t: Token | undefined, value?: string): t is { type: 'atom'; value: string } {
  return t?.type === 'atom' && (value === undefined || t.value.toUpperCase() === value);
}

/** astring (atom or string) as UTF-8 text. */
export function astring(t: Token | undefined, what = 'argument'): string {
  if (!t || t.type === 'list') throw new ParseError(`Missing ${what}`);
  return t.type === 'atom' ? t.value : t.value.toString('utf8');
}

export function nstringBytes(t: Token | undefined): Buffer | undefined {
  if (!t || t.type === 'list') throw new ParseError('Missing string');
  if (t.type === 'atom') {
    if (t.value.toUpperCase() === 'NIL') return undefined;
    return Buffer.from(t.value);
  }
  return t.value;
}

export function list(t: Token | undefined, what = 'list'): Token[] {
  if (!t || t.type !== 'list') throw new ParseError(`Missing ${what}`);
  return t.items;
}

// ---- output ------------------------------------------------------------------

/**
 * A string for a response, as a byte string (latin1: one char per octet;
 * the session writes responses with that encoding): quoted when it is
 * 7-bit without CR, LF, NUL, else a literal (§4.3).
 */
export function quote(s: string | Buffer): string {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8').toString('latin1') : s.toString('latin1');
  if (bytes.length < 4096 && /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(bytes)) return '"' + bytes.replace(/[\\"]/g, '\\$&') + '"';
  return `{${bytes.length}}\r\n` + bytes;
}

export function nstring(s: string | Buffer | undefined | null): string {
  return s === undefined || s === null ? 'NIL' : quote(s);
}

/** Mailbox names: atoms where safe (Dovecot quotes them all; clients take both). */
export function mailboxOut(name: string): string {
  return quote(name);
}
