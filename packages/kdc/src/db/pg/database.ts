/**
 * PgKdcDatabase: the principal database in PostgreSQL, shared by several
 * KDCs (each on its own host, each with the master key in its own stash
 * file or from its operator's master password; never in the database).
 *
 * Principals are read on demand, as the SQLite store reads them, into the
 * same bounded view (view.ts: `cacheSize` records with their keys
 * decrypted, and the names known to have none): opening a realm of a
 * million principals reads none of them. A lookup that misses throws
 * NotLoaded; the request handler awaits loadPrincipal(name), which reads the row and
 * its keys in one statement (the misses of one turn of the event loop in one
 * round trip), and asks again. A KDC whose database goes away keeps serving
 * every principal it holds; one it does not hold gets KDC_ERR_SVC_UNAVAILABLE,
 * on which MIT's clients (and ours) try the next KDC.
 *
 * Change feed. Every administrative write runs in one transaction that takes
 * the next generation (schema.ts: the row lock orders writers) and ends with
 * NOTIFY kpop_kdc_change, delivered at COMMIT. A KDC (follow: true) LISTENs
 * on a connection of its own and, on a notification, reads the names whose
 * rows have gen > the last it saw (in one REPEATABLE READ snapshot): those
 * it holds are read again (a batch at a time, yielding between batches; the
 * old record serves until the new one is in), those it knew absent are
 * forgotten. After a bulk change only the names it holds are asked for. The
 * generation is also read on every refresh() (the server's timer, the
 * kpasswd service), the fallback for a notification lost with a connection.
 *
 * A read on demand and a refresh may cross: a read whose snapshot is older
 * than the newest generation a refresh has seen is read again, so a record
 * changed between the two is never installed stale (reader.ts).
 *
 * Losing the database (feed.ts). The listening connection's 'error' and
 * 'end' are handled: the KDC says so once (onStatus), keeps serving from
 * memory, and reconnects with backoff (0.25 s doubling to 10 s); back, it
 * reloads what changed meanwhile, every row's lockout fields, and writes the
 * lockout bookkeeping queued while away. Pool connections that die idle are dropped
 * by the pool. An administrative command (follow: false) fails instead with
 * one line: "cannot reach the database at postgresql://host:port/db: …",
 * never the URL's password.
 *
 * Lockout across KDCs. A failure is applied to memory at once (this KDC
 * refuses from the next request on) and queued; the queue is written on the
 * next tick, one transaction per batch: SELECT … FOR UPDATE of the rows (in
 * name order: two KDCs never deadlock), the events re-applied to the row as
 * stored (replayLockout: another KDC's failures are in it already, so N
 * failures over several KDCs count N, none lost), UPDATE, and NOTIFY
 * kpop_kdc_lockout with the row's new fields. Every KDC sets its copy from
 * that notification (plus any events of its own still queued), so a lockout
 * reached through one KDC holds on the others within a notification's
 * latency (milliseconds on a LAN). Why NOTIFY rather than asking the
 * database on each AS-REQ: the request path stays memory-only, a database
 * round trip never sits in front of an authentication, and a KDC cut off
 * from its database still authenticates (with the lockout state it has).
 */
import type pg from 'pg';
import type { KeytabEntry } from '@kpop/common';
import { type Dump, dumpFromRows, parseDump, type LoadOptions } from '../dump.js';
import { KdcDbError } from '../errors.js';
import type { LockoutFields } from '../lockout.js';
import type { MasterKey } from '../master-key.js';
import { resolveName } from '../names.js';
import type { RealmDatabase } from '../realm-database.js';
import { fromMs, toMs, type DbPrincipalRecord } from '../schema.js';
import type { PrincipalRecord, RealmSettings } from '../types.js';
import { applyPeerLockoutEvent, filterNames, LockoutQueue, PrincipalView, recordLockoutEvent, replayLockout, type LockoutEvent, type PeerLockoutEvent } from '../view.js';
import {
  changedSettings, isRealmTgs, keyRowsOf, modifiedRecord, newPrincipalRecord, principalRowOf, rekeyedRecord,
  type AddPrincipalOptions, type ChangePasswordOptions, type ModifyPrincipalOptions, type SettingsChanges,
} from '../writes.js';
import { displayUrl, inTransaction, isConnectionError, unreachable } from './connection.js';
import { ChangeFeed } from './feed.js';
import { PrincipalReader, READ_SLICE } from './reader.js';
import { PgPolicyStore } from './policy.js';
import { allNames, insertKeys, lockoutRowsForUpdate, notifyLockouts, readAll, readChanges, replacePrincipals, upsertPrincipal, writeLockouts, type Client, type LockoutNote } from './statements.js';
import { CHANGE_CHANNEL, LOCKOUT_CHANNEL } from './schema.js';

