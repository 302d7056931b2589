/**
 * The in-memory view both stores serve the exchanges from: every principal
 * with its keys decrypted, indexed by components (the wire's lookups) and by
 * canonical name (administration), with the row generation each record was
 * loaded from; and the queue of lockout events not yet written.
 */
import type { KeytabEntry } from '@kpop/common';
import { KdcDbError } from './errors.js';
import { applyFailure, applySuccess, type LockoutFields } from './lockout.js';
import { componentsKey, globMatch, resolveName } from './names.js';
import type { DbPrincipalRecord } from './schema.js';
import type { LockoutPolicy, PrincipalRecord } from './types.js';

/** `gen`: the row generation of the record this KDC held when the event happened. */
export type LockoutEvent = { kind: 'failure' | 'success'; at: Date; gen: number };
/** Failures kept per principal between flushes; more add nothing once a lockout is reached. */
const MAX_EVENTS_PER_PRINCIPAL = 256;

export class PrincipalView {
  readonly #byKey = new Map<string, DbPrincipalRecord>();
  readonly #byName = new Map<string, DbPrincipalRecord>();
  /** Canonical name → the `gen` of the row each in-memory record was loaded from. */
  readonly #rowGen = new Map<string, number>();

  constructor(readonly realm: string) {}

  get size(): number {
    return this.#byName.size;
  }

  lookup(nameString: readonly string[]): PrincipalRecord | undefined {
    const r = this.#byKey.get(componentsKey(nameString));
    if (r === undefined) return undefined;
    const c = r.principal.name.nameString;
    if (c.length !== nameString.length) return undefined;
    for (let i = 0; i < c.length; i++) if (c[i] !== nameString[i]) return undefined;
    return r;
  }

  byName(canonicalName: string): DbPrincipalRecord | undefined {
    return this.#byName.get(canonicalName);
  }

  rowGen(canonicalName: string): number {
    return this.#rowGen.get(canonicalName) ?? 0;
  }

  install(r: DbPrincipalRecord, gen: number): void {
    this.#byName.set(r.canonicalName, r);
    this.#rowGen.set(r.canonicalName, gen);
    this.#byKey.set(componentsKey(r.principal.name.nameString), r);
  }

  remove(canonicalName: string): void {
    const old = this.#byName.get(canonicalName);
    if (old === undefined) return;
    this.#byName.delete(canonicalName);
    this.#rowGen.delete(canonicalName);
    this.#byKey.delete(componentsKey(old.principal.name.nameString));
  }

  clear(): void {
    this.#byKey.clear();
    this.#byName.clear();
    this.#rowGen.clear();
  }

  /** An administrator's name ('alice', 'pop/host@REALM') to its record. */
  get(name: string): DbPrincipalRecord | undefined {
    return this.#byName.get(resolveName(name, this.realm).canonicalName);
  }

  require(name: string): DbPrincipalRecord {
    const r = this.get(name);
    if (r === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${resolveName(name, this.realm).canonicalName} does not exist`);
    return r;
  }

  /** Sorted canonical names; a glob without '@' is matched against the name in this realm, as kadmin does. */
  list(glob?: string): string[] {
    const names = [...this.#byName.keys()];
    const pattern = glob === undefined || glob === '' ? undefined : glob.includes('@') ? glob : `${glob}@${this.realm}`;
    return (pattern === undefined ? names : names.filter((n) => globMatch(pattern, n))).sort();
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
    if (ev.kind === 'failure') applyFailure(f, ev.at, policy);
    else applySuccess(f, ev.at);
  }
  return f;
}
