/**
 * Reading principals on demand from PostgreSQL into a KDC's view
 * (database.ts): the request path's reads, gathered per turn of the event
 * loop into one statement and bounded in number and time, and the one rule
 * that keeps them from installing stale records.
 *
 * Why a read can be stale: a refresh (database.ts) learns which names
 * changed since the generation it last saw and re-reads those the view
 * holds. A read on demand that took its snapshot before such a change but
 * installs after the refresh asked which names are held would put the old
 * record back, and nothing would ever correct it. So the refresh publishes
 * the newest generation it has seen (seenGen) before it asks, and a read
 * whose snapshot is older than that is read again.
 *
 * Lockout notes (another KDC's new counters for a row, NOTIFY) that arrive
 * while a name is being read may postdate the read's snapshot: the newest
 * one is kept and applied when the read installs the record.
 */
import type pg from 'pg';
import { KdcDbError } from '../errors.js';
import type { MasterKey } from '../master-key.js';
import { recordFromRows, type DbPrincipalRecord } from '../schema.js';
import type { PrincipalView } from '../view.js';
import { isConnectionError, unreachable } from './connection.js';
import { readPrincipals, type LockoutNote } from './statements.js';

/** Names read (and rows decrypted) per statement. */
export const READ_SLICE = 500;
/** Reads of one batch retried when a refresh saw a newer generation meanwhile; past this the read fails. */
const MAX_STALE_READS = 8;
/**
 * Names the request path may be waiting for at once. A flood of requests for
 * names that do not exist while the database is slow would otherwise pile up
 * for loadTimeoutMs each; past this they are answered SVC_UNAVAILABLE at once.
 */
const MAX_PENDING_READS = 10_000;

/** What the reader needs of the database handle it serves. */
export interface ReaderHost {
  readonly realm: string;
  readonly pool: pg.Pool;
  readonly url: string;
  /** For messages (no password). */
  readonly location: string;
  readonly mkey: MasterKey;
  readonly view: PrincipalView;
  /** False while the database is away (the change feed lost): the request path does not wait then. */
  connected(): boolean;
  closed(): boolean;
  /** The newest generation a refresh has seen. */
  seenGen(): number;
  /** A principal's policy assignment, read with it. */
  noteAssignment(canonicalName: string, policy: string | undefined): void;
  /** A record installed: set its lockout fields from the note heard meanwhile, or re-apply this KDC's queued events. */
  installed(r: DbPrincipalRecord, note: LockoutNote | undefined): void;
  /** A connection error on the request path: the feed reconnects. */
  lost(e: unknown): void;
  loadTimeoutMs: number;
  interleave?: ((point: 'read:fetched', names: readonly string[]) => void | Promise<void>) | undefined;
}

/** A name asked for by the request path, waiting for its batch's read. */
interface Wanted { name: string; resolve: () => void; reject: (e: unknown) => void }

export class PrincipalReader {
  readonly #h: ReaderHost;
  /** Request-path reads: one promise per name. */
  readonly #loading = new Map<string, Promise<void>>();
  #wanted: Wanted[] = [];
  #batchScheduled = false;
  /** Names being read (request path or refresh), and the last lockout note heard for each meanwhile. */
  readonly #inFlight = new Map<string, number>();
  readonly #notesInFlight = new Map<string, LockoutNote>();
  /** Principals read since the handle was opened. */
  reads = 0;

  constructor(host: ReaderHost) {
    this.#h = host;
  }

