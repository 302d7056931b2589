/**
 * ENVELOPE (RFC 3501 §7.4.2) and BODY / BODYSTRUCTURE from a parsed message
 * (./mime.ts), as response byte strings. Header values go out raw, as
 * Dovecot sends them: encoded words stay encoded, 8-bit text goes as a
 * literal.
 */
import { countLines, headerValue, parseParams, type Header, type Part } from './mime.js';
import { nstring, quote } from './parser.js';

/** A latin1 byte string of header text as an IMAP string. */
function bstr(s: string | undefined): string {
  if (s === undefined) return 'NIL';
  return quote(Buffer.from(s, 'latin1'));
}

function unfoldTrim(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  return s.replace(/\r\n/g, '').replace(/^[ \t]+|[ \t]+$/g, '');
}

interface Address {
  name?: string;
  adl?: string;
  mailbox?: string;
  host?: string;
}

/**
 * RFC 5322 §3.4 address lists, forgivingly: display names (quoted or
 * not), angle addresses with an optional source route, bare addresses,
 * groups ("name: a, b;" → group start and end markers, §7.4.2).
 */
export function parseAddresses(text: string): Address[] {
  const out: Address[] = [];
  let i = 0;
  const n = text.length;
  const ws = () => {
    for (;;) {
      while (i < n && /[ \t\r\n]/.test(text[i]!)) i++;
      if (text[i] !== '(') return;
      let d = 0;
      for (; i < n; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '(') d++;
        else if (text[i] === ')' && --d === 0) {
          i++;
          break;
        }
      }
    }
  };
  let inGroup = false;
  let guard = 0;
  while (i < n && guard++ < 10_000) {
    ws();
    if (i >= n) break;
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === ';') {
      if (inGroup) out.push({});
      inGroup = false;
      i++;
      continue;
    }
    // Read words until ',', ';', ':', '<', or an '@' address.
    let phrase = '';
    let raw = '';
    let angle: string | undefined;
    let group = false;
    while (i < n) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        let q = '';
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          q += text[i++];
        }
        i++;
        phrase += (phrase ? ' ' : '') + q;
        raw += '"' + q + '"';
      } else if (c === '<') {
        const close = text.indexOf('>', i);
        angle = text.slice(i + 1, close === -1 ? n : close);
        i = close === -1 ? n : close + 1;
      } else if (c === ':' && !angle && !inGroup) {
        group = true;
        i++;
        break;
      } else if (c === ',' || (c === ';' && inGroup)) break;
      else if (c === '(') ws();
      else if (/[ \t\r\n]/.test(c)) {
        i++;
        if (raw && !raw.endsWith(' ')) raw += ' ';
      } else {
        let w = '';
        while (i < n && !/[ \t\r\n"<,;:(]/.test(text[i]!)) w += text[i++];
        if (text[i] === ':' && w.includes('@')) w += text[i++];
        phrase += (phrase && !phrase.endsWith('.') && !w.startsWith('.') && !w.startsWith('@') && !phrase.endsWith('@') ? ' ' : '') + w;
        raw += w;
      }
    }
    if (group) {
      out.push({ mailbox: phrase.trim() });
      inGroup = true;
      continue;
    }
    let spec: string;
    let name: string | undefined;
    let adl: string | undefined;
    if (angle !== undefined) {
      spec = angle.trim();
      name = phrase.trim() || undefined;
      const route = /^(@[^:]*):(.*)$/.exec(spec);
      if (route) {
        adl = route[1];
        spec = route[2]!;
      }
    } else {
      spec = raw.trim().replace(/\s+/g, '');
    }
    if (!spec && !name) continue;
    const at = spec.lastIndexOf('@');
    let mailbox = at === -1 ? spec : spec.slice(0, at);
    if (mailbox.startsWith('"') && mailbox.endsWith('"') && mailbox.length >= 2) mailbox = mailbox.slice(1, -1);
    const host = at === -1 ? undefined : spec.slice(at + 1);
    // Dovecot: an address without a domain gets host MISSING_DOMAIN; mailbox missing: MISSING_MAILBOX.
    out.push({ name, adl, mailbox: mailbox || 'MISSING_MAILBOX', host: host || (at === -1 ? 'MISSING_DOMAIN' : 'MISSING_DOMAIN') });
  }
  if (inGroup) out.push({});
  return out;
}

