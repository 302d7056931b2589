/**
 * startKdcServer: UDP and TCP listeners on every listen address, all calling
 * one request handler over the principal store (RFC 4120 §7.2.1, §7.2.2).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { DEFAULT_ENCTYPES } from '@kpop/common';
import type { PrincipalStore } from '../db/types.js';
import type { HandlerContext } from '../exchange/handler.js';
import { Lookaside } from '../exchange/lookaside.js';
import type { LookasideOptions } from '../exchange/lookaside.js';
import { stdoutLogger } from '../exchange/log.js';
import type { KdcLogger } from '../exchange/log.js';
import { DEFAULT_TCP_LIMITS, serveTcpConnection } from './tcp.js';
import type { TcpLimits } from './tcp.js';
import { serveUdp } from './udp.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface KdcServerOptions {
  store: PrincipalStore & { refresh?(): boolean };
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
  tcp?: Partial<TcpLimits>;
  /** How often to ask the store whether the database changed (ms, default 500). */
  refreshIntervalMs?: number;
  /** Told of each failed refresh (default: ignored, the next tick tries again), and with undefined of the next success. */
  onRefresh?: (error: unknown) => void;
}

export interface KdcServer {
  readonly udp: ListenAddress[];
  readonly tcp: ListenAddress[];
  /** The handler context, for in-process callers (tests, benchmarks). */
  readonly context: HandlerContext;
  close(): Promise<void>;
}

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

function listenTcp(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function bindUdp(socket: dgram.Socket, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
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
async function bindPair(host: string, port: number, makeTcp: () => net.Server): Promise<{ tcp: net.Server; udp: dgram.Socket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const tcp = makeTcp();
    const p = await listenTcp(tcp, host, port);
    const udp = dgram.createSocket({ type: udpType(host), lookup: literalLookup });
    try {
      await bindUdp(udp, host, p);
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
  const context: HandlerContext = {
    store,
    now: opts.now ?? (() => new Date()),
    enctypes: opts.enctypes ?? DEFAULT_ENCTYPES,
    ...(opts.lookaside === false ? {} : { lookaside: new Lookaside(opts.lookaside ?? {}) }),
    log: opts.log ?? stdoutLogger,
    ...(opts.maxUdpReply !== undefined ? { maxUdpReply: opts.maxUdpReply } : {}),
  };
  const limits: TcpLimits = { ...DEFAULT_TCP_LIMITS, ...opts.tcp };
  const tcpServers: net.Server[] = [];
  const udpSockets: dgram.Socket[] = [];
  const sockets = new Set<net.Socket>();
  const udp: ListenAddress[] = [];
  const tcp: ListenAddress[] = [];
  const makeTcp = (): net.Server => {
    const server = net.createServer({ noDelay: true }, (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      serveTcpConnection(sock, context, limits);
    });
    server.maxConnections = limits.maxConnections;
    server.on('error', () => {});
    return server;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    for (const a of opts.listen) {
      const pair = await bindPair(a.host, a.port, makeTcp);
      tcpServers.push(pair.tcp);
      udpSockets.push(pair.udp);
      serveUdp(pair.udp, context);
      tcp.push({ host: a.host, port: pair.port });
      udp.push({ host: a.host, port: pair.port });
    }
  } catch (e) {
    for (const s of tcpServers) s.close();
    for (const u of udpSockets) u.close();
    throw e;
  }
  if (store.refresh) {
    timer = setInterval(() => {
      try {
        store.refresh?.();
        opts.onRefresh?.(undefined);
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
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        for (const s of sockets) s.destroy();
        await Promise.all([
          ...tcpServers.map((s) => new Promise<void>((r) => s.close(() => r()))),
          ...udpSockets.map((u) => new Promise<void>((r) => u.close(() => r()))),
        ]);
      })();
      return closing;
    },
  };
}
