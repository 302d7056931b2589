/**
 * Sequence sets (RFC 3501 §9 sequence-set): "1:3,7,9:*", for message numbers
 * or UIDs; "*" is the largest in use (and "n:*" with n above it is "*:n",
 * §6.4.8). At most MAX_RANGES ranges, so a hostile set cannot make us loop.
 */
import { ParseError } from './parser.js';

export const MAX_RANGES = 10_000;
/** Marks "*" until resolved against a mailbox. */
export const STAR = -1;

export type SeqRange = [number, number];

export function parseSequenceSet(text: string): SeqRange[] {
  if (!/^[0-9*:,]+$/.test(text)) throw new ParseError('Invalid sequence set');
  const parts = text.split(',');
  if (parts.length > MAX_RANGES) throw new ParseError('Too many ranges in sequence set');
  const out: SeqRange[] = [];
  for (const p of parts) {
    const m = /^(\d{1,10}|\*)(?::(\d{1,10}|\*))?$/.exec(p);
    if (!m) throw new ParseError('Invalid sequence set');
    const a = m[1] === '*' ? STAR : Number(m[1]);
    const b = m[2] === undefined ? a : m[2] === '*' ? STAR : Number(m[2]);
    if (a === 0 || b === 0 || a > 0xffffffff || b > 0xffffffff) throw new ParseError('Invalid sequence number');
    out.push([a, b]);
  }
  return out;
}

/** Resolve "*" against `max` and order each range low–high. */
function resolved(set: SeqRange[], max: number): SeqRange[] {
  const r = set.map(([a, b]): SeqRange => {
    const x = a === STAR ? max : a;
    const y = b === STAR ? max : b;
    return x <= y ? [x, y] : [y, x];
  });
  // Merged, so overlapping hostile ranges cost no more than one pass.
  r.sort((p, q) => p[0] - q[0]);
  const out: SeqRange[] = [];
  for (const x of r) {
    const last = out[out.length - 1];
    if (last && x[0] <= last[1] + 1) last[1] = Math.max(last[1], x[1]);
    else out.push([x[0], x[1]]);
  }
  return out;
}

/** Message numbers 1..count selected by the set, ascending, no duplicates. */
export function selectSeq(set: SeqRange[], count: number): number[] {
  if (count === 0) return [];
  const mark = new Uint8Array(count + 1);
  for (const [a, b] of resolved(set, count)) {
    for (let i = Math.max(1, a); i <= Math.min(b, count); i++) mark[i] = 1;
  }
  const out: number[] = [];
  for (let i = 1; i <= count; i++) if (mark[i]) out.push(i);
  return out;
}

/** Does the set name seq number n (bounded by count)? All numbers must exist, else BAD (§6.4.8: message numbers must be valid). */
export function seqOutOfRange(set: SeqRange[], count: number): boolean {
  for (const [a, b] of set) {
    if ((a !== STAR && a > count) || (b !== STAR && b > count)) return true;
    if (count === 0) return true;
  }
  return false;
}

/**
 * Indexes (0-based) into `uids` (ascending) of the UIDs the set names.
 * "*" is the highest UID present; a range with no UIDs selects nothing.
 */
export function selectUids(set: SeqRange[], uids: ArrayLike<number>): number[] {
  const n = uids.length;
  if (n === 0) return [];
  const max = uids[n - 1]!;
  const mark = new Uint8Array(n);
  for (const [a, b] of resolved(set, max)) {
    let i = lowerBound(uids, a);
    for (; i < n && uids[i]! <= b; i++) mark[i] = 1;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (mark[i]) out.push(i);
  return out;
}

export function lowerBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Compact a list of numbers into a sequence set ("1:3,7"), for COPYUID and friends. */
export function formatSet(nums: number[]): string {
  if (!nums.length) return '';
  const s = [...nums].sort((a, b) => a - b);
  const out: string[] = [];
  let start = s[0]!;
  let prev = start;
  for (let i = 1; i <= s.length; i++) {
    const x = s[i];
    if (x === prev + 1) {
      prev = x;
      continue;
    }
    out.push(start === prev ? `${start}` : `${start}:${prev}`);
    if (x !== undefined) start = prev = x;
  }
  return out.join(',');
}
