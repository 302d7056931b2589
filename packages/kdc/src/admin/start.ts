/**
 * `kdc start`: the long-running KDC over the database in DIR. The server
 * (startKdcServer) reads principals from the database's in-memory view and
 * calls refresh() on a short interval, so `kdc addprinc` and friends in
 * another process take effect within half a second, without a restart.
 * Status lines go to stderr; stdout carries one JSON line per request.
 * SIGINT and SIGTERM close the listeners, flush the lockout bookkeeping and
 * exit 0; SIGHUP re-reads the database at once.
 */
import { startKdcServer, stdoutLogger } from '../server/index.js';
import { dirOf, openDb, type CliIo } from './commands.js';
import { parseCount, parseListen } from './parse.js';

/**
 * A refresh that keeps failing (the database file removed, replaced by another
 * realm's) must not pass unseen: the KDC would serve a stale view while the
 * admin's changes go elsewhere. One stderr line when the reason changes, one
 * when refreshing works again; a busy database (it happens) is not reported.
 */
function reportRefresh(io: CliIo): (e: unknown) => void {
  let last: string | undefined;
  return (e) => {
    if (e === undefined) {
      if (last !== undefined) io.stderr.write('kdc: database readable again; serving what it holds now\n');
      last = undefined;
      return;
    }
    if (/busy|locked/i.test((e as Error).message ?? '')) return;
    const msg = e instanceof Error ? e.message.replace(/\s*\n\s*/g, '; ') : String(e);
    if (msg !== last) io.stderr.write(`kdc: cannot refresh the database: ${msg}\n`);
    last = msg;
  };
}

/** Port 88 (RFC 4120 §7.2.3) on loopback only: serving other hosts is a choice made with --listen. */
export const DEFAULT_LISTEN = '127.0.0.1:88';

export async function cmdStart(o: { dir?: string; listen?: string[]; maxUdpReply?: string }, io: CliIo): Promise<void> {
  const listen = (o.listen ?? [DEFAULT_LISTEN]).map(parseListen);
  const maxUdpReply = o.maxUdpReply === undefined ? undefined : parseCount('--max-udp-reply', o.maxUdpReply);
  const db = await openDb(dirOf(o, io), io);
  // Batched writes to fd 1 (a write(2) per request cost more than its crypto); another stream gets a line each.
  const logger = io.stdout === process.stdout ? stdoutLogger : (record: Record<string, unknown>) => void io.stdout.write(JSON.stringify(record) + '\n');
  let server;
  try {
    server = await startKdcServer({
      store: db,
      listen,
      log: logger,
      onRefresh: reportRefresh(io),
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
