/**
 * KdcDatabase: the SQLite principal database (better-sqlite3) and the
 * in-memory view the exchanges read.
 *
 * - Principals are read on demand, not at open: a lookup that misses the
 *   in-memory view reads the row and its keys (two indexed reads), decrypts
 *   the keys under the master key and keeps the record in a bounded cache
 *   (`cacheSize` records, view.ts), so opening a realm of 100,000 principals
 *   reads none of them and memory does not grow with the realm. Settings and
 *   policies are small and held whole.
 * - Administrative writes (this process, or the `kdc` CLI in another) bump
 *   the `generation` counter in meta; refresh() compares it with the one in
 *   memory (one indexed read) and drops from the cache the records changed
 *   since: by name when few changed, the whole cache after a bulk change
 *   (a 100,000-name `kdc load`), so no refresh re-reads the realm while
 *   requests wait.
 * - recordFailure/recordSuccess update memory at once (a lockout takes effect
 *   on the next request) and queue the event; a timer (unref'd) writes the
 *   queue in one transaction, re-applying the events to the row as stored so
 *   that several KDCs on one database file do not overwrite each other. An
 *   event recorded before an administrator reset the row's lockout (unlock)
 *   is not re-applied over that reset.
 * - The file itself is watched: a KDC whose DIR/kdc.sqlite was removed or
 *   replaced (rm -rf DIR; kdc init) would otherwise go on serving the old,
 *   unlinked file for ever and ignore every later `kdc addprinc`. refresh()
 *   compares the path's inode with the open file's (one stat), opens the new
 *   file and loads it in full, or throws NO_DATABASE while the path is empty.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { statSync } from 'node:fs';
import type { KeytabEntry } from '@kpop/common';
import { KdcDbError } from './errors.js';
import type { LockoutFields } from './lockout.js';
import { applyPeerLockoutEvent, LockoutQueue, PrincipalView, recordLockoutEvent, replayLockout, type PeerLockoutEvent } from './view.js';
import type { MasterKey } from './master-key.js';
import { resolveName } from './names.js';
import { fromMs, recordFromRows, type DbPrincipalRecord, type KeyRow, type PrincipalRow } from './schema.js';
import { isRealmTgs, principalWriter, type AddPrincipalOptions, type ChangePasswordOptions, type ModifyPrincipalOptions, type SettingsChanges } from './writes.js';
import { dumpDatabase, loadDump, type LoadOptions } from './dump.js';
import { PolicyStore } from './policy.js';
import type { RealmDatabase } from './realm-database.js';
import type { LockoutPolicy, PrincipalRecord, RealmSettings } from './types.js';

export type { AddPrincipalOptions, ChangePasswordOptions, ModifyPrincipalOptions, SettingsChanges } from './writes.js';


/** SQLite's busy timeout as realm.ts sets it; flush({ wait: false }) sets 0 for its transaction. */
export const BUSY_TIMEOUT_MS = 5000;
/** A refresh that finds more changed names than this drops the whole cache rather than each name. */
const EVICT_BY_NAME_MAX = 1024;

export interface DatabaseHandleOptions {
  /** How often queued lockout bookkeeping is written; default 1000 ms. */
  flushIntervalMs?: number;
  /** How many principals are kept decrypted in memory (SQLite); default DEFAULT_CACHE_SIZE (view.ts). */
  cacheSize?: number;
  /** Clock for creation/modification times (tests). */
  now?: () => Date;
  /**
   * Tests only: called at each point where another process's write could
   * land between two steps, so a test can make it land exactly there.
   */
  interleave?: (point: InterleavePoint) => void;
}

/**
 * - refresh:checked  the generation was read and differs; nothing flushed or loaded yet
 * - reload:snapshot  inside the read transaction, the generation read (the snapshot is fixed)
 * - flush:taken      the queued bookkeeping taken out of the queue, not yet written
 */
export type InterleavePoint = 'refresh:checked' | 'reload:snapshot' | 'flush:taken';

/** The database file as opened, and how to open whatever is at its path now (realm.ts). */
export interface DatabaseFile {
  readonly path: string;
  /** `dev:ino` of the file opened. */
  readonly identity: string;
  /** Opens the database now at `path`: same realm, under `current` or the stash file's master key. */
  reopen(current: MasterKey): { db: BetterSqlite3.Database; mkey: MasterKey; identity: string };
}

export function fileIdentity(path: string): string | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? undefined : `${st.dev}:${st.ino}`;
}

