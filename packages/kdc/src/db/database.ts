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
 *   that several KDCs on one database file do not overwrite each other.
 */
import type BetterSqlite3 from 'better-sqlite3';
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

type Event = { kind: 'failure' | 'success'; at: Date };
/** Failures kept per principal between flushes; more add nothing once a lockout is reached. */
const MAX_EVENTS_PER_PRINCIPAL = 256;

export interface DatabaseHandleOptions {
  /** How often queued lockout bookkeeping is written; default 1000 ms. */
  flushIntervalMs?: number;
  /** Clock for creation/modification times (tests). */
  now?: () => Date;
}

export class KdcDatabase implements PrincipalStore {
  readonly realm: string;
  readonly dir: string;
  readonly #db: BetterSqlite3.Database;
  readonly #mkey: MasterKey;
  readonly #now: () => Date;
  readonly #flushIntervalMs: number;
  #settings!: RealmSettings;
  #generation = -1;
  readonly #byKey = new Map<string, DbPrincipalRecord>();
  readonly #byName = new Map<string, DbPrincipalRecord>();
  #pending = new Map<string, Event[]>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Password policies, their assignment and the password history (policy.ts). */
  readonly policies: PolicyStore;
  readonly #stmt: {
    generation: BetterSqlite3.Statement<[], number>;
    settings: BetterSqlite3.Statement<[], string>;
    rowsSince: BetterSqlite3.Statement<[number], PrincipalRow>;
    keysOf: BetterSqlite3.Statement<[string], KeyRow>;
    allKeys: BetterSqlite3.Statement<[], KeyRow>;
    deletedSince: BetterSqlite3.Statement<[number], string>;
    lockoutOf: BetterSqlite3.Statement<[string], Pick<PrincipalRow, 'fail_count' | 'last_failure' | 'last_success' | 'locked_until'>>;
    writeLockout: BetterSqlite3.Statement<[number, number | null, number | null, number | null, string]>;
  };

  /** Use initRealm() or openDatabase(). */
  constructor(db: BetterSqlite3.Database, mkey: MasterKey, realm: string, dir: string, opts: DatabaseHandleOptions = {}) {
    this.#db = db;
    this.#mkey = mkey;
    this.realm = realm;
    this.dir = dir;
    this.#now = opts.now ?? (() => new Date());
    this.#flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.#stmt = {
      generation: db.prepare<[], number>("SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'generation'").pluck(),
      settings: db.prepare<[], string>("SELECT v FROM meta WHERE k = 'settings'").pluck(),
      rowsSince: db.prepare<[number], PrincipalRow>('SELECT * FROM principals WHERE gen > ?'),
      keysOf: db.prepare<[string], KeyRow>('SELECT * FROM principal_keys WHERE principal = ? ORDER BY kvno DESC, rowid'),
      allKeys: db.prepare<[], KeyRow>('SELECT * FROM principal_keys ORDER BY principal, kvno DESC, rowid'),
      deletedSince: db.prepare<[number], string>('SELECT name FROM deleted WHERE gen > ?').pluck(),
      lockoutOf: db.prepare('SELECT fail_count, last_failure, last_success, locked_until FROM principals WHERE name = ?'),
      writeLockout: db.prepare('UPDATE principals SET fail_count = ?, last_failure = ?, last_success = ?, locked_until = ? WHERE name = ?'),
    };
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
    this.#queue(canonicalName, { kind: 'failure', at });
  }

  recordSuccess(canonicalName: string, at: Date): void {
    const r = this.#byName.get(canonicalName);
    if (r === undefined || this.#closed) return;
    applySuccess(r, at);
    this.#queue(canonicalName, { kind: 'success', at });
  }

  #queue(name: string, ev: Event): void {
    let evs = this.#pending.get(name);
    if (evs === undefined) this.#pending.set(name, (evs = []));
    const last = evs[evs.length - 1];
    // Consecutive successes collapse into the last; failures are capped.
    if (ev.kind === 'success' && last?.kind === 'success') evs[evs.length - 1] = ev;
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
      this.#db.transaction(() => {
        for (const [name, evs] of batch) {
          const row = st.lockoutOf.get(name);
          if (row === undefined) continue; // deleted meanwhile
          const f: LockoutFields = { failCount: row.fail_count, lastFailure: fromMs(row.last_failure), lastSuccess: fromMs(row.last_success), lockedUntil: fromMs(row.locked_until) };
          for (const ev of evs) {
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
    const gen = this.#stmt.generation.get();
    if (gen === undefined) throw new KdcDbError('CORRUPT', 'the database has no generation counter');
    if (gen === this.#generation) return false;
    // Our queued bookkeeping goes to disk first: the rows reloaded below then include it.
    if (this.#generation >= 0) this.flush();
    this.#db.transaction(() => this.#reload()).deferred();
    return true;
  }

  #reload(): void {
    const st = this.#stmt;
    const since = this.#generation;
    const gen = st.generation.get()!;
    this.#settings = JSON.parse(st.settings.get()!) as RealmSettings;
    this.policies?.reload();
    if (since < 0) {
      this.#byKey.clear();
      this.#byName.clear();
      const keysByName = new Map<string, KeyRow[]>();
      for (const k of st.allKeys.iterate()) {
        let list = keysByName.get(k.principal);
        if (list === undefined) keysByName.set(k.principal, (list = []));
        list.push(k);
      }
      for (const row of st.rowsSince.iterate(-1)) this.#install(this.#recordFrom(row, keysByName.get(row.name) ?? []));
    } else {
      for (const name of st.deletedSince.iterate(since)) {
        const old = this.#byName.get(name);
        if (old !== undefined) {
          this.#byName.delete(name);
          this.#byKey.delete(componentsKey(old.principal.name.nameString));
        }
      }
      for (const row of st.rowsSince.all(since)) this.#install(this.#recordFrom(row, st.keysOf.all(row.name)));
    }
    this.#generation = gen;
  }

  #install(r: DbPrincipalRecord): void {
    this.#byName.set(r.canonicalName, r);
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
