/**
 * What the POP3 and IMAP sessions (../pop3/session.ts, ../imap/session.ts)
 * share above the transport (./line-connection.ts): a session id, who
 * logged in and how, the error record, and the one structured line logged
 * when the session ends (listener, peer, TLS, user, principal, mechanism,
 * the protocol's own counters, why it ended, how long it lasted).
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { formatPrincipal, type ConnectionGuard, type Principal } from '@kpop/common';
import { LineConnection, type CommandFramer, type LineConnectionTexts } from './line-connection.js';

export type LogRecord = Record<string, string | number | boolean | undefined>;

export interface MailSessionOptions<E> {
  socket: Duplex;
  /** An implicit-TLS listener (POP3S, IMAPS): TLS from the start. */
  tlsActive: boolean;
  idleTimeoutMs: number;
  reader: CommandFramer<E>;
  texts: LineConnectionTexts;
  log: (record: LogRecord) => void;
  listener: string;
  remote: string;
  guard?: ConnectionGuard;
}

export abstract class MailSession<E> extends LineConnection<E> {
  readonly id = randomBytes(6).toString('hex');
  protected user?: string;
  protected principal?: Principal;
  protected mech?: string;
  protected authFailures = 0;
  private readonly logRecord: (record: LogRecord) => void;
  private readonly listenerName: string;
  private readonly remoteAddress: string;

  constructor(o: MailSessionOptions<E>) {
    super(o.socket, o.tlsActive, o.idleTimeoutMs, o.reader, o.texts, o.guard);
    this.logRecord = o.log;
    this.listenerName = o.listener;
    this.remoteAddress = o.remote;
  }

  protected failed(e: Error): void {
    this.logRecord({ event: 'error', session: this.id, error: e.message });
  }

  /** The session's closing log line, with the protocol's own counters. */
  protected logSession(counters: LogRecord): void {
    this.logRecord({
      event: 'session', session: this.id, listener: this.listenerName, remote: this.remoteAddress, tls: this.tlsActive,
      user: this.user, principal: this.principal && formatPrincipal(this.principal), mech: this.mech,
      ...counters, end: this.endReason, ms: Date.now() - this.started,
    });
  }
}
