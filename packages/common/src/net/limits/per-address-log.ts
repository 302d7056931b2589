/**
 * Logging that one client cannot flood: a record for (address, status) is
 * written at most once per interval; the ones in between are counted, and
 * the next record written for that pair carries `suppressed: N`. sweep()
 * writes the count of a pair that went quiet, so no refusal goes unreported.
 */
export type LimitRecord = Record<string, string | number | boolean | undefined>;

export interface PerAddressLogOptions {
  /** One record per address and status per this many ms (default 60 s). */
  intervalMs?: number;
  /** Pairs remembered at most; beyond it the oldest are flushed and forgotten. */
  maxEntries?: number;
  /** Monotonic milliseconds (tests). */
  now?: () => number;
}

interface Entry {
  last: number;
  suppressed: number;
  record: LimitRecord;
}

export class PerAddressLog {
  readonly intervalMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly log: (r: LimitRecord) => void, opts: PerAddressLogOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Write `record` unless this address had a record with this status within the interval; true when written. */
  note(address: string, status: string, record: LimitRecord): boolean {
    const key = `${status} ${address}`;
    const t = this.now();
    const e = this.entries.get(key);
    if (e && t - e.last < this.intervalMs) {
      e.suppressed++;
      e.record = record;
      return false;
    }
    const suppressed = e?.suppressed ?? 0;
    if (e) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(key, { last: t, suppressed: 0, record });
    this.log(suppressed ? { ...record, status, suppressed } : { ...record, status });
    return true;
  }

  /** Report the counts of pairs whose interval has passed, and forget them. */
  sweep(all = false): void {
    const t = this.now();
    for (const [key, e] of this.entries) {
      if (!all && t - e.last < this.intervalMs) continue;
      this.entries.delete(key);
      if (e.suppressed) this.log({ ...e.record, status: key.slice(0, key.indexOf(' ')), suppressed: e.suppressed, summary: true });
    }
  }

  private evict(): void {
    // Map order is insertion order: the first tenth are the oldest.
    let n = Math.ceil(this.maxEntries / 10);
    for (const [key, e] of this.entries) {
      if (n-- <= 0) break;
      this.entries.delete(key);
      if (e.suppressed) this.log({ ...e.record, status: key.slice(0, key.indexOf(' ')), suppressed: e.suppressed, summary: true });
    }
  }
}
