/**
 * A throwaway PostgreSQL cluster for a test: initdb into a temporary folder,
 * postgres on a free loopback port (127.0.0.1 only; its unix socket in the
 * folder, never /var/run), fsync off (synchronous_commit stays on: a
 * commit is written before it is acknowledged, so crash() loses none). stop() stops it and removes the folder.
 *
 *   const pg = await startPostgres();       // skip first with `hasPostgres`
 *   afterAll(() => pg?.stop());             // always, even when a test failed
 *   … pg.url …                              // postgresql://kpop:PW@127.0.0.1:PORT/kdc
 *
 * The binaries come from PATH (initdb, pg_ctl), else /usr/lib/postgresql/N/bin
 * (Debian's `postgresql`, which .ci/run installs). initdb refuses to run as
 * root: as root the folder is given to the `postgres` user and initdb/pg_ctl
 * run through `runuser -u postgres --`.
 *
 * The cluster requires a password over TCP (scram-sha-256), so that a test
 * can check that no program prints the URL's password. pause()/crash() and
 * resume() stop and restart the server on the same port and data (a
 * database that goes away and comes back); stop() is idempotent and also runs at process
 * exit, so a crashed test file leaves no postgres behind.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface Postgres {
  /** postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** The cluster's folder (data/, the socket, the server log). */
  readonly dir: string;
  /** A URL for another database of this cluster (made with createDatabase). */
  urlFor(database: string): string;
  /** CREATE DATABASE name (through psql on the unix socket). */
  createDatabase(name: string): void;
  /** Runs SQL through psql as the superuser; returns its output (unaligned, tuples only). */
  psql(sql: string, database?: string): string;
  /** Stops the server (fast shutdown), keeping the data: the database is away. */
  pause(): void;
  /** Stops the server at once, as a crash or kill -9 would (pg_ctl stop -m immediate), keeping the data. */
  crash(): void;
  /** Starts it again on the same port (after pause or crash; a crash is recovered from the WAL). */
  resume(): void;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** Stops the server and removes the folder; safe to call twice. */
  stop(): Promise<void>;
}

/** The folder holding initdb and pg_ctl, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'psql'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

/** True when a test can start a cluster (else it skips, saying PostgreSQL is not installed). */
export const hasPostgres: boolean = postgresBinDir() !== undefined;
export const NO_POSTGRES = 'PostgreSQL is not installed (initdb/pg_ctl neither on PATH nor in /usr/lib/postgresql/*/bin): apt-get install postgresql';

const isRoot = (): boolean => process.getuid?.() === 0;

const running = new Set<() => void>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const stop of running) stop();
  });
}

export async function startPostgres(opts: { database?: string } = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(NO_POSTGRES);
  const dir = mkdtempSync(join(tmpdir(), 'kpop-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const user = 'kpop';
  const password = randomBytes(12).toString('hex');
  const database = opts.database ?? 'kdc';
  writeFileSync(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (isRoot()) {
    chmodSync(dir, 0o700);
    ownedByPostgres(dir);
    ownedByPostgres(join(dir, 'pwfile'));
  }
  const run = (program: string, args: string[], what: string): string => runPostgresProgram(bin, dir, logFile, program, args, what);

  let port = 0;
  const pgCtlStart = (): void => {
    run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=16MB`,
      'start'], 'pg_ctl start');
  };
  try {
    run('initdb', ['-D', data, '-U', user, `--pwfile=${join(dir, 'pwfile')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '-N'], 'initdb');
    // A port taken between freePort() and the bind (another test's): try a few.
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        pgCtlStart();
        break;
      } catch (e) {
        if (attempt >= 4) throw e;
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  let stopped = false;
  let serverUp = true;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    running.delete(stopSync);
    try {
      if (serverUp) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], 'pg_ctl stop');
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(stopSync);
  installExitHook();

  const psql = (sql: string, db = 'postgres'): string => run('psql', ['-h', dir, '-p', String(port), '-U', user, '-d', db, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], 'psql');
  const urlFor = (db: string): string => `postgresql://${user}:${password}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  try {
    psql(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (e) {
    stopSync();
    throw e;
  }
  return {
    url: urlFor(database),
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    dir,
    urlFor,
    createDatabase: (name) => void psql(`CREATE DATABASE "${name.replace(/"/g, '""')}"`),
    psql,
    pause() {
      if (!serverUp) return;
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'], 'pg_ctl stop');
      serverUp = false;
    },
    crash() {
      if (!serverUp) return;
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], 'pg_ctl stop');
      serverUp = false;
    },
    resume() {
      if (serverUp) return;
      pgCtlStart();
      serverUp = true;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stop: async () => stopSync(),
  };
}

/** As root, gives `path` to the postgres user (initdb and postgres refuse to run as root); else nothing. */
export function ownedByPostgres(path: string): void {
  if (isRoot()) chownSync(path, uidOf('postgres'), gidOf('postgres'));
}

/**
 * Runs one of PostgreSQL's programs from `bin` in `dir` (as `postgres` when we
 * are root), never under the test's libfaketime (the server's clock is the
 * kernel's) nor its PG* settings; a failure throws with the program's output
 * and the tail of the server log.
 */
export function runPostgresProgram(bin: string, dir: string, logFile: string, program: string, args: string[], what = program): string {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' } as NodeJS.ProcessEnv;
  delete env.LD_PRELOAD;
  for (const k of Object.keys(env)) if (k.startsWith('FAKETIME') || k.startsWith('PG')) delete env[k];
  const r = spawnSync(cmd, argv, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    const serverLog = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    throw new Error(`${what} failed (${r.error?.message ?? `exit ${String(r.status)}`}): ${r.stderr}${r.stdout}\n${serverLog}`);
  }
  return r.stdout;
}

function idOf(flag: '-u' | '-g', name: string): number {
  const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(n)) throw new Error(`no user ${name}: PostgreSQL's package makes it (apt-get install postgresql)`);
  return n;
}
const uidOf = (name: string): number => idOf('-u', name);
const gidOf = (name: string): number => idOf('-g', name);