type Statements = {
  generation: BetterSqlite3.Statement<[], number>;
  settings: BetterSqlite3.Statement<[], string>;
  rowOf: BetterSqlite3.Statement<[string], PrincipalRow>;
  keysOf: BetterSqlite3.Statement<[string], KeyRow>;
  allNames: BetterSqlite3.Statement<[], string>;
  namesSince: BetterSqlite3.Statement<[number], string>;
  countSince: BetterSqlite3.Statement<[number], number>;
  deletedSince: BetterSqlite3.Statement<[number], string>;
  countDeletedSince: BetterSqlite3.Statement<[number], number>;
  lockoutOf: BetterSqlite3.Statement<[string], Pick<PrincipalRow, 'fail_count' | 'last_failure' | 'last_success' | 'locked_until' | 'gen'>>;
  writeLockout: BetterSqlite3.Statement<[number, number | null, number | null, number | null, string]>;
};

function prepareStatements(db: BetterSqlite3.Database): Statements {
  return {
    generation: db.prepare<[], number>("SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'generation'").pluck(),
    settings: db.prepare<[], string>("SELECT v FROM meta WHERE k = 'settings'").pluck(),
    rowOf: db.prepare<[string], PrincipalRow>('SELECT * FROM principals WHERE name = ?'),
    keysOf: db.prepare<[string], KeyRow>('SELECT * FROM principal_keys WHERE principal = ? ORDER BY kvno DESC, rowid'),
    allNames: db.prepare<[], string>('SELECT name FROM principals').pluck(),
    namesSince: db.prepare<[number], string>('SELECT name FROM principals WHERE gen > ?').pluck(),
    countSince: db.prepare<[number], number>('SELECT count(*) FROM principals WHERE gen > ?').pluck(),
    deletedSince: db.prepare<[number], string>('SELECT name FROM deleted WHERE gen > ?').pluck(),
    countDeletedSince: db.prepare<[number], number>('SELECT count(*) FROM deleted WHERE gen > ?').pluck(),
    lockoutOf: db.prepare('SELECT fail_count, last_failure, last_success, locked_until, gen FROM principals WHERE name = ?'),
    writeLockout: db.prepare('UPDATE principals SET fail_count = ?, last_failure = ?, last_success = ?, locked_until = ? WHERE name = ?'),
  };
}

export class KdcDatabase implements RealmDatabase {
  readonly realm: string;
  readonly dir: string;
  #db: BetterSqlite3.Database;
  #mkey: MasterKey;
  readonly #file: DatabaseFile | undefined;
  #fileId: string | undefined;
  readonly #interleave: ((point: InterleavePoint) => void) | undefined;
  readonly #now: () => Date;
  readonly #flushIntervalMs: number;
  #settings!: RealmSettings;
  #generation = -1;
  readonly #view: PrincipalView;
  readonly #pending = new LockoutQueue();
  /** Where recorded lockout events also go (the other workers), if anywhere. */
  #relay: ((ev: PeerLockoutEvent) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Password policies, their assignment and the password history (policy.ts); a new store when the file is replaced. */
  policies: PolicyStore;
  #stmt: Statements;

