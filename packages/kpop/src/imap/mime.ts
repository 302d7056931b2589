/**
 * MIME structure for FETCH (RFC 3501 §6.4.5, §7.4.2): a message as a tree of
 * parts with byte offsets into the CRLF message, from which ENVELOPE,
 * BODYSTRUCTURE, BODY and every BODY[section] come. Our own parser, because
 * IMAP needs offsets and exact header bytes that streaming MIME libraries
 * throw away. Like Dovecot, header values go out as they are (encoded words
 * and 8-bit text untouched; decoding is SEARCH's business), and a malformed
 * message still gets a structure: a missing boundary makes the rest one
 * part, a bad Content-Type is text/plain (RFC 2045 §5.2), nesting is capped.
 */

export interface Header {
  /** Field name as written. */
  name: string;
  lower: string;
  /** Unfolded value bytes (latin1 string: one char per octet), leading space trimmed. */
  value: string;
}

export interface ContentType {
  type: string;
  subtype: string;
  params: [string, string][];
}

export interface Part {
  /** Offsets into the message: the part's header starts at `start`, its body at `bodyStart`, it ends at `end`. */
  start: number;
  headerEnd: number;
  bodyStart: number;
  end: number;
  headers: Header[];
  contentType: ContentType;
  /** multipart/*: the parts; message/rfc822: one child, the encapsulated message. */
  children: Part[];
  isMessage: boolean;
}

const MAX_DEPTH = 20;
const MAX_PARTS = 2000;
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Where the header ends: bodyStart is after the empty line; a message of only header has none. */
function splitHeader(buf: Buffer, start: number, end: number): { headerEnd: number; bodyStart: number } {
  if (end - start >= 2 && buf[start] === 0x0d && buf[start + 1] === 0x0a) return { headerEnd: start, bodyStart: start + 2 };
  const i = buf.indexOf(CRLF_CRLF, start);
  if (i === -1 || i + 4 > end) return { headerEnd: end, bodyStart: end };
  return { headerEnd: i + 2, bodyStart: i + 4 };
}

export function parseHeaders(buf: Buffer, start: number, end: number): Header[] {
  const text = buf.toString('latin1', start, end);
  const out: Header[] = [];
  let cur: { name: string; value: string } | undefined;
  for (const line of text.split('\r\n')) {
    if (!line) continue;
    if ((line[0] === ' ' || line[0] === '\t') && cur) {
      cur.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      cur = undefined;
      continue;
    }
    const name = line.slice(0, colon).trimEnd();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
      cur = undefined;
      continue;
    }
    cur = { name, value: line.slice(colon + 1) };
    out.push(cur as Header);
  }
  for (const h of out) {
    h.value = h.value.replace(/^[ \t]+/, '');
    h.lower = h.name.toLowerCase();
  }
  return out;
}

export function headerValue(headers: Header[], lower: string): string | undefined {
  return headers.find((h) => h.lower === lower)?.value;
}

/** RFC 2045 §5.1 tokens and quoted strings; RFC 2231 parameters kept as written (Dovecot does too). */
export function parseParams(text: string): { value: string; params: [string, string][] } {
  let i = 0;
  const skip = () => {
    for (;;) {
      while (i < text.length && /[ \t\r\n]/.test(text[i]!)) i++;
      if (text[i] !== '(') return;
      // RFC 5322 comment, nested.
      let d = 0;
      for (; i < text.length; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '(') d++;
        else if (text[i] === ')' && --d === 0) {
          i++;
          break;
        }
      }
    }
  };
  const token = () => {
    const s = i;
    while (i < text.length && !/[ \t\r\n;=()"]/.test(text[i]!)) i++;
    return text.slice(s, i);
  };
  const quoted = () => {
    i++;
    let v = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < text.length) i++;
      v += text[i++];
    }
    i++;
    return v;
  };
  skip();
  let value = '';
  while (i < text.length && text[i] !== ';') {
    if (text[i] === '"') value += quoted();
    else if (/[ \t\r\n(]/.test(text[i]!)) skip();
    else value += text[i++];
  }
  const params: [string, string][] = [];
  while (i < text.length && params.length < 100) {
    if (text[i] === ';') i++;
    skip();
    const name = token();
    skip();
    if (!name || text[i] !== '=') {
      while (i < text.length && text[i] !== ';') i++;
      continue;
    }
    i++;
    skip();
    const v = text[i] === '"' ? quoted() : token();
    params.push([name, v]);
    skip();
    while (i < text.length && text[i] !== ';') i++;
  }
  return { value: value.trim(), params };
}

export function parseContentType(value: string | undefined, dflt: ContentType): ContentType {
  if (value === undefined) return dflt;
  const { value: v, params } = parseParams(value);
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(v);
  // RFC 2045 §5.2: an unreadable Content-Type is text/plain; charset=us-ascii.
  if (!m) return { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
  return { type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), params };
}

