/**
 * `kdc start`: the long-running KDC over the database in DIR. The server
 * (startKdcServer) reads principals from the database's in-memory view and
 * calls refresh() on a short interval, so `kdc addprinc` and friends in
 * another process take effect within half a second, without a restart.
 * Status lines go to stderr; stdout carries one JSON line per request.
 * SIGINT and SIGTERM close the listeners, flush the lockout bookkeeping and
 * exit 0; SIGHUP re-reads the database at once and reopens the log file.
 * With --log-file the request log goes to a RotatingFile: a size cap with
 * kept files (--log-max-size, --log-keep), so a busy KDC cannot fill its
 * disk, and a reopen on SIGHUP for logrotate's move-then-signal.
 */
import { parseLogKeep, parseLogSize, RotatingFile } from '@kpop/common';
import { batchedFdLogger, startKdcServer, stdoutLogger } from '../server/index.js';
import { dirOf, openDb, type CliIo } from './commands.js';
import { parseCount, parseListen } from './parse.js';

/** Port 88 (RFC 4120 §7.2.3) on loopback only: serving other hosts is a choice made with --listen. */
export const DEFAULT_LISTEN = '127.0.0.1:88';

export async function cmdStart(o: { dir?: string; listen?: string[]; maxUdpReply?: string; logFile?: string; logMaxSize?: string; logKeep?: string }, io: CliIo): Promise<void> {
  const listen = (o.listen ?? [DEFAULT_LISTEN]).map(parseListen);
  const maxUdpReply = o.maxUdpReply === undefined ? undefined : parseCount('--max-udp-reply', o.maxUdpReply);
  const logMax = parseLogSize(o.logMaxSize ?? '64M');
  const logKeep = parseLogKeep(o.logKeep ?? '5');
  const db = await openDb(dirOf(o, io), io);
  let logFile: RotatingFile | undefined;
  try {
    if (o.logFile) logFile = new RotatingFile(o.logFile, { maxBytes: logMax, keep: logKeep });
  } catch (e) {
    db.close();
    throw new Error(`cannot open the log file ${o.logFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Batched writes (a write(2) per request cost more than its crypto); another stream gets a line each.
  const logger = logFile ? batchedFdLogger(logFile) : io.stdout === process.stdout ? stdoutLogger : Object.assign((record: Record<string, unknown>) => void io.stdout.write(JSON.stringify(record) + '\n'), { flush() {} });
  let server;
  try {
    server = await startKdcServer({
      store: db,
      listen,
      log: logger,
      ...(maxUdpReply !== undefined ? { maxUdpReply } : {}),
    });
  } catch (e) {
    db.close();
    logFile?.close();
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    if (err.code === 'EACCES') throw new Error(`cannot listen on ${err.address ?? ''}:${err.port ?? ''}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; try --listen 127.0.0.1:8888)`);
    if (err.code === 'EADDRINUSE') throw new Error(`cannot listen on ${err.address ?? ''}:${err.port ?? ''}: address in use (another KDC running?)`);
    if (err.code === 'EADDRNOTAVAIL') throw new Error(`cannot listen on ${err.address ?? ''}: no such local address`);
    throw e;
  }
  const where = server.udp.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(' ');
  io.stderr.write(`kdc: realm ${db.realm} serving on ${where} (UDP and TCP)\n`);
  const onHup = (): void => {
    if (logFile) {
      logger.flush();
      try {
        logFile.reopen();
      } catch (e) {
        io.stderr.write(`kdc: SIGHUP: cannot reopen ${logFile.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      }
    }
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
  logger.flush();
  logFile?.close();
  db.close();
  io.stderr.write(`kdc: ${signal}: stopped\n`);
}