export interface PgDatabaseOptions {
  /** Clock for creation/modification times (tests). */
  now?: () => Date;
  /** LISTEN for changes and reconnect when the server goes away (a KDC); false for a one-shot admin command. Default true. */
  follow?: boolean;
  /** One status line (no newline) when the database is lost and when it is back, e.g. to stderr. */
  onStatus?: (line: string) => void;
  /** Delay before queued lockout bookkeeping is written (ms, default 0: the next tick). */
  flushIntervalMs?: number;
  /** Longest wait between two reconnection attempts (ms, default 10000). */
  maxBackoffMs?: number;
  /** How many principals are kept decrypted in memory; default DEFAULT_CACHE_SIZE (view.ts). */
  cacheSize?: number;
  /** Longest a request waits for a principal to be read (ms, default 2000); then it is answered SVC_UNAVAILABLE. */
  loadTimeoutMs?: number;
  /**
   * Tests only: awaited where another writer's change could land between two
   * steps ('read:fetched': a read on demand has its rows, not yet installed).
   */
  interleaveRead?: (point: 'read:fetched', names: readonly string[]) => void | Promise<void>;
}

/** A refresh that finds more changed names than this asks only about the names held (as the SQLite store's EVICT_BY_NAME_MAX). */
const CHANGES_BY_NAME_MAX = 1024;

export class PgKdcDatabase implements RealmDatabase {
  readonly realm: string;
  readonly dir: string;
  /** The URL with its password: never shown (location is what messages say). */
  readonly #url: string;
  readonly policies: PgPolicyStore;
  readonly #pool: pg.Pool;
  readonly #mkey: MasterKey;
  readonly #now: () => Date;
  readonly #onStatus: ((line: string) => void) | undefined;
  readonly #flushIntervalMs: number;
  readonly #view: PrincipalView;
  readonly #pending = new LockoutQueue();
  /** Where recorded lockout events also go (the other workers), if anywhere. */
  #relay: ((ev: PeerLockoutEvent) => void) | undefined;
  #settings!: RealmSettings;
  #generation = -1;
  /** The newest generation a refresh has seen (set before it asks which names it holds): reads older than it are read again. */
  #seenGen = -1;
  #closed = false;
  readonly #reader: PrincipalReader;
  /** The change feed (follow: true), undefined for a one-shot handle. */
  readonly #feed: ChangeFeed | undefined;
  // refresh: one at a time; a request during one runs another after it
  #refreshRun: Promise<boolean> | undefined;
  #refreshAgain = false;
  // lockout bookkeeping: one batch in flight at a time
  #flushTimer: NodeJS.Timeout | undefined;
  #flushChain: Promise<void> = Promise.resolve();

