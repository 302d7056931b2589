/**
 * `kdc start`: the long-running KDC over the database in DIR. The server
 * (startKdcServer) reads principals from the database's in-memory view and
 * calls refresh() on a short interval, so `kdc addprinc` and friends in
 * another process take effect within half a second, without a restart.
 * Status lines go to stderr; stdout carries one JSON line per request.
 * SIGINT and SIGTERM close the listeners, flush the lockout bookkeeping and
 * exit 0; SIGHUP re-reads the database at once.
 */
import { jsonLine } from '@kpop/common';
import { startKdcServer, stdoutLogger, type RequestLimits, type TcpLimits } from '../server/index.js';
import { dirOf, openDb, type CliIo } from './commands.js';
import { parseCount, parseListen } from './parse.js';

export interface StartOptions {
  dir?: string;
  listen?: string[];
  maxUdpReply?: string;
  ratePerAddress?: string;
  burstPerAddress?: string;
  failureLogsPerAddress?: string;
  limitLogInterval?: string;
  tcpMaxConnections?: string;
  tcpMaxPerAddress?: string;
  tcpIdleTimeout?: string;
  tcpFrameTimeout?: string;
}

/** The limit flags as server options (only those given; the rest keep their defaults). */
export function limitOptions(o: StartOptions): { requests: Partial<RequestLimits>; tcp: Partial<TcpLimits> } {
  const n = (flag: string, v: string | undefined, scale = 1): number | undefined => (v === undefined ? undefined : parseCount(flag, v) * scale);
  const pick = <T extends object>(x: Record<string, number | undefined>): Partial<T> => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    requests: pick<RequestLimits>({
      ratePerAddress: n('--rate-per-address', o.ratePerAddress),
      burstPerAddress: n('--burst-per-address', o.burstPerAddress),
      failureLogsPerAddress: n('--failure-logs-per-address', o.failureLogsPerAddress),
      logIntervalMs: n('--limit-log-interval', o.limitLogInterval, 1000),
    }),
    tcp: pick<TcpLimits>({
      maxConnections: n('--tcp-max-connections', o.tcpMaxConnections),
      maxPerAddress: n('--tcp-max-per-address', o.tcpMaxPerAddress),
      idleTimeoutMs: n('--tcp-idle-timeout', o.tcpIdleTimeout, 1000),
      frameTimeoutMs: n('--tcp-frame-timeout', o.tcpFrameTimeout, 1000),
    }),
  };
}

/** Port 88 (RFC 4120 §7.2.3) on loopback only: serving other hosts is a choice made with --listen. */
export const DEFAULT_LISTEN = '127.0.0.1:88';

export async function cmdStart(o: StartOptions, io: CliIo): Promise<void> {
  const listen = (o.listen ?? [DEFAULT_LISTEN]).map(parseListen);
  const { requests, tcp } = limitOptions(o);
  const maxUdpReply = o.maxUdpReply === undefined ? undefined : parseCount('--max-udp-reply', o.maxUdpReply);
  const db = await openDb(dirOf(o, io), io);
  // Batched writes to fd 1 (a write(2) per request cost more than its crypto); another stream gets a line each.
  const logger = io.stdout === process.stdout ? stdoutLogger : (record: Record<string, unknown>) => void io.stdout.write(jsonLine(record) + '\n');
  let server;
  try {
    server = await startKdcServer({
      store: db,
      listen,
      log: logger,
      requests,
      tcp,
      ...(maxUdpReply !== undefined ? { maxUdpReply } : {}),
    });
  } catch (e) {
    db.close();
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    if (err.code === 'EACCES') throw new Error(`cannot listen on ${err.address ?? ''}:${err.port ?? ''}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; try --listen 127.0.0.1:8888)`);
    if (err.code === 'EADDRINUSE') throw new Error(`cannot listen on ${err.address ?? ''}:${err.port ?? ''}: address in use (another KDC running?)`);
    if (err.code === 'EADDRNOTAVAIL') throw new Error(`cannot listen on ${err.address ?? ''}: no such local address`);
    throw e;
  }
  const where = server.udp.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(' ');
  io.stderr.write(`kdc: realm ${db.realm} serving on ${where} (UDP and TCP)\n`);
  const onHup = (): void => {
    try {
      db.refresh();
    } catch {
      // Busy database: the server's own refresh timer tries again.
    }
  };
  process.on('SIGHUP', onHup);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.off('SIGHUP', onHup);
  await server.close();
  stdoutLogger.flush();
  db.close();
  io.stderr.write(`kdc: ${signal}: stopped\n`);
}
