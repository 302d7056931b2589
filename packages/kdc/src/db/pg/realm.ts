/**
 * Making and opening a realm in PostgreSQL:
 *
 *   initPgRealm(url, dir, { realm })   the kpop_kdc schema and its tables, the
 *                                      realm settings and krbtgt/REALM; the
 *                                      master key in DIR/stash (an existing
 *                                      stash is used: the realm moved from
 *                                      SQLite, or made on another KDC host),
 *                                      or from { masterPassword }
 *   openPgDatabase(url, dir)           the master key from DIR/stash or
 *                                      { masterPassword }, as openDatabase
 *
 * DIR holds only the host's local files (the stash); the database never
 * holds the master key, only its check value and, for a master password,
 * the scrypt parameters.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatPrincipal, tgsPrincipal } from '@kpop/common';
import { KdcDbError } from '../errors.js';
import { deriveMasterKey, MasterKey, newKdfParams, readStashFile, writeStashFile, type MasterKdfParams } from '../master-key.js';
import { initialSettings, STASH_FILE, unlockMasterKey, type InitRealmOptions } from '../realm.js';
import { describePgError, displayUrl, inTransaction, isConnectionError, makePool, PG_SCHEMA, unreachable } from './connection.js';
import { PgKdcDatabase, type PgDatabaseOptions } from './database.js';
import { PG_DDL, PG_SCHEMA_VERSION } from './schema.js';

export type InitPgRealmOptions = Omit<InitRealmOptions, keyof import('../database.js').DatabaseHandleOptions> & PgDatabaseOptions;
export interface OpenPgDatabaseOptions extends PgDatabaseOptions { masterPassword?: string }

async function readMeta(pool: import('pg').Pool, url: string): Promise<Map<string, string> | undefined> {
  try {
    const exists = (await pool.query<{ t: string | null }>(`SELECT to_regclass('${PG_SCHEMA}.meta')::text AS t`)).rows[0]?.t;
    if (exists === null || exists === undefined) return undefined;
    return new Map((await pool.query<{ k: string; v: string }>('SELECT k, v FROM meta')).rows.map((r) => [r.k, r.v]));
  } catch (e) {
    throw isConnectionError(e) ? unreachable(url, e) : new KdcDbError('CORRUPT', `cannot read the database at ${displayUrl(url)}: ${describePgError(e, url)}`, { cause: e });
  }
}

export async function initPgRealm(url: string, dir: string, opts: InitPgRealmOptions): Promise<PgKdcDatabase> {
  const settings = initialSettings(opts as InitRealmOptions);
  const realm = settings.realm;
  if (opts.masterPassword !== undefined && opts.masterPassword.length === 0) throw new KdcDbError('BAD_ARGUMENT', 'the master password is empty');
  const root = resolve(dir);
  const stashPath = join(root, STASH_FILE);
  const pool = await makePool(url);
  try {
    if ((await readMeta(pool, url)) !== undefined) throw new KdcDbError('EXISTS', `the database at ${displayUrl(url)} already holds a realm (kdc dump, then drop the schema ${PG_SCHEMA}, to start again)`);
    let kdf: MasterKdfParams | undefined;
    let mkey: MasterKey;
    let newStash = false;
    if (opts.masterPassword !== undefined) {
      kdf = newKdfParams();
      mkey = deriveMasterKey(opts.masterPassword, kdf);
    } else if (existsSync(stashPath)) {
      mkey = readStashFile(stashPath);
    } else {
      mkey = MasterKey.random();
      newStash = true;
    }
    try {
      await inTransaction(pool, 'BEGIN', async (c) => {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
        await c.query(PG_DDL);
        const put = (k: string, v: string) => c.query('INSERT INTO meta (k, v) VALUES ($1, $2)', [k, v]);
        await put('schema_version', String(PG_SCHEMA_VERSION));
        await put('realm', realm);
        await put('settings', JSON.stringify(settings));
        await put('master_check', Buffer.from(mkey.makeCheck()).toString('base64'));
        if (kdf !== undefined) await put('master_kdf', JSON.stringify(kdf));
        await c.query('INSERT INTO generation (gen) VALUES (0)');
      });
    } catch (e) {
      if (isConnectionError(e)) throw unreachable(url, e);
      // Two inits at once: the second finds the tables made.
      if ((e as { code?: string }).code === '42P07') throw new KdcDbError('EXISTS', `the database at ${displayUrl(url)} already holds a realm`);
      throw new KdcDbError('CORRUPT', `cannot create the realm's tables at ${displayUrl(url)}: ${describePgError(e, url)}`, { cause: e });
    }
    if (newStash) {
      mkdirSync(root, { recursive: true, mode: 0o700 });
      chmodSync(root, 0o700);
      writeStashFile(stashPath, mkey);
    }
    const db = await PgKdcDatabase.open(pool, url, mkey, realm, root, opts);
    // krbtgt/REALM with random keys in every enctype of the realm (RFC 4120 §7.3 name).
    await db.addPrincipal(formatPrincipal(tgsPrincipal(realm)), { randkey: true });
    return db;
  } catch (e) {
    await pool.end().catch(() => {});
    throw e;
  }
}

export async function openPgDatabase(url: string, dir: string, opts: OpenPgDatabaseOptions = {}): Promise<PgKdcDatabase> {
  const root = resolve(dir);
  const pool = await makePool(url);
  try {
    const meta = await readMeta(pool, url);
    if (meta === undefined) throw new KdcDbError('NO_DATABASE', `no KDC realm in the database at ${displayUrl(url)}: run "kdc init --realm REALM --db URL --dir ${dir}" first`);
    if (Number(meta.get('schema_version')) !== PG_SCHEMA_VERSION) throw new KdcDbError('CORRUPT', `the database at ${displayUrl(url)} has schema version ${String(meta.get('schema_version'))}, this KDC reads ${PG_SCHEMA_VERSION}`);
    const realm = meta.get('realm');
    if (realm === undefined || meta.get('master_check') === undefined) throw new KdcDbError('CORRUPT', `the database at ${displayUrl(url)} lacks its realm or master key check`);
    const mkey = unlockMasterKey(meta, root, opts);
    return await PgKdcDatabase.open(pool, url, mkey, realm, root, opts);
  } catch (e) {
    await pool.end().catch(() => {});
    throw e;
  }
}