  /** Use openPgDatabase() or initPgRealm() (pg/realm.ts). */
  private constructor(pool: pg.Pool, url: string, mkey: MasterKey, realm: string, dir: string, opts: PgDatabaseOptions) {
    this.#pool = pool;
    this.#url = url;
    this.#mkey = mkey;
    this.realm = realm;
    this.dir = dir;
    this.#now = opts.now ?? (() => new Date());
    this.#onStatus = opts.onStatus;
    this.#flushIntervalMs = opts.flushIntervalMs ?? 0;
    this.#feed = opts.follow !== false
      ? new ChangeFeed(url, {
        onNotification: (channel, payload) => {
          if (channel === LOCKOUT_CHANNEL) this.#onLockoutNote(payload);
          else if (channel === CHANGE_CHANNEL) this.refresh().catch(() => {});
        },
        // What changed while away: rows by generation, and the lockout fields of the rows held (they carry no generation).
        onReconnected: async () => {
          await this.#refreshOnce();
          await this.#reloadLockouts();
        },
        onLost: (reason) => this.#onStatus?.(`kdc: lost the database at ${this.location} (${reason}); serving the ${this.#view.size} principals in memory, reconnecting`),
        onBack: () => {
          this.#onStatus?.(`kdc: the database at ${this.location} is reachable again; serving what it holds now`);
          if (this.#pending.size > 0) this.#scheduleFlush(0);
        },
      }, opts.maxBackoffMs !== undefined ? { maxBackoffMs: opts.maxBackoffMs } : {})
      : undefined;
    this.#view = new PrincipalView(realm, { onDemand: true, ...(opts.cacheSize !== undefined ? { capacity: opts.cacheSize } : {}) });
    this.policies = new PgPolicyStore(pool, mkey, url, (fn) => this.#write(fn), () => this.#catchUp(), (n) => this.#view.held(n) !== undefined);
    this.#reader = new PrincipalReader({
      realm, pool, url, location: this.location, mkey, view: this.#view,
      connected: () => this.connected,
      closed: () => this.#closed,
      seenGen: () => this.#seenGen,
      noteAssignment: (n, policy) => this.policies.noteAssignment(n, policy),
      installed: (r, note) => (note !== undefined ? this.#setLockout(r, note) : this.#reapplyPending(r)),
      lost: (e) => this.#feed?.lost(e),
      loadTimeoutMs: opts.loadTimeoutMs ?? 2000,
      interleave: opts.interleaveRead,
    });
  }

  /** Reads the realm's settings and policies (no principal: they are read on demand), then (follow) starts listening. */
  static async open(pool: pg.Pool, url: string, mkey: MasterKey, realm: string, dir: string, opts: PgDatabaseOptions = {}): Promise<PgKdcDatabase> {
    const db = new PgKdcDatabase(pool, url, mkey, realm, dir, opts);
    try {
      await db.#feed?.start();
      await db.#refreshOnce();
    } catch (e) {
      await db.close();
      throw isConnectionError(e) ? unreachable(url, e) : e;
    }
    return db;
  }

  /** The database, as messages show it (no password). */
  get location(): string {
    return displayUrl(this.#url);
  }

  /** True while the change feed's connection is up (always true for a one-shot handle that has not failed). */
  get connected(): boolean {
    return this.#feed === undefined || this.#feed.up;
  }

  // ---- PrincipalStore: the request path, memory only ----

  settings(): RealmSettings {
    return this.#settings;
  }

  /** Throws NotLoaded for a name not in memory: await loadPrincipal(name) and ask again (exchange/handler.ts does). */
  lookup(nameString: readonly string[]): PrincipalRecord | undefined {
    return this.#view.lookup(nameString);
  }

  /** Principals read since open, held in memory now, and the bound (tests, the bench). */
  cacheStats(): { reads: number; cached: number; capacity: number; absent: number } {
    return { ...this.#view.stats(), reads: this.#reader.reads };
  }

  /** Reads a principal (or that there is none) into memory for the request path (reader.ts). */
  loadPrincipal(canonicalName: string): Promise<void> {
    return this.#reader.load(canonicalName);
  }

  async #require(name: string): Promise<DbPrincipalRecord> {
    await this.#reader.ensure([resolveName(name, this.realm).canonicalName]);
    return this.#view.require(name);
  }

  recordFailure(canonicalName: string, at: Date): void {
    if (!this.#closed && recordLockoutEvent(this.#view, this.#pending, canonicalName, 'failure', at, (n) => this.#lockoutPolicy(n), this.#relay)) this.#scheduleFlush(this.#flushIntervalMs);
  }

  recordSuccess(canonicalName: string, at: Date): void {
    if (!this.#closed && recordLockoutEvent(this.#view, this.#pending, canonicalName, 'success', at, (n) => this.#lockoutPolicy(n), this.#relay)) this.#scheduleFlush(this.#flushIntervalMs);
  }

  /** Lockout events this handle records go to `send` too (a worker relays them to the others: server/workers.ts). */
  relayLockout(send: (ev: PeerLockoutEvent) => void): void {
    this.#relay = send;
  }

  /** Another worker's lockout event: applied to the principal in memory if held; that worker writes it. */
  applyPeerLockout(ev: PeerLockoutEvent): void {
    if (!this.#closed) applyPeerLockoutEvent(this.#view, ev, (n) => this.#lockoutPolicy(n));
  }

  #lockoutPolicy(name: string) {
    return this.policies.lockoutOf(name) ?? this.#settings.lockout;
  }

  // ---- lockout bookkeeping ----

  #scheduleFlush(delay: number): void {
    if (this.#flushTimer !== undefined || this.#closed) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.flush().catch(() => {
        // The database is away: the batch went back into the queue; reconnecting (or a later event) writes it.
        if (this.#pending.size > 0 && this.connected) this.#scheduleFlush(1000);
      });
    }, delay);
    this.#flushTimer.unref();
  }

  /** Writes the queued lockout bookkeeping now; batches run one after another. */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      while (this.#pending.size > 0) await this.#flushBatch();
    };
    const p = this.#flushChain.then(run, run);
    this.#flushChain = p.catch(() => {});
    return p;
  }

