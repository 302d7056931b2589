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
 *
 * With --db URL (or $KPOP_KDC_DB) the principals come from PostgreSQL: the
 * KDC follows the database's change feed (LISTEN/NOTIFY, db/pg/feed.ts), and
 * when it loses the database it says so once on stderr, serves from memory
 * and reconnects (one more line when the database is back).
 *
 * With --workers N (N > 1, or `auto`: one per core) this process becomes the
 * primary of N worker processes serving the same ports (server/workers.ts);
 * each worker runs this same command and lands in serveAsWorker().
 */
import { jsonLine, parseLogKeep, parseLogSize, RotatingFile } from '@kpop/common';
import { availableParallelism } from 'node:os';
import { isKdcWorker, parseWorkers, receiveWorkerConfig, reportWorkerFailed, reportWorkerReady, reusePortWorks, shareLockoutEvents, superviseWorkers } from '../server/workers.js';
import type { WorkerConfig } from '../server/workers.js';
import { batchedFdLogger, ensureChangepwPrincipal, startKdcServer, startKpasswdServer, stdoutLogger, type KpasswdServer, type RequestLimits, type TcpLimits } from '../server/index.js';
import type { KdcServer } from '../server/index.js';
import type { PgDatabaseOptions, RealmDatabase } from '../db/index.js';
import { openDb, openStore, type CliIo } from './commands.js';
import { parseCount, parseListen, UsageError } from './parse.js';

export interface StartOptions {
  dir?: string;
  db?: string;
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
  workers?: string;
  principalCache?: string;
  kpasswdListen?: string[];
  kpasswdAdmin?: string[];
  logFile?: string;
  logMaxSize?: string;
  logKeep?: string;
}

/** Where the kpasswd service listens: --kpasswd-listen, `none`, or port 464 on the --listen hosts. */
function kpasswdAddresses(o: StartOptions, listen: { host: string }[]): { host: string; port: number }[] {
  if (o.kpasswdListen?.length === 1 && o.kpasswdListen[0] === 'none') return [];
  if (o.kpasswdListen !== undefined) return o.kpasswdListen.map((t) => parseListen(t, KPASSWD_PORT));
  return [...new Set(listen.map((a) => a.host))].map((host) => ({ host, port: KPASSWD_PORT }));
}

/**
 * Starts the kpasswd service on db; a default port 464 that cannot be bound leaves the KDC
 * serving without it, with one line saying how to get it (an explicit address must work).
 */
async function startKpasswd(o: StartOptions, io: CliIo, db: RealmDatabase, addresses: { host: string; port: number }[], log: (r: Record<string, unknown>) => void): Promise<KpasswdServer | undefined> {
  if (addresses.length === 0) return undefined;
  try {
    return await startKpasswdServer({ db, listen: addresses, log, admins: o.kpasswdAdmin ?? [] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (o.kpasswdListen === undefined && (err.code === 'EACCES' || err.code === 'EADDRINUSE')) {
      io.stderr.write(`kdc: kpasswd service not started: cannot listen on port ${KPASSWD_PORT} (${err.code === 'EACCES' ? 'permission denied' : 'address in use'}); give --kpasswd-listen HOST:PORT, or --kpasswd-listen none\n`);
      return undefined;
    }
    throw e;
  }
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

/**
 * A KDC on PostgreSQL follows the database's change feed and, when it loses
 * the database, says so once on stderr (and once when it is back) while it
 * serves from memory; it holds at most --principal-cache principals.
 */
function following(io: CliIo, o: StartOptions, who?: string): PgDatabaseOptions {
  return { follow: true, onStatus: (line) => void io.stderr.write(`${who === undefined ? line : line.replace(/^kdc: /, `kdc: ${who}: `)}\n`), ...cacheOption(o) };
}

/** --principal-cache as database handle options (only when given). */
function cacheOption(o: StartOptions): { cacheSize?: number } {
  if (o.principalCache === undefined) return {};
  const n = parseCount('--principal-cache', o.principalCache);
  if (n < 1) throw new UsageError('--principal-cache must be at least 1');
  return { cacheSize: n };
}

/** Port 88 (RFC 4120 §7.2.3) on loopback only: serving other hosts is a choice made with --listen. */
export const DEFAULT_LISTEN = '127.0.0.1:88';

/** RFC 3244 §2: the kpasswd service's port, on the hosts the KDC serves unless --kpasswd-listen says otherwise. */
export const KPASSWD_PORT = 464;

/** A listener error as one line saying what to do. */
function listenError(e: unknown): Error {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err.code === 'EACCES') return new Error(`cannot listen on ${err.address ?? ''}:${err.port ?? ''}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; try --listen 127.0.0.1:8888)`);
  if (err.code === 'EADDRINUSE') return new Error(`cannot listen on ${err.address ?? ''}:${err.port ?? ''}: address in use (another KDC running?)`);
  if (err.code === 'EADDRNOTAVAIL') return new Error(`cannot listen on ${err.address ?? ''}: no such local address`);
  return e instanceof Error ? e : new Error(String(e));
}

function where(addresses: { host: string; port: number }[]): string {
  return addresses.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(' ');
}

function stopSignal(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const s of signals) process.once(s, () => resolve(s));
  });
}

