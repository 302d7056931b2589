/**
 * Making and opening a realm's database directory:
 *   DIR/           0700
 *   DIR/kdc.sqlite 0600  principals, keys encrypted under the master key
 *   DIR/stash      0600  the master key (absent when it comes from a master password)
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import { DEFAULT_ENCTYPES, tgsPrincipal, formatPrincipal } from '@kpop/common';
import { BUSY_TIMEOUT_MS, fileIdentity, KdcDatabase, type DatabaseFile, type DatabaseHandleOptions } from './database.js';
import { KdcDbError } from './errors.js';
import { deriveMasterKey, MasterKey, newKdfParams, readStashFile, writeStashFile, type MasterKdfParams } from './master-key.js';
import { DDL, MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { checkEnctypes, checkSeconds } from './writes.js';
import type { LockoutPolicy, RealmSettings } from './types.js';

export const DB_FILE = 'kdc.sqlite';
export const STASH_FILE = 'stash';

export interface InitRealmOptions extends DatabaseHandleOptions {
  realm: string;
  /** Derive the master key from this password (scrypt) instead of making a stash file. */
  masterPassword?: string;
  enctypes?: number[];
  maxLife?: number;
  maxRenew?: number;
  clockSkew?: number;
  lockout?: Partial<LockoutPolicy>;
}

export interface OpenDatabaseOptions extends DatabaseHandleOptions {
  masterPassword?: string;
}

/** Opens (or creates) the SQLite file so that no other user can ever read it, WAL files included. */
function openSqlite(path: string, create: boolean): Database.Database {
  const old = isMainThread ? process.umask(0o077) : undefined;
  try {
    const db = new Database(path, { fileMustExist: !create });
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('synchronous = NORMAL');
    return db;
  } finally {
    if (old !== undefined) process.umask(old);
  }
}

export function checkRealm(realm: unknown): string {
  if (typeof realm !== 'string' || realm.length === 0 || /[\0/@\\\s]/.test(realm)) {
    throw new KdcDbError('BAD_ARGUMENT', `"${String(realm)}" is not a usable realm name (e.g. LAB.TEST)`);
  }
  return realm;
}

/** The settings of a new realm, each checked (both stores). */
export function initialSettings(opts: InitRealmOptions): RealmSettings {
  const realm = checkRealm(opts.realm);
  return {
    realm,
    maxLife: checkSeconds('max life', opts.maxLife ?? 36000),
    maxRenew: checkSeconds('max renewable life', opts.maxRenew ?? 604800),
    clockSkew: checkSeconds('clock skew', opts.clockSkew ?? 300),
    lockout: {
      maxFailures: checkSeconds('max failures', opts.lockout?.maxFailures ?? 0),
      failureWindow: checkSeconds('failure window', opts.lockout?.failureWindow ?? 600),
      lockoutDuration: checkSeconds('lockout duration', opts.lockout?.lockoutDuration ?? 600),
    },
    enctypes: checkEnctypes(opts.enctypes ?? [...DEFAULT_ENCTYPES]),
  };
}

/**
 * The master key of a database whose meta rows are `meta`: derived from the
 * master password when the realm was made with one, else read from the
 * stash file in `root`; checked against the database's check value.
 */
export function unlockMasterKey(meta: ReadonlyMap<string, string>, root: string, opts: { masterPassword?: string }): MasterKey {
  const realm = meta.get('realm');
  const check = meta.get('master_check') ?? '';
  const kdfJson = meta.get('master_kdf');
  let mkey: MasterKey;
  let source: string;
  if (kdfJson !== undefined) {
    if (opts.masterPassword === undefined) throw new KdcDbError('MASTER_PASSWORD_REQUIRED', `the master key of realm ${String(realm)} comes from a master password: give it`);
    mkey = deriveMasterKey(opts.masterPassword, JSON.parse(kdfJson) as MasterKdfParams);
    source = 'master password';
  } else {
    mkey = readStashFile(join(root, STASH_FILE));
    source = `stash file ${join(root, STASH_FILE)}`;
  }
  if (!mkey.verifyCheck(Buffer.from(check, 'base64'))) {
    throw new KdcDbError('MASTER_KEY_MISMATCH', kdfJson !== undefined ? `wrong master password for realm ${String(realm)}` : `the ${source} does not hold the master key of realm ${String(realm)}`);
  }
  return mkey;
}

export function initRealm(dir: string, opts: InitRealmOptions): KdcDatabase {
  const settings = initialSettings(opts);
  const realm = settings.realm;
  if (opts.masterPassword !== undefined && opts.masterPassword.length === 0) throw new KdcDbError('BAD_ARGUMENT', 'the master password is empty');
  const root = resolve(dir);
  const dbPath = join(root, DB_FILE);
  const stashPath = join(root, STASH_FILE);
  if (existsSync(dbPath)) throw new KdcDbError('EXISTS', `${dbPath} already exists: a realm is already set up in ${root}`);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);

  let kdf: MasterKdfParams | undefined;
  let mkey: MasterKey;
  if (opts.masterPassword !== undefined) {
    kdf = newKdfParams();
    mkey = deriveMasterKey(opts.masterPassword, kdf);
  } else {
    mkey = MasterKey.random();
  }
  const db = openSqlite(dbPath, true);
  try {
    chmodSync(dbPath, 0o600);
    db.transaction(() => {
      db.exec(DDL);
      const put = db.prepare('INSERT INTO meta (k, v) VALUES (?, ?)');
      put.run('schema_version', String(SCHEMA_VERSION));
      put.run('realm', realm);
      put.run('generation', '0');
      put.run('settings', JSON.stringify(settings));
      put.run('master_check', Buffer.from(mkey.makeCheck()).toString('base64'));
      if (kdf !== undefined) put.run('master_kdf', JSON.stringify(kdf));
    })();
    // The stash goes last: a failed init leaves no stash for a database that does not exist.
    if (kdf === undefined) writeStashFile(stashPath, mkey);
    const kdb = new KdcDatabase(db, mkey, realm, root, opts, databaseFile(root, dbPath, realm));
    // krbtgt/REALM with random keys in every enctype of the realm (RFC 4120 §7.3 name).
    kdb.addPrincipal(formatPrincipal(tgsPrincipal(realm)), { randkey: true });
    return kdb;
  } catch (e) {
    db.close();
    for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, stashPath]) rmSync(f, { force: true });
    throw e;
  }
}