  async #flushBatch(): Promise<void> {
    const batch = this.#pending.take();
    const names = [...batch.keys()].sort();
    try {
      await inTransaction(this.#pool, 'BEGIN', async (c) => {
        const rows = await lockoutRowsForUpdate(c, names);
        const notes: LockoutNote[] = [];
        const tell: string[] = [];
        for (const row of rows) {
          const evs = batch.get(row.name) ?? [];
          const f: LockoutFields = { failCount: row.fail_count, lastFailure: fromMs(row.last_failure), lastSuccess: fromMs(row.last_success), lockedUntil: fromMs(row.locked_until) };
          replayLockout(f, row.gen, evs, this.#lockoutPolicy(row.name));
          const note = { n: row.name, f: f.failCount, lf: toMs(f.lastFailure), ls: toMs(f.lastSuccess), lu: toMs(f.lockedUntil) };
          notes.push(note);
          // The other KDCs hear of failures and of counters that moved, not of every successful login.
          if (evs.some((e) => e.kind === 'failure') || note.f !== row.fail_count || note.lu !== row.locked_until) tell.push(JSON.stringify(note));
        }
        if (notes.length === 0) return;
        await writeLockouts(c, notes);
        // Delivered at COMMIT to every KDC listening, this one included.
        await notifyLockouts(c, tell);
      });
    } catch (e) {
      this.#pending.putBack(batch);
      if (isConnectionError(e)) this.#feed?.lost(e);
      throw isConnectionError(e) ? unreachable(this.#url, e) : e;
    }
  }

