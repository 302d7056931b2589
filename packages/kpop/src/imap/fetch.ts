/**
 * FETCH data items (RFC 3501 §6.4.5) and their responses (§7.4.2): parsing
 * the item list (macros ALL, FAST, FULL; BODY[section]<partial> with every
 * section form) and cutting sections out of a parsed message (./mime.ts).
 */
import { findPart, parseMessage, type Part } from './mime.js';
import { bodyStructure, envelope } from './structure.js';
import { ParseError, type Token } from './parser.js';
import type { MessageStream } from './message-stream.js';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME' | '';

export interface Section {
  path: number[];
  text: SectionText;
  fields: string[];
}

export type FetchItem =
  | { kind: 'ENVELOPE' | 'FLAGS' | 'INTERNALDATE' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.SIZE' | 'RFC822.TEXT' | 'BODY' | 'BODYSTRUCTURE' | 'UID' }
  | { kind: 'BODY[]'; peek: boolean; section: Section; partial?: [number, number]; label: string };

const SIMPLE = new Set(['ENVELOPE', 'FLAGS', 'INTERNALDATE', 'RFC822', 'RFC822.HEADER', 'RFC822.SIZE', 'RFC822.TEXT', 'BODY', 'BODYSTRUCTURE', 'UID']);
const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

export function parseFetchItems(args: Token[]): FetchItem[] {
  if (args.length !== 1) throw new ParseError('FETCH needs one item or a list');
  const a = args[0]!;
  if (a.type === 'atom' && MACROS[a.value.toUpperCase()]) return MACROS[a.value.toUpperCase()]!.map((k) => ({ kind: k }) as FetchItem);
  const items = a.type === 'list' ? a.items : [a];
  if (!items.length) throw new ParseError('Empty FETCH list');
  return items.map((t) => {
    if (t.type !== 'atom') throw new ParseError('Bad FETCH item');
    return parseItem(t.value);
  });
}

function parseItem(text: string): FetchItem {
  const up = text.toUpperCase();
  if (SIMPLE.has(up)) return { kind: up } as FetchItem;
  const m = /^(BODY(?:\.PEEK)?)\[([^\]]*)\](?:<(\d{1,10})\.(\d{1,10})>)?$/is.exec(text);
  if (!m) throw new ParseError(`Unknown FETCH item`);
  const section = parseSection(m[2]!);
  const partial: [number, number] | undefined = m[3] !== undefined ? [Number(m[3]), Number(m[4])] : undefined;
  if (partial && partial[1] === 0 && false) throw new ParseError('Bad partial');
  return { kind: 'BODY[]', peek: m[1]!.length > 4, section, partial, label: `BODY[${sectionLabel(section)}]` };
}

