/**
 * Connecting to the PostgreSQL server behind a realm (node-postgres): the
 * URL as it may be shown (never its password), the one-line errors an
 * administrator reads when the server is away, and the pool and client
 * settings every connection shares.
 *
 * The tables live in their own schema (kpop_kdc), selected per connection
 * with search_path, so that a realm can share a database with other
 * applications and its statements read as the SQLite store's do.
 */
import type pg from 'pg';

/**
 * node-postgres, loaded when a store on PostgreSQL is first opened: its
 * initialisation (and Node's fetch, which it touches) cost about 24 ms, a
 * quarter of every `kdc` command on SQLite when it was loaded at start.
 */
let pgModule: typeof pg | undefined;
export async function loadPg(): Promise<typeof pg> {
  if (pgModule !== undefined) return pgModule;
  // At load node-postgres asks whether it runs in a Cloudflare Worker: where
  // globalThis has no navigator (Node 20; Node 21+ has one) it builds a fetch
  // Response to find out, which loads Node's whole fetch implementation
  // (undici): 28 ms of a 160 ms `kdc getprinc` on PostgreSQL. A navigator
  // present only while it loads gets it Node 21+'s answer.
  const shim = !('navigator' in globalThis);
  if (shim) Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
  try {
    pgModule = ((await import('pg')) as unknown as { default: typeof pg }).default;
  } finally {
    if (shim) delete (globalThis as { navigator?: unknown }).navigator;
  }
  return pgModule;
}
function loadedPg(): typeof pg {
  if (pgModule === undefined) throw new Error('node-postgres is not loaded yet');
  return pgModule;
}
import { KdcDbError } from '../errors.js';

export const PG_SCHEMA = 'kpop_kdc';

/** True for what `--db` takes as a PostgreSQL URL. */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** postgresql://host:port/database: what messages show (no user, no password, no parameters). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname === '' ? (u.searchParams.get('host') ?? 'localhost') : u.hostname;
    return `postgresql://${host}:${u.port || '5432'}${u.pathname === '' ? '/' : u.pathname}`;
  } catch {
    return 'postgresql://(unparsable URL)';
  }
}

/** Removes the URL's password (and the URL itself) from a text that may quote either. */
function scrub(text: string, url: string): string {
  let out = text.split(url).join(displayUrl(url));
  try {
    const pw = decodeURIComponent(new URL(url).password);
    if (pw.length > 0) out = out.split(pw).join('***');
  } catch {
    // Unparsable: nothing more to hide than the URL itself.
  }
  return out;
}

/** What went wrong talking to the server, in a few words. */
export function describePgError(e: unknown, url: string): string {
  const err = e as { code?: string; message?: string; errors?: unknown[] };
  const code = err?.code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'host name lookup failed',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed',
    '28P01': 'password authentication failed',
    '28000': 'authentication refused',
    '3D000': 'no such database',
    '57P01': 'the server shut down',
    '57P03': 'the server is starting up or shutting down',
    '53300': 'too many connections',
  };
  if (code !== undefined && words[code] !== undefined) return words[code]!;
  // AggregateError (IPv4 and IPv6 both refused) carries the codes in .errors.
  const inner = Array.isArray(err?.errors) ? (err.errors[0] as { code?: string } | undefined)?.code : undefined;
  if (inner !== undefined && words[inner] !== undefined) return words[inner]!;
  const msg = String(err?.message ?? e).replace(/\s*\n\s*/g, '; ');
  if (/timeout|timed out/i.test(msg)) return 'connection timed out';
  if (/terminated|ended|closed/i.test(msg)) return 'connection closed';
  return scrub(msg, url);
}

/** True for an error of the connection (the server away), not of a statement. */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string; errors?: unknown[] };
  const code = err?.code ?? (Array.isArray(err?.errors) ? (err.errors[0] as { code?: string } | undefined)?.code : undefined);
  if (code !== undefined && (/^E[A-Z]+$/.test(code) || /^(08|57P|53300|28|3D000)/.test(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|connection closed|Connection ended|not queryable/i.test(String(err?.message ?? ''));
}

/** The administrator's one line: `cannot reach the database at postgresql://host:port/db: connection refused`. */
export function unreachable(url: string, e: unknown): KdcDbError {
  return new KdcDbError('UNREACHABLE', `cannot reach the database at ${displayUrl(url)}: ${describePgError(e, url)}`);
}

/** BIGINT (int8) as a JavaScript number: times in ms and generations stay far below 2^53. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
    return loadedPg().types.getTypeParser(oid, format as 'text');
  },
};

export function clientConfig(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'kpop-kdc',
    options: `-c search_path=${PG_SCHEMA}`,
    types,
  };
}

/** A small pool (admin writes, reloads, lockout batches); an idle connection that dies is dropped, never thrown. */
export async function makePool(url: string, max = 4): Promise<pg.Pool> {
  const { Pool } = await loadPg();
  // query_timeout: a statement on a connection cut without a word fails instead of waiting for TCP to give up.
  const pool = new Pool({ ...clientConfig(url), max, idleTimeoutMillis: 10_000, query_timeout: 60_000 });
  pool.on('error', () => {
    // An idle client lost its connection (server restart): the pool drops it; the next query connects anew.
  });
  return pool;
}

/**
 * Runs fn in one transaction on a pooled connection.
 *
 * pg-pool takes its own 'error' listener off a client it hands out, and a
 * client emits 'error' when the server ends its connection while no
 * statement runs on it (a shutdown's 57P01 "terminating connection due to
 * administrator command" landing between two statements of fn): with no
 * listener, that event is thrown and ends the process. Ours hears it for as
 * long as we hold the client, and stays on a client released broken (the
 * pool discards it, and it may still emit).
 */
export async function inTransaction<T>(pool: pg.Pool, begin: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken = false;
  const onError = (): void => {
    broken = true;
  };
  c.on('error', onError);
  try {
    await c.query(begin);
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    broken ||= isConnectionError(e);
    if (!broken) await c.query('ROLLBACK').catch(() => (broken = true));
    throw e;
  } finally {
    if (!broken) c.removeListener('error', onError);
    c.release(broken);
  }
}
