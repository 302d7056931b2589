/**
 * KdcDatabase: the SQLite principal database (better-sqlite3) and the
 * in-memory view the exchanges read.
 *
 * - Reads on the request path (lookup, settings) touch only memory: every
 *   principal with its keys already decrypted under the master key.
 * - Administrative writes (this process, or the `kdc` CLI in another) bump
 *   the `generation` counter in meta; refresh() compares it with the one in
 *   memory (one indexed read) and reloads only the rows changed since.
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
import { applyFailure, applySuccess, type LockoutFields } from './lockout.js';
import type { MasterKey } from './master-key.js';
import { componentsKey, globMatch, resolveName } from './names.js';
import { attributesFromBits, fromMs, keyAad, type DbPrincipalRecord, type KeyRow, type PrincipalRow } from './schema.js';
import { principalWriter, type AddPrincipalOptions, type ChangePasswordOptions, type ModifyPrincipalOptions, type SettingsChanges } from './writes.js';
import { dumpDatabase, loadDump, type LoadOptions } from './dump.js';
import { PolicyStore } from './policy.js';
import type { PrincipalRecord, PrincipalStore, RealmSettings } from './types.js';

export type { AddPrincipalOptions, ChangePasswordOptions, ModifyPrincipalOptions, SettingsChanges } from './writes.js';

/** `gen`: the row generation of the record this KDC held when the event happened. */
type Event = { kind: 'failure' | 'success'; at: Date; gen: number };
/** Failures kept per principal between flushes; more add nothing once a lockout is reached. */
const MAX_EVENTS_PER_PRINCIPAL = 256;

export interface DatabaseHandleOptions {
  /** How often queued lockout bookkeeping is written; default 1000 ms. */
  flushIntervalMs?: number;
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
  rowsSince: BetterSqlite3.Statement<[number], PrincipalRow>;
  keysOf: BetterSqlite3.Statement<[string], KeyRow>;
  allKeys: BetterSqlite3.Statement<[], KeyRow>;
  deletedSince: BetterSqlite3.Statement<[number], string>;
  lockoutOf: BetterSqlite3.Statement<[string], Pick<PrincipalRow, 'fail_count' | 'last_failure' | 'last_success' | 'locked_until' | 'gen'>>;
  writeLockout: BetterSqlite3.Statement<[number, number | null, number | null, number | null, string]>;
};

function prepareStatements(db: BetterSqlite3.Database): Statements {
  return {
    generation: db.prepare<[], number>("SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'generation'").pluck(),
    settings: db.prepare<[], string>("SELECT v FROM meta WHERE k = 'settings'").pluck(),
    rowsSince: db.prepare<[number], PrincipalRow>('SELECT * FROM principals WHERE gen > ?'),
    keysOf: db.prepare<[string], KeyRow>('SELECT * FROM principal_keys WHERE principal = ? ORDER BY kvno DESC, rowid'),
    allKeys: db.prepare<[], KeyRow>('SELECT * FROM principal_keys ORDER BY principal, kvno DESC, rowid'),
    deletedSince: db.prepare<[number], string>('SELECT name FROM deleted WHERE gen > ?').pluck(),
    lockoutOf: db.prepare('SELECT fail_count, last_failure, last_success, locked_until, gen FROM principals WHERE name = ?'),
    writeLockout: db.prepare('UPDATE principals SET fail_count = ?, last_failure = ?, last_success = ?, locked_until = ? WHERE name = ?'),
  };
}

