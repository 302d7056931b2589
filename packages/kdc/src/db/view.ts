/**
 * The in-memory view both stores serve the exchanges from: principals with
 * their keys decrypted, indexed by components (the wire's lookups) and by
 * canonical name (administration), with the row generation each record was
 * loaded from, held in a bounded cache of those read on demand: read
 * synchronously from a PrincipalSource on a miss (SQLite), or loaded by the
 * store when lookup() throws NotLoaded (PostgreSQL: a network read, which
 * the request path awaits), with names known to be absent remembered too;
 * and the queue of lockout events not yet written.
 */
import { formatPrincipal, type KeytabEntry } from '@kpop/common';
import { KdcDbError } from './errors.js';
import { applyLockoutEvent, type LockoutFields } from './lockout.js';
import { componentsKey, globMatch, resolveName } from './names.js';
import type { DbPrincipalRecord } from './schema.js';
import { NotLoaded, type LockoutPolicy, type PrincipalRecord } from './types.js';

/** `gen`: the row generation of the record this KDC held when the event happened. */
export type LockoutEvent = { kind: 'failure' | 'success'; at: Date; gen: number };
/**
 * A lockout event as one worker process of a KDC relays it to the others
 * (`kdc start --workers`; `at` in ms): each applies it to its own copy of
 * the principal if it holds one, so that a guesser spreading attempts over
 * N workers meets the limit after F failures, not N × F. The recording
 * worker alone writes it to the database. (KDCs on PostgreSQL also hear of
 * every row's new counters from the database, which sets absolute values.)
 */
export interface PeerLockoutEvent { name: string; kind: 'failure' | 'success'; at: number }
/** Records a bounded view keeps decrypted in memory by default (a few KB each with their keys). */
export const DEFAULT_CACHE_SIZE = 10_000;
/** Failures kept per principal between flushes; more add nothing once a lockout is reached. */
const MAX_EVENTS_PER_PRINCIPAL = 256;

/** Where a view that holds only some principals reads the others (the SQLite store). */
export interface PrincipalSource {
  /** The record of a canonical name, keys decrypted, with the `gen` of its row; undefined when there is none. */
  read(canonicalName: string): { record: DbPrincipalRecord; gen: number } | undefined;
  /** Every canonical name in the database (listings). */
  names(): string[];
}

/** A record held, the generation of the row it was read from, and its second-chance bit. */
interface Entry { record: DbPrincipalRecord; gen: number; used: boolean }

/**
 * Without a source or onDemand the view holds every principal the store
 * installs. With a source it is a bounded cache: a miss reads the principal
 * from the source, and past `capacity` records the oldest one not used since
 * its last pass goes (second chance: krbtgt and busy services stay). With
 * onDemand (no source: the store loads asynchronously) it is the same
 * bounded cache, and lookup() of a name neither held nor known absent throws
 * NotLoaded; byName() answers from memory only.
 */
export class PrincipalView {
  /** By componentsKey, oldest first (the eviction order); #byName holds the same entries. */
  readonly #byKey = new Map<string, Entry>();
  readonly #byName = new Map<string, Entry>();
  readonly #source: PrincipalSource | undefined;
  readonly #onDemand: boolean;
  /** onDemand: canonical names known to have no principal, oldest first (bounded as the records are). */
  readonly #absent = new Set<string>();
  readonly #capacity: number;
  #reads = 0;

