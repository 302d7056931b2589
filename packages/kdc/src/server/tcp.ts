/**
 * Kerberos over TCP (RFC 4120 §7.2.2): each message preceded by its 4-byte
 * big-endian length; several requests may share a connection. One explicit
 * state per connection: the frame reader, and the deadlines of the shared
 * admission layer (@kpop/common net/limits): a frame started must finish
 * within frameTimeoutMs (a slow sender), and only complete frames restart
 * the idle clock; plus a cap on unsent reply bytes (a peer that never reads).
 * Connections are admitted by that layer too: a global cap and a share per
 * client address.
 */
import net from 'node:net';
import { ErrorCode, FramingError, LengthPrefixedReader, frameMessage, type ConnectionGuard, type ConnectionLimits } from '@kpop/common';
import type { RequestGate } from './rate-limit.js';
import { serveRequest, transportErrorReply } from '../exchange/handler.js';
import type { HandlerContext, HandlerResult } from '../exchange/handler.js';
import { Status } from '../exchange/status.js';

export interface TcpLimits {
  /** Largest request frame; a longer declared length is refused before reading it. */
  maxFrame: number;
  /** Close a connection that sends no complete request for this long. */
  idleTimeoutMs: number;
  /** Close a connection whose started frame is not complete after this long. */
  frameTimeoutMs: number;
  /** Open connections at most; more are refused (closed at once). */
  maxConnections: number;
  /** Open connections at most from one client address (an IPv6 /64). */
  maxPerAddress: number;
  /** Close a connection whose peer leaves this many reply bytes unread. */
  maxPendingWrite: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = {
  maxFrame: 64 * 1024,
  idleTimeoutMs: 30_000,
  frameTimeoutMs: 10_000,
  maxConnections: 1024,
  maxPerAddress: 32,
  maxPendingWrite: 1024 * 1024,
};

/** The admission layer's view of the TCP limits (Kerberos has no login phase). */
export function tcpConnectionLimits(l: TcpLimits): ConnectionLimits {
  return { maxConnections: l.maxConnections, maxPerAddress: l.maxPerAddress, authTimeoutMs: 0, commandTimeoutMs: l.frameTimeoutMs, idleTimeoutMs: l.idleTimeoutMs };
}

/**
 * Serve one admitted connection. Without a guard (a caller of earlier
 * versions) the plain socket timers apply: idle on bytes, and a frame timer.
 */
export function serveTcpConnection(sock: net.Socket, ctx: HandlerContext, limits: TcpLimits, guard?: ConnectionGuard, gate?: RequestGate): void {
  const origin = { transport: 'tcp' as const, address: sock.remoteAddress ?? '?', port: sock.remotePort ?? 0 };
  const reader = new LengthPrefixedReader({ maxFrame: limits.maxFrame });
  let frameTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const close = (): void => {
    if (closed) return;
    closed = true;
    if (frameTimer) clearTimeout(frameTimer);
    sock.end();
    // A peer that never reads must not keep the socket open.
    setTimeout(() => sock.destroy(), 1000).unref();
  };

  // Requests are answered in order: one that waits for the database (PostgreSQL reading a principal)
  // holds those behind it, and the socket is paused meanwhile so nothing piles up unread.
  const backlog: Uint8Array[] = [];
  let waiting = false;
  /** Sends a result's reply; false when the connection is done. */
  const deliver = (result: HandlerResult): boolean => {
    if (closed) return false;
    if (result.reply) sock.write(frameMessage(result.reply));
    if (result.malformed) {
      close();
      return false;
    }
    return true;
  };
  /** Serves the frames waiting, in order; false when the connection is done. */
  const pump = (): boolean => {
    while (!waiting && !closed && backlog.length > 0) {
      const frame = backlog.shift()!;
      // The per-address request budget (shared with UDP): over it, the connection goes.
      if (gate && !gate.admit(origin.address, 'tcp')) {
        sock.destroy();
        return false;
      }
      let result: HandlerResult | Promise<HandlerResult>;
      try {
        result = serveRequest(frame, ctx, origin);
      } catch {
        close();
        return false;
      }
      if (result instanceof Promise) {
        waiting = true;
        sock.pause();
        result.then((r) => {
          waiting = false;
          if (!deliver(r)) return;
          sock.resume();
          pump();
        }, () => {
          waiting = false;
          close();
        });
        return true;
      }
      if (!deliver(result)) return false;
    }
    return !closed;
  };

  sock.setNoDelay(true);
  if (guard) guard.authenticated();
  else sock.setTimeout(limits.idleTimeoutMs, () => sock.destroy());
  sock.on('error', () => sock.destroy());
  sock.on('close', () => {
    closed = true;
    if (frameTimer) clearTimeout(frameTimer);
  });
  sock.on('data', (chunk: Buffer) => {
    if (closed) return;
    let frames: Uint8Array[];
    try {
      frames = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    } catch (e) {
      const detail = e instanceof FramingError ? e.message : 'framing error';
      // RFC 4120 §7.2.2: a length we won't accept gets KRB_ERR_FIELD_TOOLONG.
      try {
        sock.write(frameMessage(transportErrorReply(ctx, origin, ErrorCode.KRB_ERR_FIELD_TOOLONG, Status.GENERIC, detail)));
      } catch {
        /* nothing more to say to this peer */
      }
      close();
      return;
    }
    if (guard && frames.length) guard.activity();
    backlog.push(...frames);
    if (!pump()) return;
    if (sock.writableLength > limits.maxPendingWrite) {
      sock.destroy();
      return;
    }
    if (guard) guard.partial(reader.pending > 0);
    else if (reader.pending > 0) {
      frameTimer ??= setTimeout(() => sock.destroy(), limits.frameTimeoutMs);
    } else if (frameTimer) {
      clearTimeout(frameTimer);
      frameTimer = undefined;
    }
  });
}
