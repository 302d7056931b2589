/**
 * startKdcServer: UDP and TCP listeners on every listen address, all calling
 * one request handler over the principal store (RFC 4120 §7.2.1, §7.2.2).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { Admission, DEFAULT_ENCTYPES } from '@kpop/common';
import type { PrincipalStore } from '../db/types.js';
import type { HandlerContext } from '../exchange/handler.js';
import { Lookaside } from '../exchange/lookaside.js';
import type { LookasideOptions } from '../exchange/lookaside.js';
import { stdoutLogger } from '../exchange/log.js';
import type { KdcLogger } from '../exchange/log.js';
import { DEFAULT_REQUEST_LIMITS, RequestGate } from './rate-limit.js';
import type { RequestLimits } from './rate-limit.js';
import { DEFAULT_TCP_LIMITS, serveTcpConnection, tcpConnectionLimits } from './tcp.js';
import type { TcpLimits } from './tcp.js';
import { serveUdp } from './udp.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface KdcServerOptions {
  /** refresh() may answer later (PostgreSQL's store): the timer then waits for nothing, and a failure is reported as one. */
  store: PrincipalStore & { refresh?(): boolean | Promise<boolean> };
  /** UDP and TCP on each; port 0 asks the OS, and gets the same port for both where it can. */
  listen: ListenAddress[];
  /** One record per request; default: a JSON line on stdout. */
  log?: KdcLogger;
  now?: () => Date;
  /** UDP replies over this many bytes get KRB_ERR_RESPONSE_TOO_BIG (default 1400). */
  maxUdpReply?: number;
  /** Enctypes the KDC uses (default DEFAULT_ENCTYPES: aes256/aes128, sha1 and sha2). */
  enctypes?: readonly number[];
  /** Lookaside cache for retransmissions; false turns it off. */
  lookaside?: LookasideOptions | false;
  /** TCP connection limits (global and per-address caps, frame and idle deadlines). */
  tcp?: Partial<TcpLimits>;
  /** Per-address request budget and log caps (UDP and TCP); false turns them off. */
  requests?: Partial<RequestLimits> | false;
  /** How often to ask the store whether the database changed (ms, default 500). */
  refreshIntervalMs?: number;
  /** Bind with exclusive: false, so that cluster workers share the primary's sockets (server/workers.ts). */
  shared?: boolean;
  /** Bind with SO_REUSEPORT (Node 22.12+ / 23.1+), so that each worker has sockets of its own on the same port (server/workers.ts). */
  reusePort?: boolean;
  /** Told of each failed refresh (default: ignored, the next tick tries again), and with undefined of the next success. */
  onRefresh?: (error: unknown) => void;
}

export interface KdcServer {
  readonly udp: ListenAddress[];
  readonly tcp: ListenAddress[];
  /** The handler context, for in-process callers (tests, benchmarks). */
  readonly context: HandlerContext;
  /** The per-address request budget (undefined when turned off); its stats count what it dropped. */
  readonly gate: RequestGate | undefined;
  /** The TCP listeners' admission layer. */
  readonly admission: Admission;
  close(): Promise<void>;
}

const UDP_RECV_BUFFER = 4 * 1024 * 1024;

function udpType(host: string): 'udp4' | 'udp6' {
  return net.isIPv6(host) ? 'udp6' : 'udp4';
}

/**
 * The address a UDP reply goes to is always the sender's IP literal, yet
 * dgram.send() resolves it with dns.lookup() and sends a tick later; with
 * this lookup the send happens at once (names still go through dns.lookup).
 */
function literalLookup(hostname: string, options: dns.LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = net.isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dns.lookup(hostname, options, callback);
}

function listenTcp(server: net.Server, host: string, port: number, exclusive: boolean, reusePort: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    // reusePort is not in Node 20's types; Node 20 would ignore it (workers.ts asks only where it works).
    server.listen({ host, port, exclusive, ...(reusePort ? { reusePort: true } : {}) } as net.ListenOptions, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function bindUdp(socket: dgram.Socket, host: string, port: number, exclusive: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive }, () => {
      socket.off('error', onError);
      resolve(socket.address().port);
    });
  });
}

/**
 * Bind TCP then UDP on one port. With port 0 the OS picks the TCP port and
 * UDP tries the same number (krb5.conf's `kdc = host:port` names one port for
 * both); if taken, try again with a fresh TCP port.
 */
