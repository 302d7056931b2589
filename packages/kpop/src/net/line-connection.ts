/**
 * The transport half shared by the POP3 and IMAP connections: commands
 * framed by a protocol's reader (POP3: ../pop3/line-reader.ts, lines; IMAP:
 * ../imap/reader.ts, lines with literals), handled one at a time with
 * pipelined ones queued (the socket pauses when too many are), raw
 * continuation lines for SASL and IDLE, writes with backpressure, the idle
 * timer, the STLS/STARTTLS upgrade and the end of the connection. Each
 * protocol's session (../pop3/session.ts, ../imap/session.ts) holds the
 * state machine on top.
 *
 * The shared limits (@kpop/common net/limits): the server admits the
 * connection before this class exists and hands over its ConnectionGuard;
 * complete commands and replies that make progress reset its idle clock, a
 * partly received command arms its command deadline, so a byte every few
 * seconds holds no slot. Without a guard (a session run outside
 * startPopServer) the socket's own idle timer applies.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { ConnectionGuard } from '@kpop/common';

const MAX_QUEUED = 32;

/** What a protocol's reader offers: its commands from the byte stream. */
export interface CommandFramer<E> {
  push(chunk: Buffer): E[];
  /** Forget everything buffered (after STLS/STARTTLS: nothing sent in clear may run inside TLS). */
  reset(): void;
  /** Part of a command is buffered: the command deadline runs. */
  readonly partial: boolean;
  /** A literal is arriving: the idle timer must not end the connection. */
  readonly inLiteral?: boolean;
}

export interface LineConnectionTexts {
  /** Sent before closing when a handler throws unexpectedly (with its line end). */
  internalError: string;
  /** Sent before closing when the socket's idle timer fires (with its line end). */
  idle: string;
  /** How strings are written: IMAP builds latin1 byte strings, POP3 writes UTF-8. */
  encoding: BufferEncoding;
}

export abstract class LineConnection<E> {
  protected socket: Duplex;
  protected tlsActive: boolean;
  protected closed = false;
  protected endReason = 'drop';
  protected readonly started = Date.now();
  private queue: E[] = [];
  private waiter?: (e: E | null | 'wake') => void;
  private busy = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () => void this.finish();
  private readonly onError = () => {};
  private readonly onTimeout = () => this.idle();

  constructor(
    socket: Duplex,
    tlsActive: boolean,
    private readonly idleTimeoutMs: number,
    private readonly reader: CommandFramer<E>,
    private readonly texts: LineConnectionTexts,
    protected readonly guard?: ConnectionGuard,
  ) {
    this.socket = socket;
    this.tlsActive = tlsActive;
  }

  /** Handle one command (or a reader error). */
  protected abstract handle(e: E): Promise<void>;
  /** The connection is gone: release resources, log. */
  protected abstract ended(): Promise<void>;
  /** An unexpected error while handling a command. */
  protected abstract failed(e: Error): void;

  /** Start: the greeting (with its line end), then whatever the listener already read (KPOP's sniffing). */
  protected begin(greeting: string, initialData?: Buffer): void {
    // Request/response protocols: no Nagle delay between a reply and the
    // client's delayed ACK (it cost ~40 ms per POP3 RETR).
    (this.socket as Duplex & { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    this.attach(this.socket);
    this.send(greeting);
    if (initialData?.length) this.receive(initialData);
  }

  private attach(s: Duplex): void {
    s.on('data', this.onData);
    s.on('close', this.onClose);
    s.on('error', this.onError);
    if (this.guard) return;
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
    const events = this.reader.push(chunk);
    for (const e of events) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(e);
      } else this.queue.push(e);
    }
    if (this.guard) {
      if (events.length) this.guard.activity();
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
        const e = this.queue.shift()!;
        if (this.queue.length < MAX_QUEUED / 2) this.socket.resume();
        await this.handle(e);
        // The reply is out: the client's think time starts now.
        this.guard?.activity();
      }
    } catch (e) {
      this.failed(e as Error);
      this.send(this.texts.internalError);
      this.close();
    } finally {
      this.busy = false;
    }
  }

  /** The next command or raw line (SASL continuations, IDLE's DONE), or null once closed. */
  protected nextEvent(): Promise<E | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve as (e: E | null | 'wake') => void));
  }

  /** Like nextEvent, but also resolves with 'wake' when wake() is called (IMAP IDLE). */
  protected nextEventOrWake(): { promise: Promise<E | null | 'wake'>; wake: () => void } {
    if (this.queue.length) return { promise: Promise.resolve(this.queue.shift()!), wake: () => {} };
    if (this.closed) return { promise: Promise.resolve(null), wake: () => {} };
    let wake = () => {};
    const promise = new Promise<E | null | 'wake'>((resolve) => {
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

  /** Write a reply (with its line ends) without waiting: replies are small. */
  protected send(s: string): void {
    if (!this.closed) this.socket.write(Buffer.from(s, this.texts.encoding));
  }

  /** Write with backpressure: resolves when the socket can take more. */
  protected write(data: Buffer | string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.socket.write(typeof data === 'string' ? Buffer.from(data, this.texts.encoding) : data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        // A slow reader of a long RETR or FETCH is not idle while it keeps reading.
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

  protected destroy(): void {
    this.socket.destroy();
    void this.finish();
  }

  /** A deadline of the admission layer passed: say which (text), log why (reason), then hang up. */
  protected expired(reason: string, text: string): void {
    if (this.closed) return;
    this.endReason = reason;
    this.send(text);
    this.close();
  }

  /** The socket's own idle timer (no admission guard): never in the middle of a literal. */
  private idle(): void {
    if (this.reader.inLiteral) return;
    this.endReason = 'timeout';
    this.send(this.texts.idle);
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
   * RFC 2595 §4 (POP3 STLS) and RFC 3501 §6.2.1 (IMAP STARTTLS): TLS starts
   * right after our OK; anything the client pipelined after the command was
   * sent in clear and is dropped (CVE-2011-0411).
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
