/**
 * What keeps one client address from taking the KDC's whole service: a
 * token bucket per source address (UDP and TCP requests together), checked
 * before any decoding, crypto or database work, so a flood costs a Map
 * lookup per datagram once its address has spent its budget; and a log
 * that one address cannot flood (MIT's krb5kdc logs every request, so a
 * junk flood there becomes a log flood):
 * - requests over the budget are dropped and logged as one RATE_LIMITED
 *   record per address and interval, with the count;
 * - datagrams that are not KDC requests at all (first byte neither AS-REQ
 *   nor TGS-REQ) are dropped silently, and counted the same way (JUNK);
 * - failure and replay records (anything but ISSUE) past `failureLogsPerAddress` per
 *   interval are counted into one LOG_SUPPRESSED record per interval.
 */
import { AddressBuckets, PerAddressLog, addressKey } from '@kpop/common';
import type { KdcLogger } from '../exchange/log.js';

export interface RequestLimits {
  /** Requests per second one address may have served on average; 0 turns the limit off. */
  ratePerAddress: number;
  /** Requests one quiet address may send at once. */
  burstPerAddress: number;
  /** Failure records logged per address and interval before they are only counted; 0: no cap. */
  failureLogsPerAddress: number;
  /** The interval of the per-address records, in ms. */
  logIntervalMs: number;
}

/**
 * 1000 requests a second from one address (a site's NAT at its morning
 * peak stays far below), bursts of 2000; 100 failure lines per address per
 * 10 s. Our KDC serves about 12,000 AS exchanges a second per core
 * (bench/kdc), so one address gets at most a twelfth of a core.
 */
export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  ratePerAddress: 1000,
  burstPerAddress: 2000,
  failureLogsPerAddress: 100,
  logIntervalMs: 10_000,
});

/** Addresses whose failure lines are counted at once (spoofed sources cannot grow it further). */
const MAX_WINDOWS = 100_000;

interface Window {
  start: number;
  failures: number;
}

export class RequestGate {
  private readonly buckets: AddressBuckets;
  private readonly records: PerAddressLog;
  private readonly windows = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;
  /** Counters since start (for operators and benchmarks). */
  readonly stats = { rateLimited: 0, junk: 0, logsSuppressed: 0 };

  constructor(readonly limits: RequestLimits, log: KdcLogger, private readonly now: () => number = () => performance.now()) {
    this.buckets = new AddressBuckets({ ratePerSec: limits.ratePerAddress, burst: limits.burstPerAddress }, now);
    this.records = new PerAddressLog((r) => log({ time: new Date().toISOString(), ...r }), { intervalMs: limits.logIntervalMs, now });
    this.timer = setInterval(() => this.sweep(), Math.max(100, Math.min(limits.logIntervalMs, 10_000))).unref();
  }

  /** Spend one request of this address's budget; false: drop it. */
  admit(address: string, transport: 'udp' | 'tcp'): boolean {
    if (this.buckets.take(address)) return true;
    this.stats.rateLimited++;
    this.records.note(addressKey(address), 'RATE_LIMITED', { from: address, transport, msg: 'RATE_LIMITED', limit: this.limits.ratePerAddress });
    return false;
  }

  /** A datagram that is no KDC request was dropped. */
  junk(address: string): void {
    this.stats.junk++;
    this.records.note(addressKey(address), 'JUNK', { from: address, transport: 'udp', msg: 'JUNK' });
  }

  /** The request log with the per-address cap on failure records. */
  wrapLog(log: KdcLogger): KdcLogger {
    const cap = this.limits.failureLogsPerAddress;
    if (cap <= 0) return log;
    return (record) => {
      const status = record.status;
      // Tickets issued are always logged; failures and lookaside replays
      // (a flood of one repeated datagram is all replays) count against the cap.
      if (status === 'ISSUE' || typeof record.from !== 'string') return log(record);
      const from = record.from;
      const colon = from.lastIndexOf(':');
      const address = addressKey(colon > 0 ? from.slice(0, colon) : from);
      const t = this.now();
      let w = this.windows.get(address);
      if (!w || t - w.start >= this.limits.logIntervalMs) {
        if (!w && this.windows.size >= MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
        w = { start: t, failures: 0 };
        this.windows.set(address, w);
      }
      if (++w.failures <= cap) return log(record);
      this.stats.logsSuppressed++;
      this.records.note(address, 'LOG_SUPPRESSED', { from: address, transport: String(record.transport ?? ''), msg: 'LOG_SUPPRESSED', limit: cap });
    };
  }

  sweep(): void {
    this.buckets.sweep();
    this.records.sweep();
    const t = this.now();
    for (const [k, w] of this.windows) if (t - w.start >= this.limits.logIntervalMs) this.windows.delete(k);
  }

  close(): void {
    clearInterval(this.timer);
    this.records.sweep(true);
  }
}
