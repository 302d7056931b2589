/**
 * The line-oriented half of a POP3 connection: reading command lines with a
 * cap (./line-reader.ts), one command at a time (pipelined lines queue up,
 * and the socket pauses when too many do), SASL continuation lines, writes
 * with backpressure, the deadlines, the STLS upgrade and the end of the
 * connection. ./session.ts holds the protocol on top of it.
 *
 * Deadlines come from the shared admission layer (@kpop/common's
 * net/limits): a command line must be finished within its deadline once
 * begun, and only complete lines (and replies that make progress) restart
 * the idle clock, so a byte every few seconds holds no slot. Without a guard
 * (a session run outside startPopServer) a plain socket idle timer applies.
 */
import type { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import type { ConnectionGuard, ExpiryStatus } from '@kpop/common';
import { LineReader, type Line } from './line-reader.js';

const MAX_AUTH_LINE = 16 * 1024; // protocols.md 3.1: GSSAPI tokens on one line
const MAX_QUEUED = 32;

export abstract class LineConnection {
  protected socket: Duplex;
  protected tlsActive: boolean;
  protected closed = false;
  protected endReason = 'drop';
  protected readonly started = Date.now();
  private readonly reader = new LineReader(MAX_AUTH_LINE);
  private queue: Line[] = [];
  private waiter?: (line: Line | null) => void;
  private busy = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () => void this.finish();
  private readonly onError = () => {};
  private readonly onTimeout = () => this.idle();

  constructor(socket: Duplex, tlsActive: boolean, private readonly idleTimeoutMs: number, protected readonly guard?: ConnectionGuard) {
    this.socket = socket;
    this.tlsActive = tlsActive;
  }

  /** Handle one command line (or TOO_LONG). */
  protected abstract handle(line: Line): Promise<void>;
  /** The connection is gone: release resources, log. */
  protected abstract ended(): Promise<void>;
  /** An unexpected error while handling a line. */
  protected abstract failed(e: Error): void;

  protected begin(greeting: string, initialData?: Buffer): void {
    // Request/response protocol: no Nagle delay between a reply and the
    // client's delayed ACK (it cost ~40 ms per RETR).
    (this.socket as Duplex & { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    this.attach(this.socket);
    this.reply(greeting);
    if (initialData?.length) this.receive(initialData);
  }

  private attach(s: Duplex): void {
    s.on('data', this.onData);
    s.on('close', this.onClose);
    s.on('error', this.onError);
    if (this.guard) return;
    const t = s as Duplex & { setTimeout?: (ms: number, cb?: () => void) => void };
    t.setTimeout?.(this.idleTimeoutMs);
    s.on('timeout', this.onTimeout);
  }

  private detach(s: Duplex): void {
    s.off('data', this.onData);
    s.off('close', this.onClose);
    s.off('timeout', this.onTimeout);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    const lines = this.reader.push(chunk);
    for (const line of lines) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(line);
      } else this.queue.push(line);
    }
    if (this.guard) {
      if (lines.length) this.guard.activity();
      this.guard.partial(this.reader.partial);
    }
    if (this.queue.length > MAX_QUEUED) this.socket.pause();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length && !this.closed) {
        const line = this.queue.shift()!;
        if (this.queue.length < MAX_QUEUED / 2) this.socket.resume();
        await this.handle(line);
        // The reply is out: the client's think time starts now.
        this.guard?.activity();
      }
    } catch (e) {
      this.failed(e as Error);
      this.reply('-ERR [SYS/TEMP] Internal error');
      this.close();
    } finally {
      this.busy = false;
    }
  }

  /** The next line from the client (SASL continuations), or null once closed. */
  protected nextLine(): Promise<Line | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  protected reply(line: string): void {
    if (!this.closed) this.socket.write(line + '\r\n');
  }

  /** Write with backpressure: resolves when the socket can take more. */
  protected write(data: Buffer | string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        // A slow reader of a long RETR is not idle while it keeps reading.
        this.guard?.activity();
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  protected close(): void {
    if (this.closed) return;
    this.socket.end();
    void this.finish();
  }

  private idle(): void {
    this.endReason = 'timeout';
    this.reply('-ERR Autologout; idle for too long');
    this.socket.destroy();
    void this.finish();
  }

  /** A deadline of the admission layer passed: say which, then hang up. */
  expired(status: ExpiryStatus, text: string): void {
    if (this.closed) return;
    this.endReason = status === 'IDLE_TIMEOUT' ? 'timeout' : status === 'AUTH_TIMEOUT' ? 'auth-timeout' : 'command-timeout';
    this.reply(text);
    this.socket.end();
    void this.finish();
  }

  /** Connection gone: the subclass releases the mailbox (nothing deleted without QUIT, §6). */
  private async finish(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiter?.(null);
    this.waiter = undefined;
    this.detach(this.socket);
    await this.ended();
  }

  /**
   * RFC 2595 §4: after "+OK" to STLS, the TLS handshake. Anything pipelined
   * after STLS was sent in clear and must not run inside TLS
   * (CVE-2011-0411), so buffered lines are dropped.
   */
  protected startTls(secureContext: SecureContext): void {
    this.reader.reset();
    this.queue = [];
    const raw = this.socket;
    this.detach(raw);
    const secure = new TLSSocket(raw as Socket, { isServer: true, secureContext });
    this.socket = secure;
    this.tlsActive = true;
    this.attach(secure);
  }
}
