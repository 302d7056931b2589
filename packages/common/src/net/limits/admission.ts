/**
 * Connection admission and deadlines, one layer for every TCP listener of
 * the suite (POP3, POP3S, KPOP, LMTP, the KDC's TCP, and whatever listener
 * comes next), so that one client address cannot hold the slots everyone
 * else needs:
 *
 * - a global cap (`maxConnections`) and a per-address share of it
 *   (`maxPerAddress`, counted by ./address.ts's key across all the listeners
 *   that share one Admission);
 * - three deadlines per connection, checked by one sweep timer: from accept
 *   to authentication (`authTimeoutMs`: greeting, TLS handshake, SASL or
 *   sendauth), from a command's first byte to its end (`commandTimeoutMs`: a
 *   byte a second cannot keep a half-sent line alive), and between complete
 *   commands (`idleTimeoutMs`: bytes alone do not count);
 * - refusals and expiries logged as one structured record per address,
 *   status token and interval (./per-address-log.ts), never one per
 *   connection.
 *
 * Usage by a listener:
 *
 *   const guard = admission.admit(socket, 'pop3', { refuse, expire });
 *   if (!guard) return;              // refused: `refuse` gave the protocol's answer
 *   // on each chunk:  guard.partial(reader.pending > 0)
 *   // on each complete command or reply progress:  guard.activity()
 *   // once logged in:  guard.authenticated()
 *
 * The protocol stays in charge of what goes on the wire: `refuse` and
 * `expire` write its answer ("-ERR [SYS/TEMP] …" for POP3, nothing for
 * KPOP or Kerberos) and close; the layer destroys the socket anyway shortly
 * after, so a peer that never reads cannot keep it.
 */
import type { Socket } from 'node:net';
import { addressKey } from './address.js';
import { PerAddressLog, type LimitRecord } from './per-address-log.js';

export interface ConnectionLimits {
  /** Open connections at most, over every listener sharing the Admission. */
  maxConnections: number;
  /** Open connections at most from one address (an IPv6 /64). */
  maxPerAddress: number;
  /** Accept to authenticated, in ms; 0: no deadline (protocols without a login). */
  authTimeoutMs: number;
  /** A command's first byte to its last (line end, frame end), in ms; 0: none. */
  commandTimeoutMs: number;
  /** Time without a complete command (or reply progress), in ms; 0: none. */
  idleTimeoutMs: number;
}

/**
 * The mail listeners' defaults: 1000 connections, 50 from one address,
 * 60 s to log in, 30 s per command line, and RFC 1939 §3's autologout of at
 * least 10 minutes between commands.
 */
export const MAIL_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 1000,
  maxPerAddress: 50,
  authTimeoutMs: 60_000,
  commandTimeoutMs: 30_000,
  idleTimeoutMs: 10 * 60_000,
});

/** Refusal status tokens. */
export type RefusalStatus = 'TOO_MANY_CONNECTIONS' | 'ADDRESS_LIMIT';
/** Deadline status tokens. */
export type ExpiryStatus = 'AUTH_TIMEOUT' | 'COMMAND_TIMEOUT' | 'IDLE_TIMEOUT';

export interface AdmitHooks {
  /** Give the protocol's refusal and close. Default: close at once. */
  refuse?(socket: Socket, status: RefusalStatus): void;
  /** A deadline passed: say so if the protocol can, and close. Default: close at once. */
  expire?(status: ExpiryStatus): void;
}

export interface AdmissionOptions {
  limits: ConnectionLimits;
  /** Where refusal and expiry records go (rate-limited per address). */
  log: (record: LimitRecord) => void;
  /** One record per address and status token per this many ms (default 60 s). */
  logIntervalMs?: number;
  /** Monotonic ms (tests). */
  now?: () => number;
}

/** How long a refused or expired socket may linger for its last bytes to leave. */
const LINGER_MS = 2000;

export class ConnectionGuard {
  /** Monotonic ms deadlines; Infinity when not armed. */
  authAt: number;
  commandAt = Infinity;
  idleAt: number;
  private done = false;
  /** This connection's idle timeout (the limits' unless its protocol asks for another: IMAP's autologout is 30 min). */
  private idleMs: number;

  constructor(
    private readonly owner: Admission,
    readonly socket: Socket,
    readonly address: string,
    readonly listener: string,
    readonly hooks: AdmitHooks,
    now: number,
  ) {
    const l = owner.limits;
    this.authAt = l.authTimeoutMs > 0 ? now + l.authTimeoutMs : Infinity;
    this.idleMs = l.idleTimeoutMs;
    this.idleAt = l.idleTimeoutMs > 0 ? now + l.idleTimeoutMs : Infinity;
  }

  /** Use `ms` as this connection's idle timeout from now on (0: none). */
  setIdleTimeout(ms: number): void {
    this.idleMs = ms;
    this.idleAt = ms > 0 ? this.owner.now() + ms : Infinity;
  }

