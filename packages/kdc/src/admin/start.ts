/**
 * `kdc start`: the long-running KDC over the database in DIR. The server
 * (startKdcServer) reads principals from the database's in-memory view and
 * calls refresh() on a short interval, so `kdc addprinc` and friends in
 * another process take effect within half a second, without a restart.
 * Status lines go to stderr; stdout carries one JSON line per request.
 * SIGINT and SIGTERM close the listeners, flush the lockout bookkeeping and
 * exit 0; SIGHUP re-reads the database at once.
 */
import { ensureChangepwPrincipal, startKdcServer, startKpasswdServer, stdoutLogger, type KpasswdServer } from '../server/index.js';
import { dirOf, openDb, type CliIo } from './commands.js';
import { parseCount, parseListen } from './parse.js';

/** Port 88 (RFC 4120 §7.2.3) on loopback only: serving other hosts is a choice made with --listen. */
export const DEFAULT_LISTEN = '127.0.0.1:88';

/** RFC 3244 §2: the kpasswd service's port, on the hosts the KDC serves unless --kpasswd-listen says otherwise. */
export const KPASSWD_PORT = 464;

export async function cmdStart(o: { dir?: string; listen?: string[]; maxUdpReply?: string; kpasswdListen?: string[]; kpasswdAdmin?: string[] }, io: CliIo): Promise<void> {
  const listen = (o.listen ?? [DEFAULT_LISTEN]).map((t) => parseListen(t));
  const kpasswdOff = o.kpasswdListen?.length === 1 && o.kpasswdListen[0] === 'none';
  const kpasswdListen = kpasswdOff ? [] : o.kpasswdListen !== undefined ? o.kpasswdListen.map((t) => parseListen(t, KPASSWD_PORT)) : [...new Set(listen.map((a) => a.host))].map((host) => ({ host, port: KPASSWD_PORT }));
  const maxUdpReply = o.maxUdpReply === undefined ? undefined : parseCount('--max-udp-reply', o.maxUdpReply);
  const db = await openDb(dirOf(o, io), io);
  // Batched writes to fd 1 (a write(2) per request cost more than its crypto); another stream gets a line each.
  const logger = io.stdout === process.stdout ? stdoutLogger : (record: Record<string, unknown>) => void io.stdout.write(JSON.stringify(record) + '\n');
  let server;
  let kpasswd: KpasswdServer | undefined;
  try {
    // A realm made before the kpasswd service existed gets kadmin/changepw on its first start.
    if (ensureChangepwPrincipal(db)) io.stderr.write(`kdc: created kadmin/changepw@${db.realm} for the kpasswd service\n`);
    server = await startKdcServer({
      store: db,
      listen,
      log: logger,
      ...(maxUdpReply !== undefined ? { maxUdpReply } : {}),
    });
    if (kpasswdListen.length > 0) {
      try {
        kpasswd = await startKpasswdServer({ db, listen: kpasswdListen, log: logger, admins: o.kpasswdAdmin ?? [] });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (o.kpasswdListen === undefined && (err.code === 'EACCES' || err.code === 'EADDRINUSE')) {
          // The default port 464 is privileged or taken: the KDC still serves, and says how to get the service.
          io.stderr.write(`kdc: kpasswd service not started: cannot listen on port ${KPASSWD_PORT} (${err.code === 'EACCES' ? 'permission denied' : 'address in use'}); give --kpasswd-listen HOST:PORT, or --kpasswd-listen none\n`);
        } else {
          await server.close();
          throw e;
        }
      }
    }
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
  if (kpasswd) io.stderr.write(`kdc: kpasswd service on ${kpasswd.udp.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(' ')} (UDP and TCP)\n`);
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
  await kpasswd?.close();
  stdoutLogger.flush();
  db.close();
  io.stderr.write(`kdc: ${signal}: stopped\n`);
}