async function bindPair(host: string, port: number, makeTcp: () => net.Server, exclusive: boolean, reusePort: boolean): Promise<{ tcp: net.Server; udp: dgram.Socket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const tcp = makeTcp();
    const p = await listenTcp(tcp, host, port, exclusive, reusePort);
    // A deep receive queue (up to net.core.rmem_max): a burst from one
    // flooder does not overflow it and take other clients' datagrams with it,
    // since the per-address budget then drops the burst at a Map lookup each.
    const udp = dgram.createSocket({ type: udpType(host), lookup: literalLookup, recvBufferSize: UDP_RECV_BUFFER, ...(reusePort ? { reusePort: true } : {}) } as dgram.SocketOptions);
    try {
      await bindUdp(udp, host, p, exclusive);
      return { tcp, udp, port: p };
    } catch (e) {
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
      if (port !== 0 || attempt >= 20) throw e;
    }
  }
}

export async function startKdcServer(opts: KdcServerOptions): Promise<KdcServer> {
  const store = opts.store;
  const baseLog = opts.log ?? stdoutLogger;
  const gate = opts.requests === false ? undefined : new RequestGate({ ...DEFAULT_REQUEST_LIMITS, ...opts.requests }, baseLog);
  const context: HandlerContext = {
    store,
    now: opts.now ?? (() => new Date()),
    enctypes: opts.enctypes ?? DEFAULT_ENCTYPES,
    ...(opts.lookaside === false ? {} : { lookaside: new Lookaside(opts.lookaside ?? {}) }),
    log: gate ? gate.wrapLog(baseLog) : baseLog,
    ...(opts.maxUdpReply !== undefined ? { maxUdpReply: opts.maxUdpReply } : {}),
  };
  const limits: TcpLimits = { ...DEFAULT_TCP_LIMITS, ...opts.tcp };
  const tcpServers: net.Server[] = [];
  const udpSockets: dgram.Socket[] = [];
  const udp: ListenAddress[] = [];
  const tcp: ListenAddress[] = [];
  // One admission layer for every TCP listener: refusals just close (RFC 4120 §7.2.2 has no "busy" answer).
  const admission = new Admission({
    limits: tcpConnectionLimits(limits),
    log: (r) => baseLog({ time: new Date().toISOString(), from: r.remote, transport: 'tcp', msg: r.event === 'refused' ? 'CONNECTION_REFUSED' : 'CONNECTION_CLOSED', ...r }),
    ...(gate ? { logIntervalMs: gate.limits.logIntervalMs } : {}),
  });
  const makeTcp = (): net.Server => {
    const server = net.createServer({ noDelay: true }, (sock) => {
      const guard = admission.admit(sock, 'kdc-tcp');
      if (guard) serveTcpConnection(sock, context, limits, guard, gate);
    });
    server.on('error', () => {});
    return server;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    for (const a of opts.listen) {
      const pair = await bindPair(a.host, a.port, makeTcp, opts.shared !== true || opts.reusePort === true, opts.reusePort === true);
      tcpServers.push(pair.tcp);
      udpSockets.push(pair.udp);
      serveUdp(pair.udp, context, gate);
      tcp.push({ host: a.host, port: pair.port });
      udp.push({ host: a.host, port: pair.port });
    }
  } catch (e) {
    for (const s of tcpServers) s.close();
    for (const u of udpSockets) u.close();
    gate?.close();
    throw e;
  }
  if (store.refresh) {
    timer = setInterval(() => {
      try {
        const r = store.refresh?.();
        if (r instanceof Promise) r.then(() => opts.onRefresh?.(undefined), (e: unknown) => opts.onRefresh?.(e));
        else opts.onRefresh?.(undefined);
      } catch (e) {
        // A busy or briefly locked database: try again next tick.
        opts.onRefresh?.(e);
      }
    }, opts.refreshIntervalMs ?? 500);
    timer.unref();
  }
  let closing: Promise<void> | undefined;
  return {
    udp,
    tcp,
    context,
    gate,
    admission,
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        admission.close();
        gate?.close();
        await Promise.all([
          ...tcpServers.map((s) => new Promise<void>((r) => s.close(() => r()))),
          ...udpSockets.map((u) => new Promise<void>((r) => u.close(() => r()))),
        ]);
      })();
      return closing;
    },
  };
}