interface Serving {
  server: { close(): Promise<void> } | undefined;
  db: RealmDatabase;
  io: CliIo;
  signals?: NodeJS.Signals[];
  kpasswd?: KpasswdServer | undefined;
  logger?: { flush(): void };
  logFile?: RotatingFile | undefined;
}

/** Serves until SIGINT/SIGTERM, re-reading the database (and reopening the log file) on SIGHUP; then closes everything. */
async function serveUntilSignal(o: Serving): Promise<NodeJS.Signals> {
  const { server, db, io, kpasswd, logFile } = o;
  const logger = o.logger ?? stdoutLogger;
  const onHup = (): void => {
    if (logFile) {
      logger.flush();
      try {
        logFile.reopen();
      } catch (e) {
        io.stderr.write(`kdc: SIGHUP: cannot reopen ${logFile.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      }
    }
    // A busy database: the server's own refresh timer tries again.
    Promise.resolve().then(() => db.refresh()).catch(() => {});
  };
  process.on('SIGHUP', onHup);
  const signal = await stopSignal(o.signals);
  process.off('SIGHUP', onHup);
  await server?.close();
  await kpasswd?.close();
  logger.flush();
  logFile?.close();
  await db.close();
  return signal;
}

export async function cmdStart(o: StartOptions, io: CliIo): Promise<void> {
  if (isKdcWorker()) return serveAsWorker(o, io);
  const listen = (o.listen ?? [DEFAULT_LISTEN]).map((t) => parseListen(t));
  const kpasswdListen = kpasswdAddresses(o, listen);
  const { requests, tcp } = limitOptions(o);
  const maxUdpReply = o.maxUdpReply === undefined ? undefined : parseCount('--max-udp-reply', o.maxUdpReply);
  const logMax = parseLogSize(o.logMaxSize ?? '64M');
  const logKeep = parseLogKeep(o.logKeep ?? '5');
  let workers = 1;
  try {
    if (o.workers !== undefined) workers = parseWorkers(o.workers, availableParallelism());
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (workers > 1) {
    // One rotating file needs one writer; the workers' lines go to the primary's stdout.
    if (o.logFile) throw new UsageError('--log-file works with one worker only: with --workers, send stdout to a file or a pipe (e.g. to rotatelogs or systemd)');
    return startPrimary(o, io, { listen, ...(maxUdpReply !== undefined ? { maxUdpReply } : {}) }, workers, kpasswdListen);
  }

  const db = await openDb(o, io, undefined, following(io, o), cacheOption(o));
  let logFile: RotatingFile | undefined;
  try {
    if (o.logFile) logFile = new RotatingFile(o.logFile, { maxBytes: logMax, keep: logKeep });
  } catch (e) {
    await db.close();
    throw new Error(`cannot open the log file ${o.logFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Batched writes (a write(2) per request cost more than its crypto); another stream gets a line each.
  const logger = logFile
    ? batchedFdLogger(logFile)
    : io.stdout === process.stdout
      ? stdoutLogger
      : Object.assign((record: Record<string, unknown>) => void io.stdout.write(jsonLine(record) + '\n'), { flush() {} });
  let server: KdcServer | undefined;
  let kpasswd: KpasswdServer | undefined;
  try {
    // A realm made before the kpasswd service existed gets kadmin/changepw on its first start.
    if (await ensureChangepwPrincipal(db)) io.stderr.write(`kdc: created kadmin/changepw@${db.realm} for the kpasswd service\n`);
    server = await startKdcServer({
      store: db,
      listen,
      log: logger,
      requests,
      tcp,
      onRefresh: reportRefresh(io),
      ...(maxUdpReply !== undefined ? { maxUdpReply } : {}),
    });
    kpasswd = await startKpasswd(o, io, db, kpasswdListen, logger);
  } catch (e) {
    await server?.close();
    await db.close();
    logFile?.close();
    throw listenError(e);
  }
  io.stderr.write(`kdc: realm ${db.realm} serving on ${where(server.udp)} (UDP and TCP)\n`);
  if (kpasswd) io.stderr.write(`kdc: kpasswd service on ${where(kpasswd.udp)} (UDP and TCP)\n`);
  const signal = await serveUntilSignal({ server, db, io, kpasswd, logger, logFile });
  io.stderr.write(`kdc: ${signal}: stopped\n`);
}

/** The primary: checks the database opens (asking for its master password once), then runs the workers. */
async function startPrimary(o: StartOptions, io: CliIo, base: WorkerConfig, workers: number, kpasswdListen: { host: string; port: number }[]): Promise<void> {
  let masterPassword: string | undefined;
  const db = await openDb(o, io, (pw) => (masterPassword = pw), following(io, o, 'kpasswd'), cacheOption(o));
  const realm = db.realm;
  if (await ensureChangepwPrincipal(db)) io.stderr.write(`kdc: created kadmin/changepw@${db.realm} for the kpasswd service\n`);
  // The kpasswd service stays in the primary, one process (its replay cache is in memory): the database
  // stays open here for it (each request re-reads what changed).
  let kpasswd: KpasswdServer | undefined;
  try {
    kpasswd = await startKpasswd(o, io, db, kpasswdListen, (r) => void io.stdout.write(jsonLine(r) + '\n'));
  } catch (e) {
    await db.close();
    throw listenError(e);
  }
  if (!kpasswd) await db.close();
  const stopKpasswd = async (): Promise<void> => {
    if (kpasswd) {
      await kpasswd.close();
      await db.close();
    }
  };
  // SO_REUSEPORT where this Node has it (each worker its own sockets: a client's retransmission reaches the
  // worker that answered it), else the primary's shared sockets; KPOP_KDC_SHARED_SOCKETS=1 forces the latter.
  const reusePort = io.env.KPOP_KDC_SHARED_SOCKETS !== '1' && (await reusePortWorks(base.listen[0]?.host ?? '127.0.0.1'));
  const config: WorkerConfig = { ...base, reusePort, ...(masterPassword !== undefined ? { masterPassword } : {}) };
  const log = (line: string): void => void io.stderr.write(`${line}\n`);
  let sup;
  try {
    sup = await superviseWorkers({ workers, config, log });
  } catch (e) {
    await stopKpasswd();
    throw listenError(e);
  }
  io.stderr.write(`kdc: realm ${realm} serving on ${where(sup.udp)} (UDP and TCP) with ${workers} workers (pids ${sup.pids().join(' ')}; ${reusePort ? 'SO_REUSEPORT' : 'shared sockets'})\n`);
  if (kpasswd) io.stderr.write(`kdc: kpasswd service on ${where(kpasswd.udp)} (UDP and TCP)\n`);
  const outcome = await Promise.race([stopSignal().then((s) => ({ signal: s })), sup.done.then((error) => ({ error }))]);
  await stopKpasswd();
  if ('signal' in outcome) {
    await sup.stop();
    io.stderr.write(`kdc: ${outcome.signal}: stopped\n`);
    return;
  }
  if (outcome.error) throw new Error(outcome.error);
}

/** A worker: the configuration comes from the primary over IPC. */
async function serveAsWorker(o: StartOptions, io: CliIo): Promise<void> {
  const config = await receiveWorkerConfig();
  let db: RealmDatabase;
  let server: KdcServer;
  try {
    db = await openStore(o, io, config.masterPassword, following(io, o, `worker ${process.env.KPOP_KDC_WORKER ?? '?'}`), cacheOption(o));
  } catch (e) {
    reportWorkerFailed((e as Error).message);
    throw e;
  }
  // The workers share stdout: writes of whole lines, at most PIPE_BUF bytes each, never interleave mid-line.
  const out = batchedFdLogger(1, 100, 4096);
  try {
    // Each record says which worker answered (1..N, as the primary's status lines name them).
    const worker = Number(process.env.KPOP_KDC_WORKER);
    const log = (record: Record<string, unknown>): void => {
      record.worker = worker;
      out(record);
    };
    process.once('exit', () => out.flush());
    // The limit flags reach each worker on its own command line (cluster.fork runs the same argv); each
    // worker keeps its own per-address budget, so one address may get up to N times the budget in all.
    const { requests, tcp } = limitOptions(o);
    server = await startKdcServer({ store: db, listen: config.listen, log, requests, tcp, onRefresh: reportRefresh(io), shared: true, reusePort: config.reusePort === true, ...(config.maxUdpReply !== undefined ? { maxUdpReply: config.maxUdpReply } : {}) });
  } catch (e) {
    await db.close();
    const err = listenError(e);
    reportWorkerFailed(err.message);
    throw err;
  }
  shareLockoutEvents(db);
  reportWorkerReady(server.udp);
  // The primary gone (its IPC channel closed): stop serving too.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // Ctrl-C reaches the whole process group: only the primary acts on it (it stops the workers with SIGTERM),
  // so that it never mistakes a worker stopping by itself for one that died.
  process.on('SIGINT', () => {});
  await serveUntilSignal({ server, db, io, signals: ['SIGTERM'], logger: out });
}