  constructor(readonly realm: string, opts: { source?: PrincipalSource; onDemand?: boolean; capacity?: number } = {}) {
    this.#source = opts.source;
    this.#onDemand = opts.onDemand === true && opts.source === undefined;
    this.#capacity = opts.source === undefined && !this.#onDemand ? Infinity : (opts.capacity ?? DEFAULT_CACHE_SIZE);
    if (!(this.#capacity >= 1) || (Number.isFinite(this.#capacity) && !Number.isInteger(this.#capacity))) {
      throw new KdcDbError('BAD_ARGUMENT', `the principal cache size must be a whole number of at least 1, got ${String(opts.capacity)}`);
    }
  }

  /** Records held in memory now. */
  get size(): number {
    return this.#byName.size;
  }

  /** Records read from the source since the view was made, records held, the bound, and names held as absent (tests, the bench). */
  stats(): { reads: number; cached: number; capacity: number; absent: number } {
    return { reads: this.#reads, cached: this.#byName.size, capacity: this.#capacity, absent: this.#absent.size };
  }

  lookup(nameString: readonly string[]): PrincipalRecord | undefined {
    let e = this.#byKey.get(componentsKey(nameString));
    if (e === undefined) {
      if (this.#source === undefined && !this.#onDemand) return undefined;
      const name = formatPrincipal({ realm: this.realm, name: { nameType: 1, nameString: nameString as string[] } });
      if (this.#onDemand) {
        if (this.#absent.has(name)) return undefined;
        throw new NotLoaded(name);
      }
      e = this.#read(name);
      if (e === undefined) return undefined;
    }
    e.used = true;
    const r = e.record;
    const c = r.principal.name.nameString;
    if (c.length !== nameString.length) return undefined;
    for (let i = 0; i < c.length; i++) if (c[i] !== nameString[i]) return undefined;
    return r;
  }

  byName(canonicalName: string): DbPrincipalRecord | undefined {
    return (this.#byName.get(canonicalName) ?? this.#read(canonicalName))?.record;
  }

  /** The record if held now; never reads. */
  held(canonicalName: string): DbPrincipalRecord | undefined {
    return this.#byName.get(canonicalName)?.record;
  }

  rowGen(canonicalName: string): number {
    return this.#byName.get(canonicalName)?.gen ?? 0;
  }

  install(r: DbPrincipalRecord, gen: number): void {
    this.#install(r, gen);
  }

  /** onDemand: holds the view's answer for a name that has no principal (until install(), forget() or clear()). */
  markAbsent(canonicalName: string): void {
    this.remove(canonicalName);
    this.#absent.delete(canonicalName);
    if (this.#absent.size >= this.#capacity) this.#absent.delete(this.#absent.values().next().value!);
    this.#absent.add(canonicalName);
  }

  /** True when the view holds a record for the name, or knows there is none (onDemand). */
  holds(canonicalName: string): boolean {
    return this.#byName.has(canonicalName) || this.#absent.has(canonicalName);
  }

  /** The canonical names of the records held (a refresh re-reads those that changed). */
  heldNames(): string[] {
    return [...this.#byName.keys()];
  }

  /** Drops whatever the view holds for a name, record or absence: the next lookup loads it again. */
  forget(canonicalName: string): void {
    this.remove(canonicalName);
    this.#absent.delete(canonicalName);
  }

  /** Drops every name known absent (after a change too large to check name by name). */
  clearAbsent(): void {
    this.#absent.clear();
  }

  /** Makes room first, so the record just read is never the one evicted. */
  #install(r: DbPrincipalRecord, gen: number): Entry {
    this.remove(r.canonicalName);
    this.#absent.delete(r.canonicalName);
    if (this.#byName.size >= this.#capacity) this.#evictOne();
    const e: Entry = { record: r, gen, used: false };
    this.#byName.set(r.canonicalName, e);
    this.#byKey.set(componentsKey(r.principal.name.nameString), e);
    return e;
  }

  remove(canonicalName: string): void {
    const old = this.#byName.get(canonicalName);
    if (old === undefined) return;
    this.#byName.delete(canonicalName);
    this.#byKey.delete(componentsKey(old.record.principal.name.nameString));
  }

  clear(): void {
    this.#byKey.clear();
    this.#byName.clear();
    this.#absent.clear();
  }

  #read(canonicalName: string): Entry | undefined {
    const got = this.#source?.read(canonicalName);
    if (got === undefined) return undefined;
    this.#reads++;
    return this.#install(got.record, got.gen);
  }

  #evictOne(): void {
    for (;;) {
      const first = this.#byKey.entries().next();
      if (first.done === true) return;
      const [key, e] = first.value;
      this.#byKey.delete(key);
      if (e.used) {
        e.used = false;
        this.#byKey.set(key, e);
        continue;
      }
      this.#byName.delete(e.record.canonicalName);
      return;
    }
  }

  /** An administrator's name ('alice', 'pop/host@REALM') to its record. */
  get(name: string): DbPrincipalRecord | undefined {
    return this.byName(resolveName(name, this.realm).canonicalName);
  }

  require(name: string): DbPrincipalRecord {
    const r = this.get(name);
    if (r === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${resolveName(name, this.realm).canonicalName} does not exist`);
    return r;
  }

  /** Sorted canonical names; a glob without '@' is matched against the name in this realm, as kadmin does. */
  list(glob?: string): string[] {
    return filterNames(this.#source !== undefined ? this.#source.names() : [...this.#byName.keys()], this.realm, glob);
  }

  /** The current keys of each principal, as keytab entries (all current enctypes). */
  keytabEntries(names: string[], timestamp: Date): KeytabEntry[] {
    const out: KeytabEntry[] = [];
    for (const name of names) {
      const r = this.require(name);
      for (const k of r.keys) {
        if (k.kvno !== r.kvno) continue;
        out.push({ principal: r.principal, timestamp, kvno: k.kvno, key: { keytype: k.etype, keyvalue: k.key } });
      }
    }
    return out;
  }
}

/** Sorted canonical names matching a glob; one without '@' is matched against the name in this realm, as kadmin does. */
export function filterNames(names: string[], realm: string, glob?: string): string[] {
  const pattern = glob === undefined || glob === '' ? undefined : glob.includes('@') ? glob : `${glob}@${realm}`;
  return (pattern === undefined ? names : names.filter((n) => globMatch(pattern, n))).sort();
}

/**
 * A KDC's failed or successful pre-authentication of a principal: applied to
 * the record in memory at once (a lockout takes effect on the next request)
 * and queued for the database. False when there is no such principal.
 */
export function recordLockoutEvent(view: PrincipalView, queue: LockoutQueue, name: string, kind: LockoutEvent['kind'], at: Date, policy: (name: string) => LockoutPolicy, relay?: (ev: PeerLockoutEvent) => void): boolean {
  const r = view.byName(name);
  if (r === undefined) return false;
  const hadFailures = r.failCount > 0;
  applyLockoutEvent(r, kind, at, policy(name));
  queue.push(name, { kind, at, gen: view.rowGen(name) });
  // Every failure; a success only when it cleared failures (the others hold them too): most logins send nothing.
  if (relay !== undefined && (kind === 'failure' || hadFailures)) relay({ name, kind, at: at.getTime() });
  return true;
}

/** Another worker's event: applied to the principal in memory if held, never read in for it, never queued (its recorder writes it). */
export function applyPeerLockoutEvent(view: PrincipalView, ev: PeerLockoutEvent, policy: (name: string) => LockoutPolicy): void {
  if (typeof ev?.name !== 'string' || (ev.kind !== 'failure' && ev.kind !== 'success') || !Number.isFinite(ev.at)) return;
  const r = view.held(ev.name);
  if (r !== undefined) applyLockoutEvent(r, ev.kind, new Date(ev.at), policy(ev.name));
}

/** Lockout events per principal, waiting to be written. */
export class LockoutQueue {
  pending = new Map<string, LockoutEvent[]>();

  get size(): number {
    return this.pending.size;
  }

  push(name: string, ev: LockoutEvent): void {
    let evs = this.pending.get(name);
    if (evs === undefined) this.pending.set(name, (evs = []));
    const last = evs[evs.length - 1];
    // Consecutive successes collapse into the last; failures are capped.
    if (ev.kind === 'success' && last?.kind === 'success' && last.gen === ev.gen) evs[evs.length - 1] = ev;
    else if (evs.length < MAX_EVENTS_PER_PRINCIPAL) evs.push(ev);
  }

  /** Takes everything queued (to write it). */
  take(): Map<string, LockoutEvent[]> {
    const batch = this.pending;
    this.pending = new Map();
    return batch;
  }

  /** Puts a batch that could not be written back in front of anything queued since. */
  putBack(batch: Map<string, LockoutEvent[]>): void {
    for (const [name, evs] of this.pending) batch.set(name, [...(batch.get(name) ?? []), ...evs]);
    this.pending = batch;
  }
}

/**
 * Re-applies a KDC's events to the lockout fields of the row as stored
 * (another KDC's events may be in it already), so that several KDCs on one
 * database count every failure. An administrator who changed the row after
 * these events and left its lockout reset (modprinc --unlock) supersedes
 * what happened before the reset.
 */
export function replayLockout(f: LockoutFields, rowGen: number, evs: readonly LockoutEvent[], policy: LockoutPolicy): LockoutFields {
  const resetSince = f.failCount === 0 && f.lockedUntil === undefined;
  for (const ev of evs) {
    if (resetSince && ev.gen < rowGen) continue;
    applyLockoutEvent(f, ev.kind, ev.at, policy);
  }
  return f;
}
