/**
 * SEARCH (RFC 3501 §6.4.4) with every key of the RFC: the criteria are
 * compiled into a tree once, then evaluated per message with only the data
 * the keys need (flags and sizes need no file read; headers and bodies do).
 */
import { decodeBody, decodeHeader, fold } from './decode.js';
import { parseSearchDate, LoadedMessage } from './fetch.js';
import { headerValue, type Part } from './mime.js';
import { astring, ParseError, type Token } from './parser.js';
import { parseSequenceSet, type SeqRange } from './sequence.js';

export type Key =
  | { k: 'all' }
  | { k: 'flag'; flag: string; set: boolean }
  | { k: 'recent'; set: boolean }
  | { k: 'new' }
  | { k: 'header'; field: string; value: string }
  | { k: 'body'; value: string }
  | { k: 'text'; value: string }
  | { k: 'date'; which: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'size'; op: 'larger' | 'smaller'; n: number }
  | { k: 'seq'; set: SeqRange[] }
  | { k: 'uid'; set: SeqRange[] }
  | { k: 'not'; a: Key }
  | { k: 'or'; a: Key; b: Key }
  | { k: 'and'; list: Key[] };

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true], DELETED: ['\\Deleted', true], DRAFT: ['\\Draft', true], FLAGGED: ['\\Flagged', true], SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false], UNDELETED: ['\\Deleted', false], UNDRAFT: ['\\Draft', false], UNFLAGGED: ['\\Flagged', false], UNSEEN: ['\\Seen', false],
};
const HEADER_KEYS: Record<string, string> = { BCC: 'bcc', CC: 'cc', FROM: 'from', SUBJECT: 'subject', TO: 'to' };
const DATE_KEYS: Record<string, ['internal' | 'sent', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'], ON: ['internal', 'on'], SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'], SENTON: ['sent', 'on'], SENTSINCE: ['sent', 'since'],
};
const KNOWN_CHARSETS = /^(us-ascii|utf-8|iso-8859-\d+|windows-125\d|koi8-r|koi8-u|shift_jis|euc-jp|iso-2022-jp|gb2312|gbk|gb18030|big5|euc-kr)$/i;

export function parseSearch(args: Token[]): { key: Key; charset?: string } {
  let i = 0;
  let charset: string | undefined;
  if (args[0]?.type === 'atom' && args[0].value.toUpperCase() === 'CHARSET') {
    charset = astring(args[1], 'charset');
    if (!KNOWN_CHARSETS.test(charset)) throw Object.assign(new ParseError('Unsupported charset'), { badCharset: true });
    i = 2;
  }
  const list: Key[] = [];
  const rest = args.slice(i);
  let pos = 0;
  const next = (): Key => {
    const t = rest[pos++];
    if (!t) throw new ParseError('Missing search key');
    return key(t, () => rest[pos++], 0);
  };
  while (pos < rest.length) list.push(next());
  if (!list.length) throw new ParseError('Missing search key');
  return { key: list.length === 1 ? list[0]! : { k: 'and', list }, charset };
}

function key(t: Token, take: () => Token | undefined, depth: number): Key {
  if (depth > 64) throw new ParseError('Search too deeply nested');
  if (t.type === 'list') {
    if (!t.items.length) throw new ParseError('Empty search list');
    let p = 0;
    const list: Key[] = [];
    const inner = () => t.items[p++];
    while (p < t.items.length) list.push(key(t.items[p++]!, inner, depth + 1));
    return list.length === 1 ? list[0]! : { k: 'and', list };
  }
  if (t.type !== 'atom') throw new ParseError('Bad search key');
  const u = t.value.toUpperCase();
  const str = () => fold(astring(take(), 'search string'));
  const num = () => {
    const v = astring(take(), 'number');
    if (!/^\d{1,10}$/.test(v)) throw new ParseError('Bad number');
    return Number(v);
  };
  if (u === 'ALL') return { k: 'all' };
  if (FLAG_KEYS[u]) return { k: 'flag', flag: FLAG_KEYS[u]![0], set: FLAG_KEYS[u]![1] };
  if (u === 'KEYWORD' || u === 'UNKEYWORD') return { k: 'flag', flag: astring(take(), 'keyword'), set: u === 'KEYWORD' };
  if (u === 'RECENT') return { k: 'recent', set: true };
  if (u === 'OLD') return { k: 'recent', set: false };
  if (u === 'NEW') return { k: 'new' };
  if (HEADER_KEYS[u]) return { k: 'header', field: HEADER_KEYS[u]!, value: str() };
  if (u === 'HEADER') {
    const field = astring(take(), 'header name').toLowerCase();
    return { k: 'header', field, value: str() };
  }
  if (u === 'BODY') return { k: 'body', value: str() };
  if (u === 'TEXT') return { k: 'text', value: str() };
  if (DATE_KEYS[u]) {
    const day = parseSearchDate(astring(take(), 'date').replace(/^"|"$/g, ''));
    if (day === undefined) throw new ParseError('Bad date');
    return { k: 'date', which: DATE_KEYS[u]![0], op: DATE_KEYS[u]![1], day };
  }
  if (u === 'LARGER' || u === 'SMALLER') return { k: 'size', op: u === 'LARGER' ? 'larger' : 'smaller', n: num() };
  if (u === 'UID') return { k: 'uid', set: parseSequenceSet(astring(take(), 'UID set')) };
  if (u === 'NOT') {
    const a = take();
    if (!a) throw new ParseError('NOT needs a key');
    return { k: 'not', a: key(a, take, depth + 1) };
  }
  if (u === 'OR') {
    const a = take();
    const a1 = a && key(a, take, depth + 1);
    const b = take();
    if (!a1 || !b) throw new ParseError('OR needs two keys');
    return { k: 'or', a: a1, b: key(b, take, depth + 1) };
  }
  if (/^[0-9*:,]+$/.test(u)) return { k: 'seq', set: parseSequenceSet(u) };
  throw new ParseError(`Unknown search key`);
}

