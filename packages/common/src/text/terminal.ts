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
