/**
 * The KDC's principal database.
 *
 *   initRealm(dir, { realm })   DIR (0700) with kdc.sqlite (0600) and stash (0600),
 *                               krbtgt/REALM with random keys in every realm enctype
 *   openDatabase(dir)           the master key from DIR/stash, or { masterPassword }
 *
 * KdcDatabase implements PrincipalStore (types.ts), what the AS/TGS exchanges
 * read: lookups from memory, refresh() when the admin CLI (another process)
 * changed the file, lockout bookkeeping queued and written in batches. Keys
 * are AES-256-GCM-encrypted under the master key at rest (master-key.ts);
 * the SQLite schema is in schema.ts, administrative writes in writes.ts,
 * `kdc dump`/`kdc load` in dump.ts, the lockout policy in lockout.ts.
 */
export * from './types.js';
export { KdcDbError, type KdcDbReason } from './errors.js';
export { KdcDatabase, type InterleavePoint, type AddPrincipalOptions, type ChangePasswordOptions, type ModifyPrincipalOptions, type SettingsChanges, type DatabaseHandleOptions } from './database.js';
export { OLD_KVNOS_KEPT, type KeySpec } from './writes.js';
export { initRealm, openDatabase, DB_FILE, STASH_FILE, type InitRealmOptions, type OpenDatabaseOptions } from './realm.js';
export { isLockedOut, applyFailure, applySuccess, LOCKED_FOREVER } from './lockout.js';
export { attributeNames, type DbPrincipalRecord } from './schema.js';
export type { Dump, LoadOptions } from './dump.js';
export { PolicyStore, DEFAULT_POLICY, type PasswordPolicy, type PolicyChanges, type PolicyDump } from './policy.js';
export { PolicyRefusal, checkPasswordQuality, characterClasses, type PolicyRefusalKind } from './password-quality.js';
export { changePasswordUnderPolicy, type PolicyPasswordChange } from './password-change.js';
export { andThen, settle, type Awaitable, type RealmDatabase } from './realm-database.js';
export type { PeerLockoutEvent } from './view.js';
export type { PolicyAdmin } from './policy.js';
export { PgKdcDatabase, type PgDatabaseOptions } from './pg/database.js';
export { initPgRealm, openPgDatabase, type InitPgRealmOptions, type OpenPgDatabaseOptions } from './pg/realm.js';
export { displayUrl, isPostgresUrl } from './pg/connection.js';
