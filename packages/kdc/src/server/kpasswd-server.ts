/**
 * startKpasswdServer: the kpasswd service (RFC 3244) on UDP and TCP, port
 * 464 by default. TCP uses the KDC's framing (a 4-byte length before each
 * message, as MIT's kadmind and client do). The KDC's limits apply: TCP
 * connections are admitted through the shared admission layer (global cap,
 * per-address share, frame and idle deadlines), and requests over both
 * transports pass a per-address budget (RequestGate) before any decoding.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Admission, FramingError, LengthPrefixedReader, ReplayCache, frameMessage, type ConnectionGuard } from '@kpop/common';
import { andThen, lookupLoaded, type Awaitable, type KdcDatabase, type RealmDatabase } from '../db/index.js';
import type { KdcLogger } from '../exchange/log.js';
import { processKpasswdAsync, type KpasswdContext, type KpasswdOutcome } from '../kpasswd/service.js';
import type { ListenAddress } from './kdc-server.js';
import { DEFAULT_TCP_LIMITS, tcpConnectionLimits, type TcpLimits } from './tcp.js';
import { DEFAULT_REQUEST_LIMITS, RequestGate, type RequestLimits } from './rate-limit.js';

export interface KpasswdServerOptions {
  db: RealmDatabase;
  listen: ListenAddress[];
  log?: KdcLogger;
  now?: () => Date;
  /** Principals (globs) allowed to set other principals' passwords. */
  admins?: readonly string[];
  tcp?: Partial<TcpLimits>;
  /** Per-address request budget and log caps (UDP and TCP), as the KDC's; false turns them off. */
  requests?: Partial<RequestLimits> | false;
}

export interface KpasswdServer {
  readonly udp: ListenAddress[];
  readonly tcp: ListenAddress[];
  readonly context: KpasswdContext;
  /** The TCP listeners' admission layer. */
  readonly admission: Admission;
  close(): Promise<void>;
}

/** kadmin/changepw must exist for the service to work: `kdc init` makes it; an older realm gets it here. */
export function ensureChangepwPrincipal(db: KdcDatabase): boolean;
export function ensureChangepwPrincipal(db: RealmDatabase): Awaitable<boolean>;
export function ensureChangepwPrincipal(db: RealmDatabase): Awaitable<boolean> {
  return andThen(lookupLoaded(db, ['kadmin', 'changepw']), (r) => {
    if (r !== undefined) return false;
    // MIT's kdb5_util create: kadmin/changepw requires pre-authentication, may not be a TGT source, and issues only initial tickets.
    return andThen(db.addPrincipal(`kadmin/changepw@${db.realm}`, { randkey: true, maxLife: 300 }), () => true);
  });
}

/** One admitted connection: its guard runs the frame and idle deadlines (complete requests reset the idle clock). */
function serveTcp(sock: net.Socket, ctx: KpasswdContext, limits: TcpLimits, guard: ConnectionGuard, gate: RequestGate | undefined): void {
  const reader = new LengthPrefixedReader({ maxFrame: limits.maxFrame });
  const origin = { transport: 'tcp' as const, address: sock.remoteAddress ?? '?', port: sock.remotePort ?? 0, localAddress: sock.localAddress ?? '127.0.0.1' };
  sock.setNoDelay(true);
  guard.authenticated();
  sock.on('error', () => sock.destroy());
  // Answers go out in the order the requests came, each after the one before (a change may wait for the database).
  let queue: Promise<void> = Promise.resolve();
  let done = false;
  let waiting = 0;
  const answer = (f: Uint8Array): void => {
    // A client piling up requests it does not read answers to gets closed, as one over its write buffer does.
    if (++waiting > 32) return void sock.destroy();
    queue = queue.then(async () => {
      waiting--;
      if (done || sock.destroyed || sock.writableEnded) return;
      let out: KpasswdOutcome;
      try {
        out = await processKpasswdAsync(f, ctx, origin);
      } catch {
        done = true;
        sock.destroy();
        return;
      }
      if (out.reply === null) {
        done = true;
        sock.end();
        return;
      }
      sock.write(frameMessage(out.reply));
      if (sock.writableLength > limits.maxPendingWrite) sock.destroy();
    });
  };
  sock.on('data', (chunk: Buffer) => {
    let frames: Uint8Array[];
    try {
      frames = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    } catch (e) {
      void (e instanceof FramingError);
      sock.destroy();
      return;
    }
    if (frames.length) guard.activity();
    guard.partial(reader.pending > 0);
    for (const f of frames) {
      // Over its budget, the address gets silence: the connection closes as a UDP datagram would go unanswered.
      if (gate && !gate.admit(origin.address, 'tcp')) return void sock.end();
      answer(f);
    }
    if (sock.writableLength > limits.maxPendingWrite) return void sock.destroy();
  });
}

