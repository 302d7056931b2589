/**
 * Password policies, as MIT kadmin's (kadm5 policy entries, server_misc.c
 * passwd_check, svr_principal.c's history): a policy is a named set of
 * limits that principals point to.
 *
 *   policies          one row per policy (MIT's field names in comments)
 *   principal_policy  which policy a principal has (none: no row)
 *   password_history  keys of earlier passwords, encrypted under the master
 *                     key as principal_keys are, for the history check
 *
 * What makes a password acceptable, and the words of a refusal, are in
 * password-quality.ts. The tables are created on open when missing (CREATE TABLE IF NOT EXISTS),
 * so a realm made before policies existed gains them on its first start
 * without a schema version change. Every write bumps the realm generation,
 * as principal writes do, so running KDCs reload on their next refresh().
 */
import { timingSafeEqual } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import { getEnctype } from '@kpop/common';
import { KdcDbError } from './errors.js';
import type { MasterKey } from './master-key.js';
import type { LockoutPolicy, PrincipalKey, PrincipalRecord } from './types.js';

/** The policies table's columns, the same in SQLite and PostgreSQL (pg/schema.ts). */
export const POLICY_COLUMNS = `
  name TEXT PRIMARY KEY,
  min_length INTEGER NOT NULL,
  min_classes INTEGER NOT NULL,
  history INTEGER NOT NULL,
  max_life INTEGER NOT NULL,
  min_life INTEGER NOT NULL,
  max_failure INTEGER NOT NULL,
  failure_interval INTEGER NOT NULL,
  lockout_duration INTEGER NOT NULL
`;

export const POLICY_DDL = `
CREATE TABLE IF NOT EXISTS policies (${POLICY_COLUMNS}) STRICT;
CREATE TABLE IF NOT EXISTS principal_policy (
  principal TEXT PRIMARY KEY REFERENCES principals (name) ON DELETE CASCADE,
  policy TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS password_history (
  principal TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
  kvno INTEGER NOT NULL,
  etype INTEGER NOT NULL,
  salt TEXT NOT NULL,
  s2kparams BLOB,
  key_enc BLOB NOT NULL,
  PRIMARY KEY (principal, kvno, etype)
) STRICT;
`;

/** A policy, with kadmin's units: lengths and counts, times in seconds (0 = no limit). */
export interface PasswordPolicy {
  name: string;
  /** pw_min_length */
  minLength: number;
  /** pw_min_classes (1..5) */
  minClasses: number;
  /** pw_history_num: the current password and this many minus one earlier ones are refused */
  history: number;
  /** pw_max_life: a new password expires after this long */
  maxLife: number;
  /** pw_min_life: a user may not change the password again before this long */
  minLife: number;
  /** pw_max_fail: lock after this many failed pre-authentications (0 = never) */
  maxFailure: number;
  /** pw_failcnt_interval */
  failureCountInterval: number;
  /** pw_lockout_duration (0 = until unlocked) */
  lockoutDuration: number;
}

export type PolicyChanges = Partial<Omit<PasswordPolicy, 'name'>>;

/** What `kdc dump` adds for policies (see PolicyStore.exportAll). */
export interface PolicyDump {
  policies: PasswordPolicy[];
  assignments: { principal: string; policy: string }[];
  history: { principal: string; kvno: number; etype: number; salt: string; s2kparams?: string; key: string }[];
}

/** kadmin's defaults for a new policy (addpol with no options). */
export const DEFAULT_POLICY: Omit<PasswordPolicy, 'name'> = { minLength: 1, minClasses: 1, history: 1, maxLife: 0, minLife: 0, maxFailure: 0, failureCountInterval: 0, lockoutDuration: 0 };

export interface PolicyRow { name: string; min_length: number; min_classes: number; history: number; max_life: number; min_life: number; max_failure: number; failure_interval: number; lockout_duration: number }
export interface HistoryRow { principal: string; kvno: number; etype: number; salt: string; s2kparams: Uint8Array | null; key_enc: Uint8Array }

