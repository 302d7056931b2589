/**
 * Text from the network on its way to a terminal or a log. A terminal acts
 * on C0 controls (ESC starts escape sequences that can retitle the window,
 * rewrite the screen or, on some emulators, answer back), on DEL, and in
 * UTF-8 mode often on C1 controls (U+009B is a one-character CSI); bidi
 * overrides and isolates reorder what the reader sees (CVE-2021-42574).
 * Every such code point becomes a visible escape; a lone surrogate (what
 * broken UTF-16 or mis-decoded bytes leave) too. Invalid UTF-8 decodes to
 * U+FFFD before it gets here, which is visible already.
 */

/** Code points a terminal or a reader must not get raw. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\0': '\\0' };

function visible(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * One value made safe for a terminal: C0, DEL, C1, bidi controls and lone
 * surrogates as visible escapes ("\x1b", "\u{202e}"; "\n", "\t" and the like by name).
 * A newline is escaped too: one value never spans lines.
 */
export function escapeForTerminal(text: string): string {
  if (!UNSAFE_TEST.test(text)) return text;
  return text.replace(UNSAFE, visible);
}

/**
 * Text a program prints, possibly several lines: each line made safe, the
 * line breaks kept.
 */
export function escapeLines(text: string): string {
  if (!UNSAFE_TEST.test(text)) return text;
  return text.split('\n').map(escapeForTerminal).join('\n');
}

/** The code points JSON.stringify leaves raw that a terminal would act on. */
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * One JSON log line (no newline): JSON.stringify escapes C0 and lone
 * surrogates but writes DEL, C1 and bidi controls raw; here they become
 * \uNNNN escapes, the same value to any JSON reader and inert on a terminal.
 */
export function jsonLine(record: unknown): string {
  const s = JSON.stringify(record);
  JSON_UNSAFE.lastIndex = 0;
  if (!JSON_UNSAFE.test(s)) return s;
  return s.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Printable ASCII other than '"' and '\': written by JSON as it is, shown by a terminal as it is. */
function plainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** Writes the ASCII string s at out[at…]; returns the end, or -1 past `end`. */
function putAscii(s: string, out: Uint8Array, at: number, end: number): number {
  const n = s.length;
  if (at + n > end) return -1;
  for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i);
  return at + n;
}

/** A number as JSON writes it: a non-negative safe integer digit by digit, anything else through String(). */
function putNumber(v: number, out: Uint8Array, at: number, end: number): number {
  if (!Number.isFinite(v)) return putAscii('null', out, at, end);
  if (!Number.isSafeInteger(v) || v < 0) return putAscii(String(v), out, at, end);
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  if (at + digits > end) return -1;
  for (let i = at + digits - 1, t = v; i >= at; i--, t = Math.floor(t / 10)) out[i] = 0x30 + (t % 10);
  return at + digits;
}

/**
 * jsonLine(record) + "\n" written straight into out[at…end] as UTF-8, for
 * the common request-log record: a plain object whose values are
 * plain-ASCII strings, numbers, booleans or arrays of numbers, with
 * plain-ASCII keys. The same bytes jsonLine gives, without building the
 * string, JSON.stringify or the escaping pass (a log line per request
 * showed in the KDC's CPU profile). Returns the end offset; -1 when the
 * record is not of that form or does not fit (out[at…] may then hold a
 * partial line: the caller has not counted it), for jsonLine to handle.
 */
export function jsonLineInto(record: unknown, out: Uint8Array, at: number, end = out.length): number {
  if (typeof record !== 'object' || record === null || Object.getPrototypeOf(record) !== Object.prototype || 'toJSON' in record) return -1;
  const r = record as Record<string, unknown>;
  let p = at;
  if (p >= end) return -1;
  out[p++] = 0x7b; // {
  let first = true;
  for (const k in r) {
    const v = r[k];
    // JSON.stringify leaves these keys out.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (!plainAscii(k) || p + k.length + 4 > end) return -1;
    if (!first) out[p++] = 0x2c; // ,
    first = false;
    out[p++] = 0x22;
    p = putAscii(k, out, p, end);
    out[p++] = 0x22;
    out[p++] = 0x3a; // :
    if (typeof v === 'string') {
      if (!plainAscii(v) || p + v.length + 2 > end) return -1;
      out[p++] = 0x22;
      p = putAscii(v, out, p, end);
      out[p++] = 0x22;
    } else if (typeof v === 'number') {
      p = putNumber(v, out, p, end);
    } else if (typeof v === 'boolean') {
      p = putAscii(v ? 'true' : 'false', out, p, end);
    } else if (Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype) {
      if (p >= end) return -1;
      out[p++] = 0x5b; // [
      for (let i = 0; i < v.length && p >= 0; i++) {
        const n: unknown = v[i];
        if (typeof n !== 'number') return -1;
        if (i > 0) {
          if (p >= end) return -1;
          out[p++] = 0x2c;
        }
        p = putNumber(n, out, p, end);
      }
      if (p < 0 || p >= end) return -1;
      out[p++] = 0x5d; // ]
    } else {
      return -1;
    }
    if (p < 0) return -1;
  }
  if (p + 2 > end) return -1;
  out[p++] = 0x7d; // }
  out[p++] = 0x0a; // \n
  return p;
}