const TEXT_PLAIN: ContentType = { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
const MESSAGE_RFC822: ContentType = { type: 'message', subtype: 'rfc822', params: [] };

export function parseMessage(buf: Buffer): Part {
  const counter = { parts: 0 };
  return parsePart(buf, 0, buf.length, TEXT_PLAIN, 0, counter);
}

function parsePart(buf: Buffer, start: number, end: number, dflt: ContentType, depth: number, counter: { parts: number }): Part {
  counter.parts++;
  const { headerEnd, bodyStart } = splitHeader(buf, start, end);
  const headers = parseHeaders(buf, start, headerEnd);
  const contentType = parseContentType(headerValue(headers, 'content-type'), dflt);
  const part: Part = { start, headerEnd, bodyStart, end, headers, contentType, children: [], isMessage: false };
  if (depth >= MAX_DEPTH || counter.parts >= MAX_PARTS) {
    if (contentType.type === 'multipart' || contentType.type === 'message') part.contentType = TEXT_PLAIN;
    return part;
  }
  if (contentType.type === 'multipart') {
    const boundary = contentType.params.find(([k]) => k.toLowerCase() === 'boundary')?.[1];
    if (!boundary) {
      // RFC 2046 §5.1.1: a multipart without a boundary cannot be split; as Dovecot, a text part.
      part.contentType = { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
      return part;
    }
    const childDefault = contentType.subtype === 'digest' ? MESSAGE_RFC822 : TEXT_PLAIN;
    for (const [s, e] of splitMultipart(buf, bodyStart, end, boundary)) {
      if (counter.parts >= MAX_PARTS) break;
      part.children.push(parsePart(buf, s, e, childDefault, depth + 1, counter));
    }
    if (part.children.length === 0) {
      // No boundary line at all: one empty part, so the structure stays valid.
      part.children.push({ start: end, headerEnd: end, bodyStart: end, end, headers: [], contentType: TEXT_PLAIN, children: [], isMessage: false });
    }
  } else if (contentType.type === 'message' && contentType.subtype === 'rfc822') {
    const enc = headerValue(headers, 'content-transfer-encoding')?.trim().toLowerCase();
    if (!enc || enc === '7bit' || enc === '8bit' || enc === 'binary') {
      part.isMessage = true;
      part.children.push(parsePart(buf, bodyStart, end, TEXT_PLAIN, depth + 1, counter));
    } else {
      // An encoded message/rfc822 (against RFC 2046 §5.2.1) is opaque data.
      part.contentType = { type: 'application', subtype: 'octet-stream', params: contentType.params };
    }
  }
  return part;
}

/**
 * RFC 2046 §5.1.1: body parts between "--boundary" lines, up to
 * "--boundary--". The CRLF before a delimiter belongs to the delimiter.
 */
function splitMultipart(buf: Buffer, start: number, end: number, boundary: string): [number, number][] {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const out: [number, number][] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    let i = buf.indexOf(delim, pos);
    if (i === -1 || i >= end) break;
    const atLineStart = i === start || (i >= 2 && buf[i - 2] === 0x0d && buf[i - 1] === 0x0a);
    if (!atLineStart) {
      pos = i + 1;
      continue;
    }
    let after = i + delim.length;
    const closing = buf[after] === 0x2d && buf[after + 1] === 0x2d;
    if (closing) after += 2;
    // The rest of the delimiter line: only whitespace is allowed (transport padding).
    let eol = buf.indexOf(0x0a, after);
    if (eol === -1 || eol >= end) eol = end - 1;
    const boundaryStart = i === start ? i : i - 2;
    if (partStart !== -1) out.push([partStart, Math.max(partStart, boundaryStart)]);
    if (closing) return out;
    partStart = eol + 1;
    pos = partStart;
    i = pos;
  }
  // No closing delimiter: the last part runs to the end (RFC 2046 says it must not; Dovecot accepts it).
  if (partStart !== -1 && partStart <= end) out.push([partStart, end]);
  return out;
}

/** Line count of a body (for BODYSTRUCTURE's text and message parts). */
export function countLines(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a, start); i !== -1 && i < end; i = buf.indexOf(0x0a, i + 1)) n++;
  if (end > start && buf[end - 1] !== 0x0a) n++;
  return n;
}

// ---- section addressing (§6.4.5) -------------------------------------------------

/** The part a section's part numbers name ("1.2"); undefined when there is none. */
export function findPart(root: Part, path: number[]): Part | undefined {
  let cur = root;
  for (const n of path) {
    // Inside a message/rfc822, numbers address the encapsulated message's parts.
    if (cur.isMessage) cur = cur.children[0]!;
    if (cur.contentType.type === 'multipart') {
      const c = cur.children[n - 1];
      if (!c) return undefined;
      cur = c;
    } else {
      // A non-multipart has one part: itself, number 1.
      if (n !== 1) return undefined;
    }
  }
  return cur;
}