export const fromRow = (r: PolicyRow): PasswordPolicy => ({
  name: r.name, minLength: r.min_length, minClasses: r.min_classes, history: r.history, maxLife: r.max_life, minLife: r.min_life,
  maxFailure: r.max_failure, failureCountInterval: r.failure_interval, lockoutDuration: r.lockout_duration,
});

const LIMITS: Record<keyof PolicyChanges, [number, number]> = {
  minLength: [0, 0x7fffffff], minClasses: [1, 5], history: [1, 0x7fffffff], maxLife: [0, 0x7fffffff], minLife: [0, 0x7fffffff],
  maxFailure: [0, 0x7fffffff], failureCountInterval: [0, 0x7fffffff], lockoutDuration: [0, 0x7fffffff],
};

export function checkChanges(c: PolicyChanges): void {
  for (const [k, v] of Object.entries(c)) {
    const lim = LIMITS[k as keyof PolicyChanges];
    if (lim === undefined) throw new KdcDbError('BAD_ARGUMENT', `unknown policy field ${k}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lim[0] || v > lim[1]) throw new KdcDbError('BAD_ARGUMENT', `policy ${k} must be a whole number from ${lim[0]} to ${lim[1]}, got ${String(v)}`);
  }
}

export function checkPolicyName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024 || /[\0-\x1f]/.test(name)) throw new KdcDbError('BAD_ARGUMENT', `"${String(name)}" is not a usable policy name`);
  return name;
}

/** Principal-to-policy answers remembered between reloads. */
const ASSIGNMENTS_REMEMBERED = 20_000;

/** The AAD of a history key blob: distinct from a current key's (schema.ts keyAad). */
export const historyAad = (name: string, kvno: number, etype: number): string => `history|${name}|${kvno}|${etype}`;

/**
 * The policy half of the database: policies, which principal has which, and
 * the history of old password keys. Policies are few and read on every
 * lockout decision: held whole. Which principal has which policy is read on
 * demand and remembered (a realm of 100,000 principals each with a policy
 * is not read at open); reload() runs on every refresh that saw the
 * generation move and forgets both.
 */
export class PolicyStore implements PolicyAdmin {
  readonly #db: BetterSqlite3.Database;
  readonly #mkey: MasterKey;
  #policies = new Map<string, PasswordPolicy>();
  /** Canonical name → its policy name, or null for none; filled on demand, bounded. */
  #assigned = new Map<string, string | null>();
  readonly #assignedOf: BetterSqlite3.Statement<[string], string>;
  readonly #bump: () => void;

  constructor(db: BetterSqlite3.Database, mkey: MasterKey) {
    this.#db = db;
    this.#mkey = mkey;
    db.exec(POLICY_DDL);
    const bump = db.prepare("UPDATE meta SET v = CAST(CAST(v AS INTEGER) + 1 AS TEXT) WHERE k = 'generation'");
    this.#bump = () => void bump.run();
    this.#assignedOf = db.prepare<[string], string>('SELECT policy FROM principal_policy WHERE principal = ?').pluck();
    this.reload();
  }

  reload(): void {
    this.#policies = new Map(this.#db.prepare<[], PolicyRow>('SELECT * FROM policies').all().map((r) => [r.name, fromRow(r)]));
    this.#assigned.clear();
  }

  get(name: string): PasswordPolicy | undefined {
    return this.#policies.get(name);
  }

  list(): string[] {
    return [...this.#policies.keys()].sort();
  }

  /** The policy a principal has (its name, even when the policy was since deleted: MIT shows it too). */
  policyNameOf(canonicalName: string): string | undefined {
    let n = this.#assigned.get(canonicalName);
    if (n === undefined) {
      n = this.#assignedOf.get(canonicalName) ?? null;
      if (this.#assigned.size >= ASSIGNMENTS_REMEMBERED) this.#assigned.clear();
      this.#assigned.set(canonicalName, n);
    }
    return n ?? undefined;
  }

  policyOf(canonicalName: string): PasswordPolicy | undefined {
    const n = this.policyNameOf(canonicalName);
    return n === undefined ? undefined : this.#policies.get(n);
  }

  /** The lockout limits of the principal's policy, when it sets any (else the realm's apply). */
  lockoutOf(canonicalName: string): LockoutPolicy | undefined {
    const p = this.policyOf(canonicalName);
    if (p === undefined || p.maxFailure === 0) return undefined;
    return { maxFailures: p.maxFailure, failureWindow: p.failureCountInterval, lockoutDuration: p.lockoutDuration };
  }

  add(name: string, c: PolicyChanges): PasswordPolicy {
    checkPolicyName(name);
    checkChanges(c);
    const p: PasswordPolicy = { name, ...DEFAULT_POLICY, ...c };
    this.#db.transaction(() => {
      if (this.#db.prepare('SELECT 1 FROM policies WHERE name = ?').get(name) !== undefined) throw new KdcDbError('DUPLICATE', `policy ${name} already exists`);
      this.#write(p);
    }).immediate();
    this.reload();
    return p;
  }

  modify(name: string, c: PolicyChanges): PasswordPolicy {
    const old = this.#require(name);
    checkChanges(c);
    const p: PasswordPolicy = { ...old, ...c };
    this.#db.transaction(() => this.#write(p)).immediate();
    this.reload();
    return p;
  }

  delete(name: string): void {
    this.#require(name);
    const users = this.#db.prepare<[string], number>('SELECT COUNT(*) FROM principal_policy WHERE policy = ?').pluck().get(name) ?? 0;
    // kadm5 KADM5_POLICY_REF: MIT refuses to delete a policy principals still use.
    if (users > 0) throw new KdcDbError('BAD_ARGUMENT', `Policy is in use: ${users} principal${users === 1 ? '' : 's'} still ${users === 1 ? 'has' : 'have'} policy ${name}`);
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM policies WHERE name = ?').run(name);
      this.#bump();
    }).immediate();
    this.reload();
  }

  /** Gives a principal a policy (undefined: none). The principal must exist. */
  assign(canonicalName: string, policy: string | undefined): void {
    if (policy !== undefined) this.#require(policy);
    this.#db.transaction(() => {
      if (policy === undefined) this.#db.prepare('DELETE FROM principal_policy WHERE principal = ?').run(canonicalName);
      else this.#db.prepare('INSERT INTO principal_policy (principal, policy) VALUES (?, ?) ON CONFLICT (principal) DO UPDATE SET policy = excluded.policy').run(canonicalName, policy);
      this.#bump();
    }).immediate();
    this.reload();
  }

  #require(name: string): PasswordPolicy {
    const p = this.#policies.get(name);
    if (p === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `Policy does not exist: ${name}`);
    return p;
  }

  #write(p: PasswordPolicy): void {
    this.#db.prepare(`INSERT INTO policies (name, min_length, min_classes, history, max_life, min_life, max_failure, failure_interval, lockout_duration)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET min_length = excluded.min_length, min_classes = excluded.min_classes,
      history = excluded.history, max_life = excluded.max_life, min_life = excluded.min_life, max_failure = excluded.max_failure,
      failure_interval = excluded.failure_interval, lockout_duration = excluded.lockout_duration`)
      .run(p.name, p.minLength, p.minClasses, p.history, p.maxLife, p.minLife, p.maxFailure, p.failureCountInterval, p.lockoutDuration);
    this.#bump();
  }

  /**
   * Policies, assignments and history for `kdc dump` (history keys stay
   * encrypted under the master key, base64, as the dump's principal keys).
   */
  exportAll(): PolicyDump {
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    return {
      policies: this.list().map((n) => this.#policies.get(n)!),
      assignments: this.#db.prepare<[], { principal: string; policy: string }>('SELECT principal, policy FROM principal_policy').all().sort((a, b) => (a.principal < b.principal ? -1 : 1)),
      history: this.#db.prepare<[], HistoryRow>('SELECT * FROM password_history ORDER BY principal, kvno DESC, etype').all().map((h) => ({
        principal: h.principal, kvno: h.kvno, etype: h.etype, salt: h.salt, ...(h.s2kparams !== null ? { s2kparams: b64(h.s2kparams) } : {}), key: b64(h.key_enc),
      })),
    };
  }

  /**
   * `kdc load`: checks everything first (fields, names, that each history key
   * opens under this master key), then replaces the policies (or, with
   * update, adds and overwrites). Assignments and history of principals the
   * database does not hold are refused.
   */
  importAll(input: unknown, update: boolean, check?: { principals: ReadonlySet<string> }): void {
    const inDb = this.#db.prepare<[string], number>('SELECT 1 FROM principals WHERE name = ?').pluck();
    // A dry run (before the principals are loaded) checks names against the dump's principals.
    const exists = (n: string): boolean => (check !== undefined ? check.principals.has(n) || (update && inDb.get(n) !== undefined) : inDb.get(n) !== undefined);
    const { policies, assignments, history } = parsePolicyImport(input, update ? this.list() : [], exists, this.#mkey);
    if (check !== undefined) return;
    this.#db.transaction(() => {
      if (!update) {
        this.#db.prepare('DELETE FROM principal_policy').run();
        this.#db.prepare('DELETE FROM policies').run();
      }
      for (const p of policies) this.#write(p);
      const assign = this.#db.prepare('INSERT INTO principal_policy (principal, policy) VALUES (?, ?) ON CONFLICT (principal) DO UPDATE SET policy = excluded.policy');
      for (const a of assignments) assign.run(a.principal, a.policy);
      const put = this.#db.prepare('INSERT OR REPLACE INTO password_history (principal, kvno, etype, salt, s2kparams, key_enc) VALUES (?, ?, ?, ?, ?, ?)');
      for (const h of history) put.run(h.principal, h.kvno, h.etype, h.salt, h.s2k, h.key_enc);
      this.#bump();
    }).immediate();
    this.reload();
  }

  /** Old password keys of a principal, newest kvno first. */
  history(canonicalName: string): PrincipalKey[] {
    return this.#db.prepare<[string], HistoryRow>('SELECT * FROM password_history WHERE principal = ? ORDER BY kvno DESC').all(canonicalName).map((k) => ({
      kvno: k.kvno, etype: k.etype, salt: k.salt, key: this.#mkey.decrypt(k.key_enc, historyAad(canonicalName, k.kvno, k.etype)),
      ...(k.s2kparams !== null ? { s2kparams: new Uint8Array(k.s2kparams) } : {}),
    }));
  }

  /**
   * True when `password` makes the same key as the current one or one of
   * the last history-1 old ones (MIT's check_pw_reuse: one key per kvno,
   * compared in constant time).
   */
  isReused(r: PrincipalRecord, password: string, history: number): boolean {
    if (history <= 1) return false;
    return passwordReused(r, password, history, this.history(r.canonicalName));
  }

  /** Keeps the keys being replaced (the current kvno's) and trims to the newest `keep` kvnos. */
  remember(r: PrincipalRecord, keep: number): void {
    const current = r.keys.filter((k) => k.kvno === r.kvno);
    this.#db.transaction(() => {
      const put = this.#db.prepare('INSERT OR REPLACE INTO password_history (principal, kvno, etype, salt, s2kparams, key_enc) VALUES (?, ?, ?, ?, ?, ?)');
      for (const k of current) put.run(r.canonicalName, k.kvno, k.etype, k.salt, k.s2kparams ?? null, this.#mkey.encrypt(k.key, historyAad(r.canonicalName, k.kvno, k.etype)));
      const kvnos = this.#db.prepare<[string], number>('SELECT DISTINCT kvno FROM password_history WHERE principal = ? ORDER BY kvno DESC').pluck().all(r.canonicalName);
      const drop = this.#db.prepare('DELETE FROM password_history WHERE principal = ? AND kvno = ?');
      for (const v of kvnos.slice(Math.max(keep, 0))) drop.run(r.canonicalName, v);
    }).immediate();
  }
}

/** The policy part of a dump, checked (fields, names, each history key opens under `mkey`); nothing written. */
export function parsePolicyImport(input: unknown, keptPolicies: readonly string[], principalExists: (name: string) => boolean, mkey: MasterKey) {
  const bad = (what: string): never => {
    throw new KdcDbError('BAD_DUMP', `dump policies: ${what}`);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(input) || !Array.isArray(input.policies) || !Array.isArray(input.assignments) || !Array.isArray(input.history)) bad('expected policies, assignments and history arrays');
  const d = input as unknown as PolicyDump;
  const policies = d.policies.map((p, i) => {
    if (!isObj(p)) bad(`policies[${i}] is not an object`);
    const { name, ...rest } = p;
    try {
      checkPolicyName(name);
      checkChanges(rest);
    } catch (e) {
      bad(`policies[${i}]: ${(e as Error).message}`);
    }
    return { name, ...DEFAULT_POLICY, ...rest } as PasswordPolicy;
  });
  const names = new Set([...policies.map((p) => p.name), ...keptPolicies]);
  for (const [i, a] of d.assignments.entries()) {
    if (!isObj(a) || typeof a.principal !== 'string' || typeof a.policy !== 'string') bad(`assignments[${i}] is not {principal, policy}`);
    if (!principalExists(a.principal)) bad(`assignments[${i}]: no principal ${a.principal}`);
    if (!names.has(a.policy)) bad(`assignments[${i}]: no policy ${a.policy}`);
  }
  const history = d.history.map((h, i) => {
    if (!isObj(h) || typeof h.principal !== 'string' || !Number.isInteger(h.kvno) || !Number.isInteger(h.etype) || typeof h.salt !== 'string' || typeof h.key !== 'string') bad(`history[${i}] is malformed`);
    if (!principalExists(h.principal)) bad(`history[${i}]: no principal ${h.principal}`);
    const key = Buffer.from(h.key, 'base64');
    try {
      mkey.decrypt(key, historyAad(h.principal, h.kvno, h.etype));
    } catch {
      bad(`history[${i}] does not open under this database's master key`);
    }
    return { ...h, key_enc: key, s2k: h.s2kparams === undefined ? null : Buffer.from(h.s2kparams, 'base64') };
  });
  return { policies, assignments: d.assignments, history };
}

