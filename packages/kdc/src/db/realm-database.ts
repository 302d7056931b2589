/**
 * RealmDatabase: what the `kdc` CLI, the kpasswd service and `kdc start`
 * ask of a principal database, whichever store holds it:
 *
 *   KdcDatabase    SQLite in DIR (database.ts): every call synchronous
 *   PgKdcDatabase  PostgreSQL shared by several KDCs (pg/database.ts):
 *                  writes and database reads asynchronous
 *
 * Each write returns T | Promise<T>: callers `await` it, which costs the
 * SQLite store nothing and keeps its synchronous API (and the tests written
 * against it) as it is. The administrative reads (getPrincipal,
 * listPrincipals, keytabEntries) are awaitable too: PostgreSQL reads
 * principals on demand. The exchanges' lookup() is synchronous on both
 * (PrincipalStore), PostgreSQL's throwing NotLoaded for what it must read.
 */
import type { KeytabEntry } from '@kpop/common';
import type { Dump, LoadOptions } from './dump.js';
import type { PolicyAdmin } from './policy.js';
import type { DbPrincipalRecord } from './schema.js';
import type { PeerLockoutEvent } from './view.js';
import type { PrincipalStore, RealmSettings } from './types.js';
import type { AddPrincipalOptions, ChangePasswordOptions, ModifyPrincipalOptions, SettingsChanges } from './writes.js';

export type Awaitable<T> = T | Promise<T>;

export interface RealmDatabase extends PrincipalStore {
  readonly realm: string;
  /** The host's local folder: the stash file (and, for SQLite, the database file). */
  readonly dir: string;
  /** Where the principals live, for messages: a file path, or a PostgreSQL URL without its password. */
  readonly location: string;
  readonly policies: PolicyAdmin;
  /** Re-reads what changed in the database since the last look; true when the view changed. */
  refresh(): Awaitable<boolean>;
  addPrincipal(name: string, opts: AddPrincipalOptions): Awaitable<DbPrincipalRecord>;
  modifyPrincipal(name: string, changes: ModifyPrincipalOptions): Awaitable<DbPrincipalRecord>;
  changePassword(name: string, opts: ChangePasswordOptions): Awaitable<DbPrincipalRecord>;
  deletePrincipal(name: string): Awaitable<void>;
  updateSettings(changes: SettingsChanges): Awaitable<RealmSettings>;
  getPrincipal(name: string): Awaitable<DbPrincipalRecord | undefined>;
  listPrincipals(glob?: string): Awaitable<string[]>;
  keytabEntries(names: string[], timestamp?: Date): Awaitable<KeytabEntry[]>;
  dump(): Awaitable<Dump | unknown>;
  load(dump: unknown, opts?: LoadOptions): Awaitable<void>;
  /** Writes queued lockout bookkeeping now. */
  flush(): Awaitable<void>;
  /** Lockout events this handle records also go to `send` (to the other workers of one KDC). */
  relayLockout(send: (ev: PeerLockoutEvent) => void): void;
  /** Another worker's lockout event: applied in memory to the principal if held; never written here. */
  applyPeerLockout(ev: PeerLockoutEvent): void;
  close(): Awaitable<void>;
}

/** andThen(v, f): `f(v)` now when v is a value, after it when v is a promise: one code path for both stores, synchronous for SQLite. */
export function andThen<T, U>(v: Awaitable<T>, f: (t: T) => Awaitable<U>): Awaitable<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Runs `fn`, handing its value (or what it threw or rejected with) to ok or fail; synchronous when fn is. */
export function settle<T, U>(fn: () => Awaitable<T>, ok: (t: T) => Awaitable<U>, fail: (e: unknown) => Awaitable<U>): Awaitable<U> {
  let v: Awaitable<T>;
  try {
    v = fn();
  } catch (e) {
    return fail(e);
  }
  return v instanceof Promise ? v.then(ok, fail) : ok(v);
}
