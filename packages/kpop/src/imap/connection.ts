/**
 * The transport half of an IMAP connection: commands from ./reader.ts (with
 * "+" continuations for synchronizing literals), one command at a time with
 * pipelined ones queued (the socket pauses when too many are), raw lines for
 * AUTHENTICATE and IDLE, writes with backpressure in latin1 byte strings,
 * the idle timer, the STARTTLS upgrade and the end of the connection.
 * ./session.ts holds the protocol on top.
 *
 * Where the shared per-address limits plug in: a connection is admitted in
 * the server's admit() (../server.ts) before this class exists; each command
 * passes through commandRead() below, the one place a per-command deadline
 * or rate limit can be applied.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { CommandReader, DEFAULT_LIMITS, type ReaderEvent, type ReaderLimits } from './reader.js';

const MAX_QUEUED = 32;

export abstract class ImapConnection {
  protected socket: Duplex;
  protected tlsActive: boolean;
  protected closed = false;
  protected endReason = 'drop';
  protected readonly started = Date.now();
  private readonly reader: CommandReader;
  private queue: ReaderEvent[] = [];
  private waiter?: (e: ReaderEvent | null) => void;
  private busy = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () => void this.finish();
  private readonly onError = () => {};
  private readonly onTimeout = () => this.idle();

  constructor(socket: Duplex, tlsActive: boolean, private readonly idleTimeoutMs: number, limits: ReaderLimits = DEFAULT_LIMITS) {
    this.socket = socket;
    this.tlsActive = tlsActive;
    this.reader = new CommandReader(limits, () => this.send('+ OK\r\n'));
  }

  /** Handle one command (or a reader error). */
  protected abstract handle(e: ReaderEvent): Promise<void>;
  protected abstract ended(): Promise<void>;
  protected abstract failed(e: Error): void;

  protected begin(greeting: string): void {
    (this.socket as Duplex & { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    this.attach(this.socket);
    this.send(greeting);
  }

  private attach(s: Duplex): void {
    s.on('data', this.onData);
    s.on('close', this.onClose);
    s.on('error', this.onError);
    (s as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(this.idleTimeoutMs);
    s.on('timeout', this.onTimeout);
  }

  private detach(s: Duplex): void {
    s.off('data', this.onData);
    s.off('close', this.onClose);
    s.off('timeout', this.onTimeout);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    for (const e of this.reader.push(chunk)) {
      this.commandRead(e);
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(e);
      } else this.queue.push(e);
    }
    if (this.queue.length > MAX_QUEUED) this.socket.pause();
    void this.pump();
  }

  /** Every command the reader completes passes here (the hook for per-command limits). */
  protected commandRead(_e: ReaderEvent): void {}

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length && !this.closed) {
        const e = this.queue.shift()!;
        if (this.queue.length < MAX_QUEUED / 2) this.socket.resume();
        await this.handle(e);
      }
    } catch (e) {
      this.failed(e as Error);
      this.send('* BYE Internal error\r\n');
      this.close();
    } finally {
      this.busy = false;
    }
  }

  /** The next raw line (AUTHENTICATE responses, IDLE's DONE), or null once closed. */
  protected nextEvent(): Promise<ReaderEvent | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Like nextEvent, but also resolves with 'wake' when wake() is called (IDLE). */
  protected nextEventOrWake(): { promise: Promise<ReaderEvent | null | 'wake'>; wake: () => void } {
    if (this.queue.length) return { promise: Promise.resolve(this.queue.shift()!), wake: () => {} };
    if (this.closed) return { promise: Promise.resolve(null), wake: () => {} };
    let wake = () => {};
    const promise = new Promise<ReaderEvent | null | 'wake'>((resolve) => {
      this.waiter = resolve;
      wake = () => {
        if (this.waiter === resolve) {
          this.waiter = undefined;
          resolve('wake');
        }
      };
    });
    return { promise, wake };
  }

  /** Write a latin1 byte string (every response is built as one). */
  protected send(s: string): void {
    if (!this.closed) this.socket.write(Buffer.from(s, 'latin1'));
  }

  /** Write with backpressure. */
  protected write(data: Buffer | string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
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

  protected destroy(): void {
    this.socket.destroy();
    void this.finish();
  }

  /** RFC 3501 §5.4: the autologout timer is at least 30 minutes (the server's option). */
  private idle(): void {
    if (this.reader.inLiteral) return;
    this.endReason = 'timeout';
    this.send('* BYE Autologout; idle for too long\r\n');
    this.destroy();
  }

  private async finish(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiter?.(null);
    this.waiter = undefined;
    this.detach(this.socket);
    await this.ended();
  }

  /**
   * RFC 3501 §6.2.1 and RFC 2595 §3.1: TLS starts right after our OK;
   * anything the client pipelined after STARTTLS was sent in clear and is
   * dropped (CVE-2011-0411).
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