/**
 * True when `password` makes the same key as the current one or one of the
 * last history-1 old ones in `older` (MIT's check_pw_reuse: one key per
 * kvno, compared in constant time).
 */
export function passwordReused(r: PrincipalRecord, password: string, history: number, older: readonly PrincipalKey[]): boolean {
  if (history <= 1) return false;
  const kvnos = [...new Set(older.map((k) => k.kvno))].slice(0, history - 1);
  const candidates = [...r.keys.filter((k) => k.kvno === r.kvno), ...older.filter((k) => kvnos.includes(k.kvno))];
  const seen = new Set<string>();
  for (const k of candidates) {
    const tag = `${k.kvno}`;
    if (seen.has(tag)) continue;
    seen.add(tag);
    const made = getEnctype(k.etype).stringToKey(password, k.salt, k.s2kparams);
    if (made.length === k.key.length && timingSafeEqual(made, k.key)) return true;
  }
  return false;
}

type Awaitable<T> = T | Promise<T>;

/**
 * The policy half of a realm database, as the CLI and the kpasswd service
 * use it: reads from memory, writes (and the history, which stays in the
 * database) synchronous in SQLite (PolicyStore), asynchronous in PostgreSQL.
 */
export interface PolicyAdmin {
  get(name: string): PasswordPolicy | undefined;
  list(): string[];
  /**
   * The policy of a principal, policyOf and lockoutOf too: on PostgreSQL of a
   * principal this handle has read (getPrincipal, a lookup), as assignments
   * are read with their principals; undefined for one it has not.
   */
  policyNameOf(canonicalName: string): string | undefined;
  policyOf(canonicalName: string): PasswordPolicy | undefined;
  lockoutOf(canonicalName: string): LockoutPolicy | undefined;
  add(name: string, c: PolicyChanges): Awaitable<PasswordPolicy>;
  modify(name: string, c: PolicyChanges): Awaitable<PasswordPolicy>;
  delete(name: string): Awaitable<void>;
  assign(canonicalName: string, policy: string | undefined): Awaitable<void>;
  exportAll(): Awaitable<PolicyDump>;
  importAll(input: unknown, update: boolean, check?: { principals: ReadonlySet<string> }): Awaitable<void>;
  history(canonicalName: string): Awaitable<PrincipalKey[]>;
  isReused(r: PrincipalRecord, password: string, history: number): Awaitable<boolean>;
  remember(r: PrincipalRecord, keep: number): Awaitable<void>;
}