/**
 * Brings a database of an older schema version up to SCHEMA_VERSION, in one
 * immediate transaction (a KDC and an admin command opening it at once: the
 * second finds the work done). Returns the version it is at afterwards.
 */
function migrate(db: Database.Database, dbPath: string, found: number): number {
  if (!Number.isInteger(found) || found < 1 || found >= SCHEMA_VERSION) return found;
  try {
    return db.transaction(() => {
      const read = db.prepare<[], string>("SELECT v FROM meta WHERE k = 'schema_version'").pluck();
      let version = Number(read.get());
      for (; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version - 1]!);
      db.prepare("UPDATE meta SET v = ? WHERE k = 'schema_version'").run(String(version));
      return version;
    }).immediate();
  } catch (e) {
    throw new KdcDbError('CORRUPT', `cannot upgrade ${dbPath} from schema version ${found} to ${SCHEMA_VERSION}: ${(e as Error).message}`, { cause: e });
  }
}

export function openDatabase(dir: string, opts: OpenDatabaseOptions = {}): KdcDatabase {
  const root = resolve(dir);
  const dbPath = join(root, DB_FILE);
  if (!existsSync(dbPath)) throw new KdcDbError('NO_DATABASE', `no KDC database in ${root}: run "kdc init --realm REALM --dir ${dir}" first`);
  let db: Database.Database;
  let meta: Map<string, string>;
  try {
    db = openSqlite(dbPath, false);
  } catch (e) {
    throw new KdcDbError('CORRUPT', `cannot open ${dbPath}: ${(e as Error).message}`, { cause: e });
  }
  try {
    try {
      meta = new Map(db.prepare<[], { k: string; v: string }>('SELECT k, v FROM meta').all().map((r) => [r.k, r.v]));
    } catch (e) {
      throw new KdcDbError('CORRUPT', `${dbPath} is not a kpop KDC database (${(e as Error).message})`, { cause: e });
    }
    const version = migrate(db, dbPath, Number(meta.get('schema_version')));
    if (version !== SCHEMA_VERSION) throw new KdcDbError('CORRUPT', `${dbPath} has schema version ${String(meta.get('schema_version'))}, this KDC reads ${SCHEMA_VERSION}`);
    const realm = meta.get('realm');
    const check = meta.get('master_check');
    if (realm === undefined || check === undefined) throw new KdcDbError('CORRUPT', `${dbPath} lacks its realm or master key check`);
    const mkey = unlockMasterKey(meta, root, opts);
    return new KdcDatabase(db, mkey, realm, root, opts, databaseFile(root, dbPath, realm));
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * The file behind a KdcDatabase, and how to open the one that replaced it
 * (rm -rf DIR && kdc init, a restored backup): same realm, master key either
 * the one in use or the stash file's (a fresh init stashes a new one).
 */
function databaseFile(root: string, dbPath: string, realm: string): DatabaseFile {
  return {
    path: dbPath,
    identity: fileIdentity(dbPath) ?? '',
    reopen(current) {
      const identity = fileIdentity(dbPath);
      const db = openSqlite(dbPath, false);
      try {
        const meta = new Map(db.prepare<[], { k: string; v: string }>('SELECT k, v FROM meta').all().map((r) => [r.k, r.v]));
        if (Number(meta.get('schema_version')) !== SCHEMA_VERSION) throw new KdcDbError('CORRUPT', `${dbPath} was replaced by a file with schema version ${String(meta.get('schema_version'))}, this KDC reads ${SCHEMA_VERSION}`);
        if (meta.get('realm') !== realm) throw new KdcDbError('CORRUPT', `${dbPath} was replaced by the database of realm ${String(meta.get('realm'))}; this KDC serves ${realm}: restart it`);
        const check = Buffer.from(meta.get('master_check') ?? '', 'base64');
        let mkey = current;
        if (!mkey.verifyCheck(check)) {
          if (meta.has('master_kdf')) throw new KdcDbError('MASTER_KEY_MISMATCH', `${dbPath} was replaced by a database under another master password: restart the KDC`);
          mkey = readStashFile(join(root, STASH_FILE));
          if (!mkey.verifyCheck(check)) throw new KdcDbError('MASTER_KEY_MISMATCH', `${dbPath} was replaced by a database whose master key is neither the one in use nor the stash file's`);
        }
        return { db, mkey, identity: identity ?? '' };
      } catch (e) {
        db.close();
        if (e instanceof KdcDbError) throw e;
        throw new KdcDbError('CORRUPT', `${dbPath} was replaced by a file that is not a kpop KDC database (${(e as Error).message})`, { cause: e });
      }
    },
  };
}