export function parseSection(spec: string): Section {
  const m = /^((?:[1-9]\d{0,8}\.)*[1-9]\d{0,8})?(?:\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME))?(?: \((.*)\))?$/is.exec(spec);
  if (!m) throw new ParseError('Bad section');
  const path = m[1] ? m[1].split('.').map(Number) : [];
  if (path.length > 50) throw new ParseError('Bad section');
  const text = (m[2]?.toUpperCase() ?? '') as SectionText;
  if (m[1] && m[2] && spec[m[1].length] !== '.') throw new ParseError('Bad section');
  if (!m[1] && m[2] && spec[0] === '.') throw new ParseError('Bad section');
  if (text === 'MIME' && !path.length) throw new ParseError('MIME needs a part number');
  const hasList = m[3] !== undefined;
  if ((text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') !== hasList) throw new ParseError('Bad header list');
  const fields = hasList ? m[3]!.split(' ').map((f) => f.replace(/^"(.*)"$/, '$1')) : [];
  if (hasList && (!fields.length || fields.some((f) => !/^[\x21-\x39\x3b-\x7e]+$/.test(f)))) throw new ParseError('Bad header list');
  return { path, text, fields };
}

function sectionLabel(s: Section): string {
  let out = s.path.join('.');
  if (s.text) out += (out ? '.' : '') + s.text;
  if (s.fields.length) out += ` (${s.fields.map((f) => f.toUpperCase()).join(' ')})`;
  return out;
}

/** Does the item need the message's bytes? */
export function needsBody(items: FetchItem[]): boolean {
  return items.some((i) => i.kind !== 'FLAGS' && i.kind !== 'UID' && i.kind !== 'INTERNALDATE' && i.kind !== 'RFC822.SIZE');
}

/** Items that set \Seen (§6.4.5: BODY[] without .PEEK, RFC822, RFC822.TEXT). */
export function setsSeen(items: FetchItem[]): boolean {
  return items.some((i) => (i.kind === 'BODY[]' && !i.peek) || i.kind === 'RFC822' || i.kind === 'RFC822.TEXT');
}

/** A parsed message: the CRLF bytes and its part tree, built on demand. */
export class LoadedMessage {
  private root?: Part;
  constructor(readonly buf: Buffer) {}

  get tree(): Part {
    return (this.root ??= parseMessage(this.buf));
  }

  envelope(): string {
    return envelope(this.tree.headers);
  }

  bodyStructure(extensible: boolean): string {
    return bodyStructure(this.buf, this.tree, extensible);
  }

  header(): Buffer {
    const r = this.tree;
    return this.buf.subarray(r.start, r.bodyStart);
  }

  text(): Buffer {
    const r = this.tree;
    return this.buf.subarray(r.bodyStart, r.end);
  }

  /** BODY[section]: the bytes (empty when the part does not exist, as Dovecot answers). */
  section(s: Section): Buffer {
    if (!s.path.length && !s.text) return this.buf;
    let part: Part | undefined = this.tree;
    if (s.path.length) {
      part = findPart(this.tree, s.path);
      if (!part) return Buffer.alloc(0);
    }
    if (s.text === '') {
      // BODY[1]: the part's body (for the top-level non-multipart, the message body).
      return this.buf.subarray(part.bodyStart, part.end);
    }
    if (s.text === 'MIME') return this.buf.subarray(part.start, part.bodyStart);
    // HEADER/TEXT of a part number address a message/rfc822 part's message.
    if (s.path.length) {
      if (!part.isMessage) return Buffer.alloc(0);
      part = part.children[0]!;
    }
    if (s.text === 'TEXT') return this.buf.subarray(part.bodyStart, part.end);
    if (s.text === 'HEADER') return this.buf.subarray(part.start, part.bodyStart);
    return headerFields(this.buf, part, s.fields, s.text === 'HEADER.FIELDS.NOT');
  }
}

/** HEADER.FIELDS (…) / .NOT: the matching field lines as they are, then the blank line. */
export function headerFields(buf: Buffer, part: Part, fields: string[], not: boolean): Buffer {
  const want = new Set(fields.map((f) => f.toLowerCase()));
  const text = buf.toString('latin1', part.start, part.headerEnd);
  const out: string[] = [];
  let keep = false;
  for (const line of text.split('\r\n')) {
    if (!line) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      if (keep) out.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trimEnd().toLowerCase() : '';
    keep = !!name && want.has(name) !== not;
    if (keep) out.push(line);
  }
  return Buffer.from(out.map((l) => l + '\r\n').join('') + '\r\n', 'latin1');
}

/** <origin.octets>: the slice and the response label suffix "<origin>". */
export function partial(data: Buffer, p: [number, number] | undefined): { data: Buffer; suffix: string } {
  if (!p) return { data, suffix: '' };
  const [origin, count] = p;
  if (origin >= data.length) return { data: Buffer.alloc(0), suffix: `<${origin}>` };
  return { data: data.subarray(origin, Math.min(data.length, origin + count)), suffix: `<${origin}>` };
}

// ---- streamed responses (large messages: ./message-stream.ts) ---------------

/** FETCH responses are written in batches of about this many bytes. */
export const FETCH_BATCH = 128 * 1024;
/** Messages up to this size (known from S=) are read whole for FETCH; larger ones are streamed. */
export const STREAM_MIN = 256 * 1024;
/** A streamed message's header is read up to this far; one longer than that gets the message parsed whole. */
export const MAX_STREAMED_HEADER = 1024 * 1024;

/** A literal sent from the file as it is read. */
export interface StreamPiece {
  stream: MessageStream;
  start: number;
  length: number;
}
/** A piece of a FETCH response: bytes, a streamed literal, or the end of a response's stream. */
export type FetchPiece = Buffer | StreamPiece | { close: MessageStream };

/**
 * Items a streamed message can answer: the whole message or its top-level
 * text from the file, its header (and so ENVELOPE and HEADER.FIELDS) from
 * the header alone. BODYSTRUCTURE and part sections need it parsed whole.
 */
export function streamable(it: FetchItem): boolean {
  if (it.kind === 'BODY[]') return !it.section.path.length;
  return it.kind !== 'BODY' && it.kind !== 'BODYSTRUCTURE';
}

/** Items of a streamed message that need its header read first. */
export function needsHead(it: FetchItem): boolean {
  if (it.kind === 'BODY[]') return it.section.text !== '';
  return it.kind === 'ENVELOPE' || it.kind === 'RFC822.HEADER' || it.kind === 'RFC822.TEXT';
}

/** Close the stream of a response that will not be finished. */
export async function closeRest(pieces: FetchPiece[]): Promise<void> {
  for (const p of pieces) if (!Buffer.isBuffer(p) && 'close' in p) await p.close.close();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** date-time (§9): "05-Dec-2026 01:02:03 +0000", in UTC. */
export function formatInternalDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

/** date-time as APPEND gives it; undefined when malformed. */
export function parseDateTime(s: string): Date | undefined {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase());
  if (mon === -1) return undefined;
  const t = Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const off = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '+' ? 1 : -1);
  const d = new Date(t - off);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** date (§9) for SEARCH: "1-Feb-1994" → UTC midnight of that day. */
export function parseSearchDate(s: string): number | undefined {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return undefined;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase());
  if (mon === -1) return undefined;
  return Date.UTC(Number(m[3]), mon, Number(m[1]));
}