  /** Whether part of a command is buffered: arms the command deadline (once) or disarms it. */
  partial(pending: boolean): void {
    if (!pending) this.commandAt = Infinity;
    else if (this.commandAt === Infinity && this.owner.limits.commandTimeoutMs > 0) this.commandAt = this.owner.now() + this.owner.limits.commandTimeoutMs;
  }

  /** A complete command arrived, or a reply made progress: the idle clock starts again. */
  activity(): void {
    if (this.idleMs > 0) this.idleAt = this.owner.now() + this.idleMs;
  }

  /** Logged in: the accept-to-authentication deadline no longer applies. */
  authenticated(): void {
    this.authAt = Infinity;
  }

  /** The connection is gone (called on the socket's close). */
  release(): void {
    if (this.done) return;
    this.done = true;
    this.owner.released(this);
  }

  /** @internal the sweep found `status` overdue. */
  expire(status: ExpiryStatus): void {
    if (this.done) return;
    this.authAt = this.commandAt = this.idleAt = Infinity;
    this.owner.logLimit(this, status);
    try {
      if (this.hooks.expire) this.hooks.expire(status);
      else this.socket.destroy();
    } catch {
      this.socket.destroy();
    }
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }
}

export class Admission {
  readonly limits: Readonly<ConnectionLimits>;
  readonly now: () => number;
  private readonly guards = new Set<ConnectionGuard>();
  private readonly perAddress = new Map<string, number>();
  private readonly records: PerAddressLog;
  private timer: NodeJS.Timeout | undefined;
  private readonly sweepMs: number;

  constructor(opts: AdmissionOptions) {
    this.limits = Object.freeze({ ...opts.limits });
    this.now = opts.now ?? (() => performance.now());
    this.records = new PerAddressLog(opts.log, { intervalMs: opts.logIntervalMs ?? 60_000, now: this.now });
    const deadlines = [this.limits.authTimeoutMs, this.limits.commandTimeoutMs, this.limits.idleTimeoutMs].filter((t) => t > 0);
    // A quarter of the shortest deadline, within 25 ms..1 s: a deadline is met to within that.
    this.sweepMs = Math.min(1000, Math.max(25, Math.floor(Math.min(4000, ...deadlines) / 4)));
  }

  /** Open connections admitted. */
  get connections(): number {
    return this.guards.size;
  }

  /** Open connections from this remote address (by its key). */
  openFrom(remote: string | undefined): number {
    return this.perAddress.get(addressKey(remote)) ?? 0;
  }

  /**
   * Count `socket` in, or refuse it: on refusal `hooks.refuse` answers (or
   * the socket is destroyed) and undefined comes back.
   */
  admit(socket: Socket, listener: string, hooks: AdmitHooks = {}): ConnectionGuard | undefined {
    socket.on('error', () => {});
    const address = addressKey(socket.remoteAddress);
    const open = this.perAddress.get(address) ?? 0;
    let status: RefusalStatus | undefined;
    if (this.guards.size >= this.limits.maxConnections) status = 'TOO_MANY_CONNECTIONS';
    else if (open >= this.limits.maxPerAddress) status = 'ADDRESS_LIMIT';
    if (status) {
      this.records.note(address, status, {
        event: 'refused', listener, remote: address, open: status === 'ADDRESS_LIMIT' ? open : this.guards.size,
        limit: status === 'ADDRESS_LIMIT' ? this.limits.maxPerAddress : this.limits.maxConnections,
      });
      try {
        if (hooks.refuse) hooks.refuse(socket, status);
        else socket.destroy();
      } catch {
        socket.destroy();
      }
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return undefined;
    }
    const guard = new ConnectionGuard(this, socket, address, listener, hooks, this.now());
    this.guards.add(guard);
    this.perAddress.set(address, open + 1);
    socket.once('close', () => guard.release());
    if (socket.destroyed) guard.release();
    this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
    return guard;
  }

  /** @internal */
  released(guard: ConnectionGuard): void {
    if (!this.guards.delete(guard)) return;
    const n = (this.perAddress.get(guard.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(guard.address);
    else this.perAddress.set(guard.address, n);
  }

  /** @internal */
  logLimit(guard: ConnectionGuard, status: ExpiryStatus): void {
    this.records.note(guard.address, status, { event: 'limit', listener: guard.listener, remote: guard.address });
  }

  /** Check every deadline now (the timer does this every sweepMs). */
  sweep(): void {
    const t = this.now();
    for (const g of this.guards) {
      if (t >= g.commandAt) g.expire('COMMAND_TIMEOUT');
      else if (t >= g.authAt) g.expire('AUTH_TIMEOUT');
      else if (t >= g.idleAt) g.expire('IDLE_TIMEOUT');
    }
    this.records.sweep();
    if (this.guards.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Destroy every admitted connection, report pending counts, stop the timer. */
  close(): void {
    for (const g of [...this.guards]) g.socket.destroy();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.records.sweep(true);
  }
}

/** Write `bytes` (if any) and close; the Admission destroys the socket shortly after if the peer does not read. */
export function answerAndClose(socket: Socket, bytes?: string | Uint8Array): void {
  if (bytes !== undefined) socket.end(bytes);
  else socket.destroy();
}