  /** Use initRealm() or openDatabase(). */
  constructor(db: BetterSqlite3.Database, mkey: MasterKey, realm: string, dir: string, opts: DatabaseHandleOptions = {}, file?: DatabaseFile) {
    this.#db = db;
    this.#mkey = mkey;
    this.#file = file;
    this.#fileId = file?.identity;
    this.#interleave = opts.interleave;
    this.realm = realm;
    this.dir = dir;
    this.#view = new PrincipalView(realm, {
      source: { read: (name) => this.#readOne(name), names: () => this.#stmt.allNames.all() },
      ...(opts.cacheSize !== undefined ? { capacity: opts.cacheSize } : {}),
    });
    this.#now = opts.now ?? (() => new Date());
    this.#flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.#stmt = prepareStatements(db);
    this.policies = new PolicyStore(db, mkey);
    this.refresh();
  }

  /** The database file (messages). */
  get location(): string {
    return this.#file?.path ?? `${this.dir}/kdc.sqlite`;
  }

  /** Principals read from the file since open, held in memory now, and the bound (tests, the bench). */
  cacheStats(): { reads: number; cached: number; capacity: number; absent: number } {
    return this.#view.stats();
  }

  // ---- PrincipalStore: the request path (memory, and one indexed read on a miss) ----

  settings(): RealmSettings {
    return this.#settings;
  }

  lookup(nameString: readonly string[]): PrincipalRecord | undefined {
    return this.#view.lookup(nameString);
  }

  recordFailure(canonicalName: string, at: Date): void {
    if (!this.#closed && recordLockoutEvent(this.#view, this.#pending, canonicalName, 'failure', at, (n) => this.#lockoutPolicy(n), this.#relay)) this.#schedule();
  }

  recordSuccess(canonicalName: string, at: Date): void {
    if (!this.#closed && recordLockoutEvent(this.#view, this.#pending, canonicalName, 'success', at, (n) => this.#lockoutPolicy(n), this.#relay)) this.#schedule();
  }

  /** Lockout events this handle records go to `send` too (a worker relays them to the others: server/workers.ts). */
  relayLockout(send: (ev: PeerLockoutEvent) => void): void {
    this.#relay = send;
  }

  /** Another worker's lockout event: applied to the principal in memory if held; that worker writes it. */
  applyPeerLockout(ev: PeerLockoutEvent): void {
    if (!this.#closed) applyPeerLockoutEvent(this.#view, ev, (n) => this.#lockoutPolicy(n));
  }

  /** The principal's policy's lockout limits, else the realm's. */
  #lockoutPolicy(name: string): LockoutPolicy {
    return this.policies.lockoutOf(name) ?? this.#settings.lockout;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.flush({ wait: false });
      } catch {
        // Busy or failing disk: flush() put the events back; try again later.
        if (this.#pending.size > 0) this.#schedule();
      }
    }, this.#flushIntervalMs);
    this.#timer.unref();
  }

  /**
   * Writes the queued lockout bookkeeping now (also on a timer and on close).
   * `wait: false` (the KDC's timer and refresh): when another process holds
   * the write lock (a `kdc load` of 100,000 names writes for seconds), fail
   * at once and keep the events for the next try, rather than block the event
   * loop, and every request with it, for up to the busy timeout.
   */
  flush({ wait = true }: { wait?: boolean } = {}): void {
    if (this.#pending.size === 0) return;
    const batch = this.#pending.take();
    const st = this.#stmt;
    if (!wait) this.#db.pragma('busy_timeout = 0');
    try {
      this.#interleave?.('flush:taken');
      this.#db.transaction(() => {
        for (const [name, evs] of batch) {
          const row = st.lockoutOf.get(name);
          if (row === undefined) continue; // deleted meanwhile
          const f: LockoutFields = { failCount: row.fail_count, lastFailure: fromMs(row.last_failure), lastSuccess: fromMs(row.last_success), lockedUntil: fromMs(row.locked_until) };
          replayLockout(f, row.gen, evs, this.#lockoutPolicy(name));
          st.writeLockout.run(f.failCount, f.lastFailure?.getTime() ?? null, f.lastSuccess?.getTime() ?? null, f.lockedUntil?.getTime() ?? null, name);
        }
      }).immediate();
    } catch (e) {
      // Put the batch back in front of anything queued since, then report.
      this.#pending.putBack(batch);
      throw e;
    } finally {
      if (!wait) this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /**
   * Reloads what changed in the database since the last look (another
   * process, e.g. the admin CLI, or this one). Cheap when nothing moved: one
   * indexed read. Returns true when the view changed.
   */
  refresh(): boolean {
    if (this.#closed) return false;
    this.#followFile();
    const gen = this.#stmt.generation.get();
    if (gen === undefined) throw new KdcDbError('CORRUPT', 'the database has no generation counter');
    if (gen === this.#generation) return false;
    this.#interleave?.('refresh:checked');
    // Our queued bookkeeping goes to disk first when it can without waiting; what stays queued
    // (another process writing) is applied again to each record read back (#readOne).
    if (this.#generation >= 0) {
      try {
        this.flush({ wait: false });
      } catch {
        this.#schedule();
      }
    }
    this.#db.transaction(() => this.#reload()).deferred();
    return true;
  }

  /** Switches to the file now at our path if it is not the one open (see the header); NO_DATABASE while there is none. */
  #followFile(): void {
    const file = this.#file;
    if (file === undefined) return;
    const id = fileIdentity(file.path);
    if (id === this.#fileId) return;
    if (id === undefined) throw new KdcDbError('NO_DATABASE', `${file.path} was removed; still serving the realm as it was from the file still open`);
    const next = file.reopen(this.#mkey);
    try {
      // Bookkeeping queued for the old file's principals goes to the old file, still open.
      this.flush();
    } catch {
      this.#pending.take();
    }
    this.#db.close();
    this.#db = next.db;
    this.#mkey = next.mkey;
    this.#fileId = next.identity;
    this.#stmt = prepareStatements(next.db);
    this.policies = new PolicyStore(next.db, next.mkey);
    this.#writerCache = undefined;
    this.#generation = -1;
  }

  #reload(): void {
    const st = this.#stmt;
    const since = this.#generation;
    const gen = st.generation.get()!;
    this.#interleave?.('reload:snapshot');
    this.#settings = JSON.parse(st.settings.get()!) as RealmSettings;
    this.policies?.reload();
    if (since < 0 || st.countSince.get(since)! + st.countDeletedSince.get(since)! > EVICT_BY_NAME_MAX) {
      // A new file, or a bulk change: what was held is read again on demand.
      this.#view.clear();
    } else {
      for (const name of st.deletedSince.iterate(since)) this.#view.remove(name);
      for (const name of st.namesSince.iterate(since)) this.#view.remove(name);
    }
    this.#generation = gen;
  }

  /**
   * One principal from the file (the view's source). Lockout events still
   * queued for it (a record evicted, or dropped by a refresh, before the
   * flush) are applied again, so the count in memory never goes back.
   */
  #readOne(canonicalName: string): { record: DbPrincipalRecord; gen: number } | undefined {
    if (this.#closed) return undefined;
    const row = this.#stmt.rowOf.get(canonicalName);
    if (row === undefined) return undefined;
    const record = this.#recordFrom(row, this.#stmt.keysOf.all(canonicalName));
    const evs = this.#pending.pending.get(canonicalName);
    if (evs !== undefined) replayLockout(record, row.gen, evs, this.#lockoutPolicy(canonicalName));
    return { record, gen: row.gen };
  }

  #recordFrom(row: PrincipalRow, keyRows: KeyRow[]): DbPrincipalRecord {
    return recordFromRows(this.realm, this.#mkey, row, keyRows);
  }

  // ---- administration (the CLI, the test KDC) ----

  #writerCache: ReturnType<typeof principalWriter> | undefined;
  #writer(): ReturnType<typeof principalWriter> {
    return (this.#writerCache ??= principalWriter(this.#db, this.#mkey, this.#now));
  }

  /** Runs an administrative write and brings the view up to date. */
  #admin<T>(fn: () => T): T {
    if (this.#closed) throw new KdcDbError('BAD_ARGUMENT', 'the database is closed');
    this.flush();
    const result = fn();
    this.refresh();
    return result;
  }

  addPrincipal(name: string, opts: AddPrincipalOptions): DbPrincipalRecord {
    const n = resolveName(name, this.realm);
    this.#admin(() => this.#writer().add(n, opts, this.#settings));
    return this.#view.byName(n.canonicalName)!;
  }

  modifyPrincipal(name: string, changes: ModifyPrincipalOptions): DbPrincipalRecord {
    const r = this.#require(name);
    this.#admin(() => this.#writer().modify(r, changes));
    return this.#view.byName(r.canonicalName)!;
  }

  changePassword(name: string, opts: ChangePasswordOptions): DbPrincipalRecord {
    const r = this.#require(name);
    this.#admin(() => this.#writer().changeKeys(r, opts, this.#settings));
    return this.#view.byName(r.canonicalName)!;
  }

  deletePrincipal(name: string): void {
    const r = this.#require(name);
    if (isRealmTgs(r, this.realm)) {
      throw new KdcDbError('PROTECTED', `${r.canonicalName} is the realm's ticket-granting service and cannot be deleted`);
    }
    this.#admin(() => this.#writer().remove(r.canonicalName));
  }

  /** Realm-wide settings (lifetimes, clock skew, lockout policy, enctypes of new principals). */
  updateSettings(changes: SettingsChanges): RealmSettings {
    this.#admin(() => this.#writer().settings(this.#settings, changes));
    return this.#settings;
  }

  getPrincipal(name: string): DbPrincipalRecord | undefined {
    return this.#view.get(name);
  }

  #require(name: string): DbPrincipalRecord {
    return this.#view.require(name);
  }

  /** Sorted canonical names; a glob without '@' is matched against the name in this realm, as kadmin does. */
  listPrincipals(glob?: string): string[] {
    return this.#view.list(glob);
  }

  /** The current keys of each principal, as keytab entries (all current enctypes). */
  keytabEntries(names: string[], timestamp: Date = this.#now()): KeytabEntry[] {
    return this.#view.keytabEntries(names, timestamp);
  }

  /** A JSON-able dump: keys stay encrypted under the master key. */
  dump(): unknown {
    this.flush();
    return dumpDatabase(this.#db, this.realm);
  }

  /** Replaces the principals (or, with update, adds/overwrites) from a dump made under the same master key. */
  load(dump: unknown, opts: LoadOptions = {}): void {
    this.#admin(() => loadDump(this.#db, this.#mkey, this.realm, dump, opts));
  }

  close(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      this.flush();
    } finally {
      this.#closed = true;
      this.#db.close();
    }
  }
}
