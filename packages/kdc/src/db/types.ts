/**
 * The interface between the KDC's principal database and its exchanges.
 * The exchanges (AS/TGS) see only PrincipalStore: synchronous reads from
 * memory and batched bookkeeping, so that another backend (e.g. a shared
 * PostgreSQL serving several KDCs) can follow without touching them.
 */
import type { Principal } from '@kpop/common';

export interface PrincipalKey { kvno: number; etype: number; key: Uint8Array /* plaintext, only in memory */; salt: string; s2kparams?: Uint8Array }
export interface PrincipalAttributes { requiresPreauth: boolean; disallowForwardable: boolean; disallowProxiable: boolean; disallowRenewable: boolean; disallowPostdated: boolean; disallowSvr: boolean; disallowAllTix: boolean }
export interface PrincipalRecord {
  principal: Principal;            // realm + name (components)
  canonicalName: string;           // 'alice@LAB.TEST', 'pop/localhost@LAB.TEST' (formatPrincipal)
  kvno: number;                    // current kvno
  keys: PrincipalKey[];            // current and older kvnos, newest first
  attributes: PrincipalAttributes;
  maxLife: number; maxRenew: number;   // seconds; 0 = realm default
  expiresAt?: Date; pwExpiresAt?: Date;
  lastSuccess?: Date; lastFailure?: Date; failCount: number; lockedUntil?: Date;
}
export interface LockoutPolicy { maxFailures: number /* 0 = never lock */; failureWindow: number /* s */; lockoutDuration: number /* s */ }
export interface RealmSettings { realm: string; maxLife: number /* default 36000 */; maxRenew: number /* default 604800 */; clockSkew: number /* 300 */; lockout: LockoutPolicy; enctypes: number[] /* keys made for new principals, default [18,17,20,19] */ }
/**
 * Thrown by lookup() of a store that reads principals on demand over the
 * network (PostgreSQL) for a name it holds neither as a record nor as known
 * absent: the caller awaits store.loadPrincipal(canonicalName) and asks again. Not an
 * Error: a miss is expected, and capturing a stack would cost more than it.
 */
export class NotLoaded {
  constructor(readonly canonicalName: string) {}
}

/** What the exchanges read, synchronously, from memory. */
export interface PrincipalStore {
  readonly realm: string;
  settings(): RealmSettings;
  /**
   * Lookup by components (name type ignored), in this store's realm. A store
   * with load() may throw NotLoaded instead of answering from memory.
   */
  lookup(nameString: readonly string[]): PrincipalRecord | undefined;
  /**
   * Stores that read on demand asynchronously: bring a name (a record, or
   * the fact that there is none) into memory, so that lookup() answers it.
   * Rejects when the database cannot be reached.
   */
  loadPrincipal?(canonicalName: string): Promise<void>;
  /** Batched, never a synchronous disk write on the request path. */
  recordFailure(canonicalName: string, at: Date): void;
  recordSuccess(canonicalName: string, at: Date): void;
}

/**
 * lookup(), loading the name first when the store says it must (the kpasswd
 * service, administration, tests): synchronous over a store that answers
 * from memory or a synchronous source (SQLite), a promise otherwise.
 */
export function lookupLoaded(store: PrincipalStore, nameString: readonly string[], tries = 4): PrincipalRecord | undefined | Promise<PrincipalRecord | undefined> {
  try {
    return store.lookup(nameString);
  } catch (e) {
    if (!(e instanceof NotLoaded) || store.loadPrincipal === undefined || tries <= 0) throw e;
    return store.loadPrincipal(e.canonicalName).then(() => lookupLoaded(store, nameString, tries - 1));
  }
}
