// bench/soak's samples: per minute, latencies and errors per operation, the
// lab's RSS, false replays, messages delivered and fetched; and the lines
// the soak prints for a minute.

export type Op = 'kinit' | 'kvno' | 'pop3-login' | 'pop3-session' | 'kpop-fetch' | 'lmtp';
export const OPS: Op[] = ['kinit', 'kvno', 'pop3-login', 'pop3-session', 'kpop-fetch', 'lmtp'];

export interface Minute {
  lat: Map<Op, number[]>;
  errors: Map<Op, number>;
  falseReplays: number;
  delivered: number;
  fetched: number;
  rss: number[];
}

export class SoakStats {
  readonly minutes: Minute[] = [];
  /** Client error messages (shortened) and how often each came. */
  readonly errorsSeen = new Map<string, number>();

  constructor(private readonly t0: number) {}

  minuteOf(t = Date.now()): number {
    return Math.floor((t - this.t0) / 60_000);
  }

  bucket(m = this.minuteOf()): Minute {
    return (this.minutes[m] ??= { lat: new Map(), errors: new Map(), falseReplays: 0, delivered: 0, fetched: 0, rss: [] });
  }

  sample(op: Op, ms: number): void {
    const b = this.bucket();
    let a = b.lat.get(op);
    if (!a) b.lat.set(op, (a = []));
    a.push(ms);
  }

  error(op: Op, why: string): void {
    const b = this.bucket();
    b.errors.set(op, (b.errors.get(op) ?? 0) + 1);
    this.errorsSeen.set(why, (this.errorsSeen.get(why) ?? 0) + 1);
  }
}

/** The p-th percentile (nearest rank) of the samples. */
export function pct(a: number[], p: number): number {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');

/** Minute m's report: RSS (and the lab's own heap figures), counts, then p50/p95/p99 per operation. */
export function minuteLines(m: number, b: Minute, labStat?: Record<string, number>): string[] {
  const rss = b.rss.filter(Number.isFinite);
  const heap = labStat ? `; heap ${f1(labStat.heapUsedMb!)} of ${f1(labStat.heapTotalMb!)} MB, external ${f1(labStat.externalMb!)} MB` : '';
  const out = [`minute ${String(m + 1).padStart(2)}  lab RSS ${f1(rss.at(-1) ?? NaN)} MB (min ${f1(Math.min(...rss))}, max ${f1(Math.max(...rss))}${heap})  delivered ${b.delivered}  fetched ${b.fetched}  false replays ${b.falseReplays}`];
  for (const op of OPS) {
    const a = b.lat.get(op) ?? [];
    const e = b.errors.get(op) ?? 0;
    if (a.length === 0 && e === 0) continue;
    out.push(`  ${op.padEnd(13)} n ${String(a.length).padStart(6)}  p50 ${f1(pct(a, 50)).padStart(7)}  p95 ${f1(pct(a, 95)).padStart(7)}  p99 ${f1(pct(a, 99)).padStart(7)} ms  errors ${e}`);
  }
  return out;
}
