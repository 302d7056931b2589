/**
 * Parsing the CLI's values: lifetimes in MIT's forms (krb5_string_to_deltat,
 * via @kpop/common's parseDuration), dates for --expire/--pwexpire, enctype
 * lists in krb5.conf syntax, HOST:PORT listen addresses. Each failure is a
 * UsageError whose message says what was wrong and what is accepted.
 */
import { enctypesFromList, parseDuration, parseTimestamp } from '@kpop/common';

/** Bad command-line input: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseLifetime(option: string, text: string): number {
  const v = parseDuration(text);
  if (v === undefined || v < 0 || !Number.isSafeInteger(v) || v > 0x7fffffff) {
    throw new UsageError(`invalid ${option} "${text}": use a duration such as 10h, 1d, 30m, 1d2h, 2:30:00 or 3600 (seconds)`);
  }
  return v;
}

/**
 * "never" (clears), "now", "now+DURATION" / "+DURATION" (from now), ISO 8601
 * ("2027-01-01", "2027-01-01T12:00:00Z"), or MIT's timestamp forms
 * ("20270101120000", "2027-01-01 12:00"; local time unless Z).
 */
export function parseDate(option: string, text: string, now: Date = new Date()): Date | null {
  const t = text.trim();
  if (/^never$/i.test(t)) return null;
  if (/^now$/i.test(t)) return now;
  const rel = /^(?:now\s*)?\+\s*(.+)$/i.exec(t);
  if (rel) {
    const s = parseDuration(rel[1]!);
    if (s !== undefined && s >= 0) return new Date(now.getTime() + s * 1000);
  } else {
    const d = parseTimestamp(t) ?? (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t) ? new Date(t) : undefined);
    if (d !== undefined && !Number.isNaN(d.getTime())) return d;
  }
  throw new UsageError(`invalid ${option} "${text}": use never, now, +30d, 2027-01-01 or 2027-01-01T12:00:00Z`);
}

/**
 * krb5.conf syntax (names, aliases, families aes / aes-sha1 / aes-sha2,
 * DEFAULT, -removals), plus kadmin's "enctype:normal" key/salt form. Unlike
 * krb5.conf, an unknown or unsupported name is an error here, not skipped.
 */
export function parseEnctypes(text: string): number[] {
  const tokens: string[] = [];
  for (const raw of text.split(/[\s,]+/).filter((t) => t !== '')) {
    const [name, salt] = raw.split(':');
    if (salt !== undefined && salt !== 'normal') throw new UsageError(`invalid --enctypes "${text}": salt type "${salt}" is not supported (only normal)`);
    const bare = name!.replace(/^[+-]/, '');
    if (bare.toLowerCase() !== 'default' && enctypesFromList(bare).length === 0) {
      throw new UsageError(`invalid --enctypes "${text}": "${bare}" is not a supported enctype (use aes256-cts, aes128-cts, aes256-sha2, aes128-sha2, aes-sha1, aes-sha2 or aes)`);
    }
    tokens.push(name!);
  }
  const list = enctypesFromList(tokens.join(' '));
  if (list.length === 0) throw new UsageError(`invalid --enctypes "${text}": it leaves no enctype`);
  return list;
}

export function parseCount(option: string, text: string): number {
  if (!/^\d{1,9}$/.test(text.trim())) throw new UsageError(`invalid ${option} "${text}": use a whole number`);
  return Number(text.trim());
}

/** "HOST:PORT", "[v6]:PORT", or "HOST" (port 88). */
export function parseListen(text: string, defaultPort = 88): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid --listen "${text}": use HOST:PORT, e.g. 127.0.0.1:88 or [::1]:88`);
  }
  return { host: m[1]!, port };
}