export class KdcDatabase implements PrincipalStore {
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
  readonly #byKey = new Map<string, DbPrincipalRecord>();
  readonly #byName = new Map<string, DbPrincipalRecord>();
  /** Canonical name → the `gen` of the row each in-memory record was loaded from. */
  readonly #rowGen = new Map<string, number>();
  #pending = new Map<string, Event[]>();
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
    this.#now = opts.now ?? (() => new Date());
    this.#flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.#stmt = prepareStatements(db);
    this.policies = new PolicyStore(db, mkey);
    this.refresh();
  }

  // ---- PrincipalStore: the request path, memory only ----

  settings(): RealmSettings {
    return this.#settings;
  }

  lookup(nameString: readonly string[]): PrincipalRecord | undefined {
    const r = this.#byKey.get(componentsKey(nameString));
    if (r === undefined) return undefined;
    const c = r.principal.name.nameString;
    if (c.length !== nameString.length) return undefined;
    for (let i = 0; i < c.length; i++) if (c[i] !== nameString[i]) return undefined;
    return r;
  }

  recordFailure(canonicalName: string, at: Date): void {
    const r = this.#byName.get(canonicalName);
    if (r === undefined || this.#closed) return;
    applyFailure(r, at, this.policies.lockoutOf(canonicalName) ?? this.#settings.lockout);
    this.#queue(canonicalName, { kind: 'failure', at, gen: this.#rowGen.get(canonicalName) ?? 0 });
  }

  recordSuccess(canonicalName: string, at: Date): void {
    const r = this.#byName.get(canonicalName);
    if (r === undefined || this.#closed) return;
    applySuccess(r, at);
    this.#queue(canonicalName, { kind: 'success', at, gen: this.#rowGen.get(canonicalName) ?? 0 });
  }

  #queue(name: string, ev: Event): void {
    let evs = this.#pending.get(name);
    if (evs === undefined) this.#pending.set(name, (evs = []));
    const last = evs[evs.length - 1];
    // Consecutive successes collapse into the last; failures are capped.
    if (ev.kind === 'success' && last?.kind === 'success' && last.gen === ev.gen) evs[evs.length - 1] = ev;
    else if (evs.length < MAX_EVENTS_PER_PRINCIPAL) evs.push(ev);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.flush();
      } catch {
        // Busy or failing disk: flush() put the events back; try again later.
        if (this.#pending.size > 0) this.#schedule();
      }
    }, this.#flushIntervalMs);
    this.#timer.unref();
  }

  /** Writes the queued lockout bookkeeping now (also on a timer and on close). */
  flush(): void {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const st = this.#stmt;
    try {
      this.#interleave?.('flush:taken');
      this.#db.transaction(() => {
        for (const [name, evs] of batch) {
          const row = st.lockoutOf.get(name);
          if (row === undefined) continue; // deleted meanwhile
          const f: LockoutFields = { failCount: row.fail_count, lastFailure: fromMs(row.last_failure), lastSuccess: fromMs(row.last_success), lockedUntil: fromMs(row.locked_until) };
          // An administrator changed the row after these events and left its lockout reset
          // (modprinc --unlock): the reset supersedes what happened before it.
          const resetSince = row.fail_count === 0 && row.locked_until === null;
          for (const ev of evs) {
            if (resetSince && ev.gen < row.gen) continue;
            if (ev.kind === 'failure') applyFailure(f, ev.at, this.policies.lockoutOf(name) ?? this.#settings.lockout);
            else applySuccess(f, ev.at);
          }
          st.writeLockout.run(f.failCount, f.lastFailure?.getTime() ?? null, f.lastSuccess?.getTime() ?? null, f.lockedUntil?.getTime() ?? null, name);
        }
      }).immediate();
    } catch (e) {
      // Put the batch back in front of anything queued since, then report.
      for (const [name, evs] of this.#pending) batch.set(name, [...(batch.get(name) ?? []), ...evs]);
      this.#pending = batch;
      throw e;
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
    // Our queued bookkeeping goes to disk first: the rows reloaded below then include it.
    if (this.#generation >= 0) this.flush();
    this.#db.transaction(() => this.#reload()).deferred();
    return true;
  }

  /** Switches to the file now at our path if it is not the one open (see the header); NO_DATABASE while there is none. */
  #followFile(): void {
    const file = this.#file;
    if (file === undefined) return;
    const id = fileIdentity(file.path);
    if (id === this.#fileId) return;
    if (id === undefined) throw new KdcDbError('NO_DATABASE', `${file.path} was removed; still serving the ${this.#byName.size} principals loaded before`);
    const next = file.reopen(this.#mkey);
    try {
      // Bookkeeping queued for the old file's principals goes to the old file, still open.
      this.flush();
    } catch {
      this.#pending = new Map();
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
    if (since < 0) {
      this.#byKey.clear();
      this.#byName.clear();
      this.#rowGen.clear();
      const keysByName = new Map<string, KeyRow[]>();
      for (const k of st.allKeys.iterate()) {
        let list = keysByName.get(k.principal);
        if (list === undefined) keysByName.set(k.principal, (list = []));
        list.push(k);
      }
      for (const row of st.rowsSince.iterate(-1)) this.#install(this.#recordFrom(row, keysByName.get(row.name) ?? []), row.gen);
    } else {
      for (const name of st.deletedSince.iterate(since)) {
        const old = this.#byName.get(name);
        if (old !== undefined) {
          this.#byName.delete(name);
          this.#rowGen.delete(name);
          this.#byKey.delete(componentsKey(old.principal.name.nameString));
        }
      }
      for (const row of st.rowsSince.all(since)) this.#install(this.#recordFrom(row, st.keysOf.all(row.name)), row.gen);
    }
    this.#generation = gen;
  }

  #install(r: DbPrincipalRecord, gen: number): void {
    this.#byName.set(r.canonicalName, r);
    this.#rowGen.set(r.canonicalName, gen);
    this.#byKey.set(componentsKey(r.principal.name.nameString), r);
  }

  #recordFrom(row: PrincipalRow, keyRows: KeyRow[]): DbPrincipalRecord {
    const keys = keyRows.map((k) => ({
      kvno: k.kvno,
      etype: k.etype,
      key: this.#mkey.decrypt(k.key_enc, keyAad(row.name, k.kvno, k.etype)),
      salt: k.salt,
      ...(k.s2kparams !== null ? { s2kparams: new Uint8Array(k.s2kparams) } : {}),
    }));
    const r: DbPrincipalRecord = {
      principal: { realm: this.realm, name: { nameType: row.name_type, nameString: JSON.parse(row.components) as string[] } },
      canonicalName: row.name,
      kvno: row.kvno,
      keys,
      attributes: attributesFromBits(row.attributes),
      maxLife: row.max_life,
      maxRenew: row.max_renew,
      failCount: row.fail_count,
      createdAt: new Date(row.created_at),
      modifiedAt: new Date(row.modified_at),
    };
    // Optional fields are absent rather than undefined (exactOptionalPropertyTypes-friendly, cleaner dumps).
    const opt: [keyof DbPrincipalRecord, number | null][] = [
      ['expiresAt', row.expires_at], ['pwExpiresAt', row.pw_expires_at], ['lastPwChange', row.last_pw_change],
      ['lastSuccess', row.last_success], ['lastFailure', row.last_failure], ['lockedUntil', row.locked_until],
    ];
    for (const [field, ms] of opt) if (ms !== null) (r as unknown as Record<string, Date>)[field] = new Date(ms);
    return r;
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
    return this.#byName.get(n.canonicalName)!;
  }

  modifyPrincipal(name: string, changes: ModifyPrincipalOptions): DbPrincipalRecord {
    const r = this.#require(name);
    this.#admin(() => this.#writer().modify(r, changes));
    return this.#byName.get(r.canonicalName)!;
  }

  changePassword(name: string, opts: ChangePasswordOptions): DbPrincipalRecord {
    const r = this.#require(name);
    this.#admin(() => this.#writer().changeKeys(r, opts, this.#settings));
    return this.#byName.get(r.canonicalName)!;
  }

  deletePrincipal(name: string): void {
    const r = this.#require(name);
    if (r.principal.name.nameString.length === 2 && r.principal.name.nameString[0] === 'krbtgt' && r.principal.name.nameString[1] === this.realm) {
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
    const n = resolveName(name, this.realm);
    return this.#byName.get(n.canonicalName);
  }

  #require(name: string): DbPrincipalRecord {
    const r = this.getPrincipal(name);
    if (r === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${resolveName(name, this.realm).canonicalName} does not exist`);
    return r;
  }

  /** Sorted canonical names; a glob without '@' is matched against the name in this realm, as kadmin does. */
  listPrincipals(glob?: string): string[] {
    const names = [...this.#byName.keys()];
    const pattern = glob === undefined || glob === '' ? undefined : glob.includes('@') ? glob : `${glob}@${this.realm}`;
    return (pattern === undefined ? names : names.filter((n) => globMatch(pattern, n))).sort();
  }

  /** The current keys of each principal, as keytab entries (all current enctypes). */
  keytabEntries(names: string[], timestamp: Date = this.#now()): KeytabEntry[] {
    const out: KeytabEntry[] = [];
    for (const name of names) {
      const r = this.#require(name);
      for (const k of r.keys) {
        if (k.kvno !== r.kvno) continue;
        out.push({ principal: r.principal, timestamp, kvno: k.kvno, key: { keytype: k.etype, keyvalue: k.key } });
      }
    }
    return out;
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