export interface Needs {
  message: boolean;
  date: boolean;
}

export function needs(k: Key, n: Needs = { message: false, date: false }): Needs {
  switch (k.k) {
    case 'header': case 'body': case 'text': n.message = true; break;
    case 'date': if (k.which === 'sent') n.message = true; else n.date = true; break;
    case 'not': needs(k.a, n); break;
    case 'or': needs(k.a, n); needs(k.b, n); break;
    case 'and': for (const x of k.list) needs(x, n); break;
    default:
  }
  return n;
}

export interface Candidate {
  seq: number;
  uid: number;
  flags: Set<string>;
  recent: boolean;
  size: number;
  internalDate?: Date;
  message?: LoadedMessage;
  maxSeq: number;
  maxUid: number;
}

function inSet(set: SeqRange[], n: number, max: number): boolean {
  for (const [a0, b0] of set) {
    const a = a0 === -1 ? max : a0;
    const b = b0 === -1 ? max : b0;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}

function dayOf(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

function compareDay(ms: number, op: 'before' | 'on' | 'since', day: number): boolean {
  const d = dayOf(ms);
  return op === 'before' ? d < day : op === 'on' ? d === day : d >= day;
}

/** Decoded text of every text part (for BODY and TEXT). */
function bodyText(msg: LoadedMessage, part: Part, out: string[], depth = 0): void {
  if (depth > 20) return;
  if (part.contentType.type === 'multipart') for (const c of part.children) bodyText(msg, c, out, depth + 1);
  else if (part.isMessage) {
    const inner = part.children[0]!;
    out.push(decodeHeader(msg.buf.toString('latin1', inner.start, inner.headerEnd)));
    bodyText(msg, inner, out, depth + 1);
  } else if (part.contentType.type === 'text' || part.contentType.type === 'message') {
    const cs = part.contentType.params.find(([k]) => k.toLowerCase() === 'charset')?.[1];
    out.push(decodeBody(msg.buf.subarray(part.bodyStart, part.end), headerValue(part.headers, 'content-transfer-encoding'), cs));
  }
}

export function matches(k: Key, c: Candidate): boolean {
  switch (k.k) {
    case 'all': return true;
    case 'flag': {
      let has = c.flags.has(k.flag);
      if (!has && !k.flag.startsWith('\\')) for (const f of c.flags) if (f.toLowerCase() === k.flag.toLowerCase()) has = true;
      return has === k.set;
    }
    case 'recent': return c.recent === k.set;
    case 'new': return c.recent && !c.flags.has('\\Seen');
    case 'size': return k.op === 'larger' ? c.size > k.n : c.size < k.n;
    case 'seq': return inSet(k.set, c.seq, c.maxSeq);
    case 'uid': return inSet(k.set, c.uid, c.maxUid);
    case 'not': return !matches(k.a, c);
    case 'or': return matches(k.a, c) || matches(k.b, c);
    case 'and': return k.list.every((x) => matches(x, c));
    case 'date': {
      if (k.which === 'internal') return !!c.internalDate && compareDay(c.internalDate.getTime(), k.op, k.day);
      const v = c.message && headerValue(c.message.tree.headers, 'date');
      const t = v ? Date.parse(v.replace(/\r\n/g, '').replace(/\([^)]*\)/g, '')) : NaN;
      if (Number.isNaN(t)) return false;
      // The sent date is compared by its own day, ignoring the time zone (§6.4.4).
      const m = /([+-])(\d{2})(\d{2})\s*$/.exec(v!.trim());
      const off = m ? (Number(m[2]) * 60 + Number(m[3])) * 60_000 * (m[1] === '+' ? 1 : -1) : 0;
      return compareDay(t + off, k.op, k.day);
    }
    case 'header': {
      if (!c.message) return false;
      const hs = c.message.tree.headers.filter((h) => h.lower === k.field);
      if (!hs.length) return false;
      // HEADER field "" matches every message with that field.
      return hs.some((h) => fold(decodeHeader(h.value)).includes(k.value));
    }
    case 'body':
    case 'text': {
      if (!c.message) return false;
      const msg = c.message;
      if (k.k === 'text' && fold(decodeHeader(msg.buf.toString('latin1', msg.tree.start, msg.tree.headerEnd))).includes(k.value)) return true;
      const parts: string[] = [];
      bodyText(msg, msg.tree, parts);
      return parts.some((p) => fold(p).includes(k.value));
    }
  }
}
