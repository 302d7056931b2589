/**
 * Text decoding for SEARCH (RFC 3501 §6.4.4: matching is on decoded text):
 * RFC 2047 encoded words in headers, Content-Transfer-Encoding and charsets
 * in bodies. Unknown charsets decode as UTF-8 with replacement, as Dovecot
 * falls back; nothing here throws on malformed input.
 */
import { TextDecoder } from 'node:util';

const decoders = new Map<string, TextDecoder>();

export function decoderFor(charset: string): TextDecoder {
  const key = charset.toLowerCase();
  let d = decoders.get(key);
  if (!d) {
    try {
      d = new TextDecoder(key === 'us-ascii' ? 'utf-8' : key);
    } catch {
      d = new TextDecoder('utf-8');
    }
    if (decoders.size < 200) decoders.set(key, d);
  }
  return d;
}

export function decodeQuotedPrintable(s: Buffer, underscoreIsSpace = false): Buffer {
  const out = Buffer.allocUnsafe(s.length);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === 0x3d) {
      const h = s.toString('latin1', i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(h)) {
        out[o++] = parseInt(h, 16);
        i += 2;
        continue;
      }
      // Soft line break "=\r\n".
      if (s[i + 1] === 0x0d && s[i + 2] === 0x0a) {
        i += 2;
        continue;
      }
      if (s[i + 1] === 0x0a) {
        i += 1;
        continue;
      }
    }
    out[o++] = underscoreIsSpace && c === 0x5f ? 0x20 : c;
  }
  return out.subarray(0, o);
}

/** RFC 2047 encoded words; text between adjacent encoded words is dropped (§6.2). 8-bit raw text as UTF-8. */
export function decodeHeader(raw: string): string {
  const bytes = Buffer.from(raw.replace(/\r\n/g, ''), 'latin1');
  const text = bytes.toString('utf8');
  return text.replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=(?:[ \t]+(?==\?))?/g, (_all, cs: string, enc: string, data: string) => {
    const charset = cs.split('*')[0]!;
    const buf = enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : decodeQuotedPrintable(Buffer.from(data, 'latin1'), true);
    return decoderFor(charset).decode(buf);
  });
}

export function decodeBody(body: Buffer, cte: string | undefined, charset: string | undefined): string {
  const enc = (cte ?? '').trim().toLowerCase();
  let data = body;
  if (enc === 'base64') data = Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (enc === 'quoted-printable') data = decodeQuotedPrintable(body);
  return decoderFor(charset ?? 'utf-8').decode(data);
}

/** Case-insensitive comparison form (i;unicode-casemap, roughly). */
export function fold(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}
