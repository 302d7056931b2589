/**
 * A streaming replica of a throwaway cluster from postgres.ts, for the
 * topology the README describes (one primary, one replica kept for the day
 * the primary dies): pg_basebackup -R from the primary's unix socket, the
 * replica on its own free loopback port, promote(), and moveTo(port) to put
 * it at the primary's address, as a DNS name or a floating address would
 * move. stop() stops it and removes its folder (also at process exit).
 * As root, the programs run as `postgres` (initdb and postgres refuse root).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownedByPostgres, postgresBinDir, runPostgresProgram, type Postgres } from './postgres.js';
import { freePort } from './free-port.js';

export interface Replica {
  readonly port: number;
  /** SELECT pg_is_in_recovery() on the replica: true while it follows the primary. */
  inRecovery(): boolean;
  /** pg_ctl promote: the replica becomes a primary (the old one should be stopped first). */
  promote(): void;
  /** Restart on another port (the old primary's, once it is gone). */
  moveTo(port: number): void;
  stop(): void;
}

export async function startReplica(primary: Postgres): Promise<Replica> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed');
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'kpop-pg-replica-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (root) {
    chmodSync(dir, 0o700);
    ownedByPostgres(dir);
  }
  const run = (program: string, args: string[]): string => runPostgresProgram(bin, dir, logFile, program, args);
  let port = 0;
  let up = false;
  const start = (): void => {
    run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`, 'start']);
    up = true;
  };
  const stopServer = (mode: 'fast' | 'immediate'): void => {
    if (!up) return;
    run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
    up = false;
  };
  let removed = false;
  const stop = (): void => {
    if (removed) return;
    removed = true;
    try {
      stopServer('immediate');
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  try {
    // -R: standby.signal and primary_conninfo (the primary's socket); -X stream: the WAL of the copy comes along.
    run('pg_basebackup', ['-h', primary.dir, '-p', String(primary.port), '-U', primary.user, '-D', data, '-R', '-X', 'stream', '-c', 'fast']);
    port = await freePort();
    start();
  } catch (e) {
    stop();
    throw e;
  }
  const psql = (sql: string): string => run('psql', ['-h', dir, '-p', String(port), '-U', primary.user, '-d', 'postgres', '-X', '-q', '-A', '-t', '-c', sql]).trim();
  return {
    get port() {
      return port;
    },
    inRecovery: () => psql('SELECT pg_is_in_recovery()') === 't',
    promote: () => void run('pg_ctl', ['-D', data, '-w', 'promote']),
    moveTo(p: number) {
      stopServer('fast');
      port = p;
      start();
    },
    stop,
  };
}