function addressList(headers: Header[], field: string, fallback?: string): string {
  const v = headerValue(headers, field) ?? (fallback ? headerValue(headers, fallback) : undefined);
  if (v === undefined) return 'NIL';
  const list = parseAddresses(v.replace(/\r\n/g, ''));
  if (!list.length) return 'NIL';
  return '(' + list.map((a) => {
    if (a.mailbox === undefined && a.host === undefined && a.name === undefined) return '(NIL NIL NIL NIL)';
    if (a.host === undefined && a.name === undefined && a.adl === undefined) return `(NIL NIL ${bstr(a.mailbox)} NIL)`;
    return `(${bstr(a.name)} ${bstr(a.adl)} ${bstr(a.mailbox)} ${bstr(a.host)})`;
  }).join('') + ')';
}

export function envelope(headers: Header[]): string {
  const h = (name: string) => bstr(unfoldTrim(headerValue(headers, name)));
  const from = addressList(headers, 'from');
  // §7.4.2: sender and reply-to default to from.
  const sender = headerValue(headers, 'sender') !== undefined ? addressList(headers, 'sender') : from;
  const replyTo = headerValue(headers, 'reply-to') !== undefined ? addressList(headers, 'reply-to') : from;
  return `(${h('date')} ${h('subject')} ${from} ${sender} ${replyTo} ${addressList(headers, 'to')} ${addressList(headers, 'cc')} ${addressList(headers, 'bcc')} ${h('in-reply-to')} ${h('message-id')})`;
}

function paramList(params: [string, string][]): string {
  if (!params.length) return 'NIL';
  return '(' + params.map(([k, v]) => `${bstr(k.toLowerCase() === k ? k : k)} ${bstr(v)}`).join(' ') + ')';
}

function disposition(headers: Header[]): string {
  const v = headerValue(headers, 'content-disposition');
  if (v === undefined) return 'NIL';
  const { value, params } = parseParams(v.replace(/\r\n/g, ''));
  if (!value) return 'NIL';
  return `(${bstr(value)} ${paramList(params)})`;
}

function language(headers: Header[]): string {
  const v = headerValue(headers, 'content-language');
  if (v === undefined) return 'NIL';
  const langs = v.replace(/\r\n/g, '').split(',').map((s) => s.replace(/\([^)]*\)/g, '').trim()).filter(Boolean);
  if (!langs.length) return 'NIL';
  return langs.length === 1 ? bstr(langs[0]) : '(' + langs.map(bstr).join(' ') + ')';
}

function simple(headers: Header[], name: string): string {
  return bstr(unfoldTrim(headerValue(headers, name)));
}

/** BODY (extensible = false) or BODYSTRUCTURE (true) of a part (§7.4.2). */
export function bodyStructure(buf: Buffer, part: Part, extensible: boolean): string {
  const ct = part.contentType;
  const headers = part.headers;
  if (ct.type === 'multipart') {
    let s = '(' + part.children.map((c) => bodyStructure(buf, c, extensible)).join('') + ' ' + bstr(ct.subtype.toUpperCase() === ct.subtype ? ct.subtype : ct.subtype);
    if (extensible) s += ` ${paramList(ct.params)} ${disposition(headers)} ${language(headers)} ${simple(headers, 'content-location')}`;
    return s + ')';
  }
  const encRaw = unfoldTrim(headerValue(headers, 'content-transfer-encoding'));
  const enc = encRaw ? parseParams(encRaw).value || '7bit' : '7bit';
  const size = part.end - part.bodyStart;
  let params = ct.params;
  // §7.4.2: a text part without charset has charset us-ascii (as Dovecot shows).
  if (ct.type === 'text' && !params.some(([k]) => k.toLowerCase() === 'charset')) params = [['charset', 'us-ascii'], ...params];
  let s = `(${bstr(ct.type)} ${bstr(ct.subtype)} ${paramList(params)} ${simple(headers, 'content-id')} ${simple(headers, 'content-description')} ${bstr(enc)} ${size}`;
  if (ct.type === 'text') s += ` ${countLines(buf, part.bodyStart, part.end)}`;
  else if (part.isMessage) {
    const inner = part.children[0]!;
    s += ` ${envelope(inner.headers)} ${bodyStructure(buf, inner, extensible)} ${countLines(buf, part.bodyStart, part.end)}`;
  }
  if (extensible) s += ` ${simple(headers, 'content-md5')} ${disposition(headers)} ${language(headers)} ${simple(headers, 'content-location')}`;
  return s + ')';
}

export { nstring };
