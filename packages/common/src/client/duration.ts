/**
 * Time durations as MIT writes them (lib/krb5/krb/deltat.y, the grammar of
 * krb5_string_to_deltat): used by krb5.conf (ticket_lifetime, renew_lifetime,
 * clockskew, kdc_timeout) and by kinit -l / -r / -s.
 *
 *   3600          seconds
 *   10h  30m  1d  45s  1d2h30m  "1d 2h"   units, largest first
 *   1:30  1:30:15  h:mm[:ss]
 *   1d 2:00  2-12:00:00    days, then h:mm[:ss]
 */

const UNIT = { d: 86400, h: 3600, m: 60, s: 1 } as const;

/** Seconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const sign = t.startsWith('-') ? -1 : 1;
  const body = sign < 0 ? t.slice(1).trim() : t;
  const v = parseUnsigned(body);
  return v === undefined ? undefined : sign * v;
}

function parseUnsigned(t: string): number | undefined {
  if (/^\d+$/.test(t)) return Number(t);
  // d-hh:mm:ss
  let m = /^(\d+)-(\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(t);
  if (m) return hms(Number(m[1]) * 86400, m[2]!, m[3]!, m[4]);
  // h:mm[:ss], optionally after "Nd"
  m = /^(?:(\d+)\s*d\s*)?(\d+):(\d{1,2})(?::(\d{1,2}))?$/.exec(t);
  if (m) return hms(m[1] ? Number(m[1]) * 86400 : 0, m[2]!, m[3]!, m[4]);
  // units in order d, h, m, s; each at most once
  const re = /(\d+)\s*([dhms])\s*/y;
  let total = 0;
  let last = -1;
  const order = 'dhms';
  re.lastIndex = 0;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const u = re.exec(t);
    if (!u) return undefined;
    const idx = order.indexOf(u[2]!);
    if (idx <= last) return undefined;
    last = idx;
    total += Number(u[1]) * UNIT[u[2] as keyof typeof UNIT];
    pos = re.lastIndex;
  }
  return last >= 0 ? total : undefined;
}

function hms(base: number, h: string, mm: string, ss: string | undefined): number | undefined {
  const mi = Number(mm);
  const s = ss === undefined ? 0 : Number(ss);
  if (mi > 59 || s > 59) return undefined;
  return base + Number(h) * 3600 + mi * 60 + s;
}

/**
 * An absolute time as kinit -s accepts it when it is not a duration
 * (krb5_string_to_timestamp formats): "YYYYMMDDhhmmss", "YYYY.MM.DD.hh.mm.ss",
 * "YYYY-MM-DDThh:mm:ss", "YYYY-MM-DD hh:mm[:ss]", local time unless "Z" ends it.
 */
export function parseTimestamp(text: string): Date | undefined {
  const t = text.trim();
  const m =
    /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z?)$/.exec(t) ??
    /^(\d{4})[.-](\d{1,2})[.-](\d{1,2})[.T ](\d{1,2})[.:](\d{2})(?:[.:](\d{2}))?(Z?)$/.exec(t);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const date = m[7] === 'Z' ? new Date(Date.UTC(y, mo - 1, d, h, mi, s)) : new Date(y, mo - 1, d, h, mi, s);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
