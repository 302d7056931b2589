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
/** What the exchanges read, synchronously, from memory. */
export interface PrincipalStore {
  readonly realm: string;
  settings(): RealmSettings;
  /** Lookup by components (name type ignored), in this store's realm. */
  lookup(nameString: readonly string[]): PrincipalRecord | undefined;
  /** Batched, never a synchronous disk write on the request path. */
  recordFailure(canonicalName: string, at: Date): void;
  recordSuccess(canonicalName: string, at: Date): void;
}