  /** Another KDC (or this one) wrote a row's lockout fields: take them, plus our own events not yet written. */
  #onLockoutNote(payload: string | undefined): void {
    let m: LockoutNote;
    try {
      m = JSON.parse(payload ?? '') as LockoutNote;
    } catch {
      return;
    }
    // A read of this name in flight may have taken its snapshot before this change: it applies the note when it lands.
    this.#reader.noteHeard(m);
    const r = this.#view.byName(m.n);
    if (r === undefined) return;
    this.#setLockout(r, m);
  }

  #setLockout(r: DbPrincipalRecord, m: Omit<LockoutNote, 'n'>): void {
    r.failCount = m.f;
    const set = (field: 'lastFailure' | 'lastSuccess' | 'lockedUntil', ms: number | null): void => {
      if (ms === null) delete r[field];
      else r[field] = new Date(ms);
    };
    set('lastFailure', m.lf);
    set('lastSuccess', m.ls);
    set('lockedUntil', m.lu);
    this.#reapplyPending(r);
  }

  #reapplyPending(r: DbPrincipalRecord): void {
    const evs: LockoutEvent[] | undefined = this.#pending.pending.get(r.canonicalName);
    if (evs !== undefined) replayLockout(r, this.#view.rowGen(r.canonicalName), evs, this.#lockoutPolicy(r.canonicalName));
  }

  // ---- catching up ----

  async #reloadLockouts(): Promise<void> {
    const rows = await this.#pool.query<{ name: string; fail_count: number; last_failure: number | null; last_success: number | null; locked_until: number | null }>(
      'SELECT name, fail_count, last_failure, last_success, locked_until FROM principals WHERE name = ANY($1::text[])', [this.#view.heldNames()]);
    for (const row of rows.rows) {
      const r = this.#view.byName(row.name);
      if (r !== undefined) this.#setLockout(r, { f: row.fail_count, lf: row.last_failure, ls: row.last_success, lu: row.locked_until });
    }
  }

  /**
   * Reloads what changed since the last look (one indexed read when nothing
   * did). Never rejects for a lost connection on a following KDC: it then
   * resolves false and the reconnection catches up.
   */
  refresh(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#feed !== undefined && !this.#feed.up) return Promise.resolve(false);
    if (this.#refreshRun !== undefined) {
      this.#refreshAgain = true;
      return this.#refreshRun;
    }
    const run = (async (): Promise<boolean> => {
      let changed = false;
      do {
        this.#refreshAgain = false;
        changed = (await this.#refreshOnce()) || changed;
      } while (this.#refreshAgain && !this.#closed);
      return changed;
    })();
    this.#refreshRun = run.finally(() => {
      this.#refreshRun = undefined;
    });
    return this.#refreshRun.catch((e: unknown) => {
      if (isConnectionError(e)) {
        if (this.#feed !== undefined) {
          this.#feed.lost(e);
          return false;
        }
        throw unreachable(this.#url, e);
      }
      throw e;
    });
  }

  /** After this process's own write: the view includes it when this resolves. */
  async #catchUp(): Promise<void> {
    if (this.#refreshRun !== undefined) {
      this.#refreshAgain = true;
      await this.#refreshRun.catch(() => {});
    }
    await this.#refreshOnce();
  }

  async #refreshOnce(): Promise<boolean> {
    if (this.#closed) return false;
    const since = this.#generation;
    const snap = await inTransaction(this.#pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (c) => {
      const found = await readChanges(c, since, CHANGES_BY_NAME_MAX, (gen, full) => {
        this.#seenGen = full ? gen : Math.max(this.#seenGen, gen);
      }, () => this.#view.heldNames());
      if (found === 'no generation') throw new KdcDbError('CORRUPT', `the database at ${this.location} has no generation row`);
      return found;
    });
    if (snap === undefined) return false;
    // Another refresh finished first with a newer snapshot: ours is stale.
    if (this.#generation !== since) return this.#generation < snap.gen ? this.#refreshOnce() : false;
    if (snap.settings === undefined) throw new KdcDbError('CORRUPT', `the database at ${this.location} has no realm settings`);
    this.#settings = JSON.parse(snap.settings) as RealmSettings;
    this.policies.setAll(snap.policies);
    if (snap.full) this.#view.clear();
    else if (snap.bulk) this.#view.clearAbsent();
    // Names held are read again (the old record serves until then); names known absent are forgotten.
    const again: string[] = [];
    for (const name of snap.names) {
      if (this.#view.held(name) !== undefined) again.push(name);
      else this.#view.forget(name);
    }
    // A statement per READ_SLICE names, with a yield to the event loop between two.
    for (let i = 0; i < again.length; i += READ_SLICE) {
      await this.#reader.read(again.slice(i, i + READ_SLICE));
      if (i + READ_SLICE < again.length) await new Promise((r) => setImmediate(r));
    }
    if (this.#generation === since) this.#generation = snap.gen;
    return true;
  }

  // ---- administration (the CLI, the kpasswd service) ----

  /**
   * One administrative write: a transaction that takes the next generation
   * (waiting for any other writer), runs fn, and NOTIFYs every KDC; then the
   * view is brought up to date.
   */
  async #write<T>(fn: (c: Client, gen: number) => Promise<T>): Promise<T> {
    if (this.#closed) throw new KdcDbError('BAD_ARGUMENT', 'the database is closed');
    let out: T;
    try {
      out = await inTransaction(this.#pool, 'BEGIN', async (c) => {
        const gen = (await c.query<{ gen: number }>('UPDATE generation SET gen = gen + 1 RETURNING gen')).rows[0]!.gen;
        const result = await fn(c, gen);
        await c.query(`SELECT pg_notify('${CHANGE_CHANNEL}', $1)`, [String(gen)]);
        return result;
      });
      await this.#catchUp();
    } catch (e) {
      throw isConnectionError(e) ? unreachable(this.#url, e) : e;
    }
    return out;
  }

  async #writeRecord(c: Client, r: DbPrincipalRecord, gen: number, withKeys: boolean, resetLockout: boolean): Promise<void> {
    await upsertPrincipal(c, principalRowOf(r, gen), resetLockout);
    if (!withKeys) return;
    await c.query('DELETE FROM principal_keys WHERE principal = $1', [r.canonicalName]);
    await insertKeys(c, keyRowsOf(this.#mkey, r.canonicalName, r.keys));
  }

  async addPrincipal(name: string, opts: AddPrincipalOptions): Promise<DbPrincipalRecord> {
    const n = resolveName(name, this.realm);
    const r = newPrincipalRecord(n, opts, this.#settings, this.#now());
    await this.#write(async (c, gen) => {
      if ((await c.query('SELECT 1 FROM principals WHERE name = $1', [n.canonicalName])).rowCount !== 0) throw new KdcDbError('DUPLICATE', `principal ${n.canonicalName} already exists`);
      await this.#writeRecord(c, r, gen, true, false);
      await c.query('DELETE FROM deleted WHERE name = $1', [n.canonicalName]);
    });
    return this.#require(n.canonicalName);
  }

  async modifyPrincipal(name: string, changes: ModifyPrincipalOptions): Promise<DbPrincipalRecord> {
    const live = await this.#require(name);
    const r = modifiedRecord(live, changes, this.#now());
    await this.#write((c, gen) => this.#writeRecord(c, r, gen, false, changes.unlock === true));
    return this.#require(r.canonicalName);
  }

  async changePassword(name: string, opts: ChangePasswordOptions): Promise<DbPrincipalRecord> {
    const live = await this.#require(name);
    const r = rekeyedRecord(live, opts, this.#settings, this.#now());
    await this.#write((c, gen) => this.#writeRecord(c, r, gen, true, false));
    return this.#require(r.canonicalName);
  }

  async deletePrincipal(name: string): Promise<void> {
    const r = await this.#require(name);
    if (isRealmTgs(r, this.realm)) throw new KdcDbError('PROTECTED', `${r.canonicalName} is the realm's ticket-granting service and cannot be deleted`);
    await this.#write(async (c, gen) => {
      await c.query('DELETE FROM principals WHERE name = $1', [r.canonicalName]);
      await c.query('INSERT INTO deleted (name, gen) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET gen = EXCLUDED.gen', [r.canonicalName, gen]);
    });
  }

  async updateSettings(changes: SettingsChanges): Promise<RealmSettings> {
    const s = changedSettings(this.#settings, changes);
    await this.#write(async (c) => void (await c.query("UPDATE meta SET v = $1 WHERE k = 'settings'", [JSON.stringify(s)])));
    return this.#settings;
  }

  async getPrincipal(name: string): Promise<DbPrincipalRecord | undefined> {
    await this.#reader.ensure([resolveName(name, this.realm).canonicalName]);
    return this.#view.get(name);
  }

  async listPrincipals(glob?: string): Promise<string[]> {
    let names: string[];
    try {
      names = await allNames(this.#pool);
    } catch (e) {
      throw isConnectionError(e) ? unreachable(this.#url, e) : e;
    }
    return filterNames(names, this.realm, glob);
  }

  async keytabEntries(names: string[], timestamp: Date = this.#now()): Promise<KeytabEntry[]> {
    await this.#reader.ensure(names.map((n) => resolveName(n, this.realm).canonicalName));
    return this.#view.keytabEntries(names, timestamp);
  }

  /** A JSON-able dump, the SQLite store's format: keys stay encrypted under the master key. */
  async dump(): Promise<Dump> {
    await this.flush().catch(() => {});
    try {
      return await inTransaction(this.#pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (c) => {
        const { meta, rows, keys } = await readAll(c);
        return dumpFromRows(this.realm, JSON.parse(meta.get('settings')!) as RealmSettings, meta.get('master_check')!, rows, keys);
      });
    } catch (e) {
      throw isConnectionError(e) ? unreachable(this.#url, e) : e;
    }
  }

  /** Replaces the principals (or, with update, adds/overwrites) from a dump made under the same master key (either store's). */
  async load(dump: unknown, opts: LoadOptions = {}): Promise<void> {
    const { settings, names, rows } = parseDump(this.#mkey, this.realm, dump, opts);
    await this.flush().catch(() => {});
    await this.#write(async (c, gen) => {
      await replacePrincipals(c, gen, rows, opts.update === true ? [...names] : undefined);
      if (opts.update !== true) await c.query("UPDATE meta SET v = $1 WHERE k = 'settings'", [JSON.stringify(settings)]);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.connected && this.#generation >= 0) await this.flush().catch(() => {});
    this.#closed = true;
    await this.#feed?.close();
    // A query stuck on a connection cut without a word would hold a stopping KDC until it times out: wait 2 s at most.
    const bounded = (p: Promise<unknown> | undefined): Promise<unknown> => Promise.race([p?.catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
    await bounded(this.#refreshRun);
    await bounded(this.#pool.end());
  }
}