  /**
   * The request path: reads a principal (or that there is none) into the
   * view; names asked for in one turn of the event loop share one
   * statement. Rejects (UNREACHABLE) while the database is away, past
   * MAX_PENDING_READS, or when the read takes longer than loadTimeoutMs.
   */
  load(canonicalName: string): Promise<void> {
    const h = this.#h;
    if (h.view.holds(canonicalName)) return Promise.resolve();
    const known = this.#loading.get(canonicalName);
    if (known !== undefined) return known;
    if (h.closed() || !h.connected()) return Promise.reject(new KdcDbError('UNREACHABLE', `the database at ${h.location} is away; ${canonicalName} is not in memory`));
    if (this.#loading.size >= MAX_PENDING_READS) return Promise.reject(new KdcDbError('UNREACHABLE', `${MAX_PENDING_READS} principals are being read from the database at ${h.location} already`));
    const p = new Promise<void>((resolve, reject) => {
      this.#wanted.push({ name: canonicalName, resolve, reject });
      if (!this.#batchScheduled) {
        this.#batchScheduled = true;
        setImmediate(() => this.#readWanted());
      }
    });
    this.#loading.set(canonicalName, p);
    const done = (): void => void this.#loading.delete(canonicalName);
    p.then(done, done);
    return p;
  }

  #readWanted(): void {
    const h = this.#h;
    this.#batchScheduled = false;
    const batch = this.#wanted;
    this.#wanted = [];
    for (let i = 0; i < batch.length; i += READ_SLICE) {
      const part = batch.slice(i, i + READ_SLICE);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KdcDbError('UNREACHABLE', `the database at ${h.location} did not answer within ${h.loadTimeoutMs} ms`)), h.loadTimeoutMs);
      });
      Promise.race([this.read(part.map((w) => w.name)), timeout]).then(
        () => {
          clearTimeout(timer);
          for (const w of part) w.resolve();
        },
        (e: unknown) => {
          clearTimeout(timer);
          if (isConnectionError(e)) h.lost(e);
          const err = isConnectionError(e) ? unreachable(h.url, e) : e;
          for (const w of part) w.reject(err);
        },
      );
    }
  }

  /**
   * Reads the named principals (at most READ_SLICE) and installs what it
   * finds, and the absence of the others, unless a refresh saw a newer
   * generation than the read's snapshot meanwhile: then reads again.
   */
  async read(names: readonly string[]): Promise<void> {
    const h = this.#h;
    for (const n of names) this.#inFlight.set(n, (this.#inFlight.get(n) ?? 0) + 1);
    try {
      for (let tries = 0; ; tries++) {
        const got = await readPrincipals(h.pool, names);
        await h.interleave?.('read:fetched', names);
        if (h.closed()) return;
        if (got.gen < h.seenGen()) {
          if (tries < MAX_STALE_READS) continue;
          throw new KdcDbError('CORRUPT', `the database at ${h.location} keeps answering at generation ${got.gen}, older than ${h.seenGen()}`);
        }
        const found = new Set<string>();
        for (const n of names) h.noteAssignment(n, got.policies.get(n));
        for (const row of got.rows) {
          const r = recordFromRows(h.realm, h.mkey, row, got.keys.get(row.name) ?? []);
          found.add(row.name);
          h.view.install(r, row.gen);
          this.reads++;
          h.installed(r, this.#notesInFlight.get(row.name));
        }
        for (const n of names) if (!found.has(n)) h.view.markAbsent(n);
        return;
      }
    } finally {
      for (const n of names) {
        const left = (this.#inFlight.get(n) ?? 1) - 1;
        if (left > 0) this.#inFlight.set(n, left);
        else {
          this.#inFlight.delete(n);
          this.#notesInFlight.delete(n);
        }
      }
    }
  }

  /** Administration: the names given, read into the view where it holds nothing for them. */
  async ensure(names: readonly string[]): Promise<void> {
    const h = this.#h;
    const missing = [...new Set(names)].filter((n) => !h.view.holds(n));
    try {
      for (let i = 0; i < missing.length; i += READ_SLICE) await this.read(missing.slice(i, i + READ_SLICE));
    } catch (e) {
      throw isConnectionError(e) ? unreachable(h.url, e) : e;
    }
  }

  /** A lockout note for a name: kept if the name is being read (the read may predate it). */
  noteHeard(m: LockoutNote): void {
    if (this.#inFlight.has(m.n)) this.#notesInFlight.set(m.n, m);
  }
}
