// The KDC's principal database: types shared with the exchanges, the SQLite store, the master key.
export * from './types.js';
export { KdcDbError, type KdcDbReason } from './errors.js';
export { KdcDatabase, type AddPrincipalOptions, type ChangePasswordOptions, type ModifyPrincipalOptions, type SettingsChanges, type DatabaseHandleOptions } from './database.js';
export type { KeySpec } from './writes.js';
export { initRealm, openDatabase, DB_FILE, STASH_FILE, type InitRealmOptions, type OpenDatabaseOptions } from './realm.js';
export { isLockedOut, applyFailure, applySuccess, LOCKED_FOREVER } from './lockout.js';
export { attributeNames, type DbPrincipalRecord } from './schema.js';
export type { Dump, LoadOptions } from './dump.js';