export async function startKpasswdServer(opts: KpasswdServerOptions): Promise<KpasswdServer> {
  const context: KpasswdContext = {
    db: opts.db,
    now: opts.now ?? (() => new Date()),
    replayCache: new ReplayCache(),
    admins: opts.admins ?? [],
    ...(opts.log ? { log: opts.log } : {}),
  };
  const limits: TcpLimits = { ...DEFAULT_TCP_LIMITS, ...opts.tcp };
  const baseLog: KdcLogger = opts.log ?? (() => {});
  const gate = opts.requests === false ? undefined : new RequestGate({ ...DEFAULT_REQUEST_LIMITS, ...opts.requests }, baseLog);
  // Refusals just close (RFC 3244 has no "busy" answer); one log line per address and interval.
  const admission = new Admission({
    limits: tcpConnectionLimits(limits),
    log: (r) => baseLog({ time: new Date().toISOString(), from: r.remote, transport: 'tcp', msg: r.event === 'refused' ? 'KPASSWD_CONNECTION_REFUSED' : 'KPASSWD_CONNECTION_CLOSED', ...r }),
    ...(gate ? { logIntervalMs: gate.limits.logIntervalMs } : {}),
  });
  const servers: net.Server[] = [];
  const sockets: dgram.Socket[] = [];
  const udp: ListenAddress[] = [];
  const tcp: ListenAddress[] = [];
  const closeAll = async () => {
    admission.close();
    gate?.close();
    await Promise.all([...servers.map((s) => new Promise<void>((r) => s.close(() => r()))), ...sockets.map((u) => new Promise<void>((r) => u.close(() => r())))]);
  };
  try {
    for (const a of opts.listen) {
      for (let attempt = 0; ; attempt++) {
        const server = net.createServer({ noDelay: true }, (sock) => {
          const guard = admission.admit(sock, 'kpasswd-tcp');
          if (guard) serveTcp(sock, context, limits, guard, gate);
        });
        server.on('error', () => {});
        const port = await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: a.host, port: a.port, exclusive: true }, () => resolve((server.address() as net.AddressInfo).port));
        });
        const sock = dgram.createSocket({ type: net.isIPv6(a.host) ? 'udp6' : 'udp4' });
        try {
          await new Promise<void>((resolve, reject) => {
            sock.once('error', reject);
            sock.bind({ address: a.host, port, exclusive: true }, () => resolve());
          });
        } catch (e) {
          sock.close();
          await new Promise<void>((r) => server.close(() => r()));
          if (a.port !== 0 || attempt >= 20) throw e;
          continue;
        }
        servers.push(server);
        sockets.push(sock);
        sock.on('error', () => {});
        const local = sock.address().address;
        sock.on('message', (msg, rinfo) => {
          if (gate && !gate.admit(rinfo.address, 'udp')) return;
          processKpasswdAsync(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), context, { transport: 'udp', address: rinfo.address, port: rinfo.port, localAddress: local === '0.0.0.0' || local === '::' ? '127.0.0.1' : local } as never).then(
            (out) => {
              if (out.reply) sock.send(out.reply, rinfo.port, rinfo.address);
            },
            // processKpasswd answers every failure itself; anything left is dropped.
            () => {},
          );
        });
        udp.push({ host: a.host, port });
        tcp.push({ host: a.host, port });
        break;
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return { udp, tcp, context, admission, close: () => (closing ??= closeAll()) };
}
