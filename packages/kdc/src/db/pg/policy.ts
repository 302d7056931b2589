/**
 * Password policies in PostgreSQL: the SQLite PolicyStore's behaviour
 * (../policy.ts: the checks, the import's validation and the reuse test are
 * the same functions). The policies (a handful) are read whole on each
 * refresh; a principal's assignment is read with the principal, on demand
 * (a million principals with the default policy must not be a million rows
 * per refresh), and kept while the principal is. Every write goes through
 * the database's generation and change notification, and an assignment
 * also moves its principal's gen, so every KDC holding that principal
 * reads it again and applies the new policy's lockout limits.
 */
import type pg from 'pg';
import { KdcDbError } from '../errors.js';
import type { MasterKey } from '../master-key.js';
import {
  checkChanges, checkPolicyName, DEFAULT_POLICY, fromRow, historyAad, parsePolicyImport, passwordReused,
  type HistoryRow, type PasswordPolicy, type PolicyAdmin, type PolicyChanges, type PolicyDump, type PolicyRow,
} from '../policy.js';
import type { LockoutPolicy, PrincipalKey, PrincipalRecord } from '../types.js';
import { inTransaction, isConnectionError, unreachable } from './connection.js';

type Client = pg.PoolClient | pg.Client;
type Write = (fn: (c: Client, gen: number) => Promise<void>) => Promise<void>;

const UPSERT = `INSERT INTO policies (name, min_length, min_classes, history, max_life, min_life, max_failure, failure_interval, lockout_duration)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO UPDATE SET min_length = EXCLUDED.min_length, min_classes = EXCLUDED.min_classes,
  history = EXCLUDED.history, max_life = EXCLUDED.max_life, min_life = EXCLUDED.min_life, max_failure = EXCLUDED.max_failure,
  failure_interval = EXCLUDED.failure_interval, lockout_duration = EXCLUDED.lockout_duration`;
const ASSIGN = 'INSERT INTO principal_policy (principal, policy) VALUES ($1, $2) ON CONFLICT (principal) DO UPDATE SET policy = EXCLUDED.policy';
const PUT_HISTORY = `INSERT INTO password_history (principal, kvno, etype, salt, s2kparams, key_enc) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (principal, kvno, etype) DO UPDATE SET salt = EXCLUDED.salt, s2kparams = EXCLUDED.s2kparams, key_enc = EXCLUDED.key_enc`;

const upsert = (c: Client, p: PasswordPolicy) =>
  c.query(UPSERT, [p.name, p.minLength, p.minClasses, p.history, p.maxLife, p.minLife, p.maxFailure, p.failureCountInterval, p.lockoutDuration]);

export class PgPolicyStore implements PolicyAdmin {
  readonly #pool: pg.Pool;
  readonly #mkey: MasterKey;
  readonly #url: string;
  readonly #write: Write;
  readonly #catchUp: () => Promise<void>;
  #policies = new Map<string, PasswordPolicy>();
  /** The assignments of the principals read (database.ts notes each read); pruned to those still held. */
  #assigned = new Map<string, string>();
  /** Whether the principal view still holds a name (assignments of the others are dropped now and then). */
  readonly #held: (canonicalName: string) => boolean;

  constructor(pool: pg.Pool, mkey: MasterKey, url: string, write: Write, catchUp: () => Promise<void>, held: (canonicalName: string) => boolean) {
    this.#pool = pool;
    this.#mkey = mkey;
    this.#url = url;
    this.#write = write;
    this.#catchUp = catchUp;
    this.#held = held;
  }

  /** From a refresh's snapshot. */
  setAll(policies: readonly PolicyRow[]): void {
    this.#policies = new Map(policies.map((r) => [r.name, fromRow(r)]));
  }

  /** A principal was read: its policy, or none. */
  noteAssignment(canonicalName: string, policy: string | undefined): void {
    if (policy === undefined) {
      this.#assigned.delete(canonicalName);
      return;
    }
    this.#assigned.set(canonicalName, policy);
    // Keep the map about as large as the view: drop what the view has evicted.
    if (this.#assigned.size > 1024 && this.#assigned.size % 1024 === 0) {
      for (const n of this.#assigned.keys()) if (!this.#held(n)) this.#assigned.delete(n);
    }
  }

  get(name: string): PasswordPolicy | undefined {
    return this.#policies.get(name);
  }

  list(): string[] {
    return [...this.#policies.keys()].sort();
  }

  policyNameOf(canonicalName: string): string | undefined {
    return this.#assigned.get(canonicalName);
  }

  policyOf(canonicalName: string): PasswordPolicy | undefined {
    const n = this.#assigned.get(canonicalName);
    return n === undefined ? undefined : this.#policies.get(n);
  }

  lockoutOf(canonicalName: string): LockoutPolicy | undefined {
    const p = this.policyOf(canonicalName);
    if (p === undefined || p.maxFailure === 0) return undefined;
    return { maxFailures: p.maxFailure, failureWindow: p.failureCountInterval, lockoutDuration: p.lockoutDuration };
  }

  #require(name: string): PasswordPolicy {
    const p = this.#policies.get(name);
    if (p === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `Policy does not exist: ${name}`);
    return p;
  }

  async add(name: string, c: PolicyChanges): Promise<PasswordPolicy> {
    checkPolicyName(name);
    checkChanges(c);
    const p: PasswordPolicy = { name, ...DEFAULT_POLICY, ...c };
    await this.#write(async (cl) => {
      if ((await cl.query('SELECT 1 FROM policies WHERE name = $1', [name])).rowCount !== 0) throw new KdcDbError('DUPLICATE', `policy ${name} already exists`);
      await upsert(cl, p);
    });
    return p;
  }

  async modify(name: string, c: PolicyChanges): Promise<PasswordPolicy> {
    const old = this.#require(name);
    checkChanges(c);
    const p: PasswordPolicy = { ...old, ...c };
    await this.#write(async (cl) => void (await upsert(cl, p)));
    return p;
  }

  async delete(name: string): Promise<void> {
    this.#require(name);
    await this.#write(async (cl) => {
      const users = Number((await cl.query<{ n: string }>('SELECT COUNT(*) AS n FROM principal_policy WHERE policy = $1', [name])).rows[0]?.n ?? 0);
      // kadm5 KADM5_POLICY_REF: MIT refuses to delete a policy principals still use.
      if (users > 0) throw new KdcDbError('BAD_ARGUMENT', `Policy is in use: ${users} principal${users === 1 ? '' : 's'} still ${users === 1 ? 'has' : 'have'} policy ${name}`);
      await cl.query('DELETE FROM policies WHERE name = $1', [name]);
    });
  }

  async assign(canonicalName: string, policy: string | undefined): Promise<void> {
    if (policy !== undefined) this.#require(policy);
    await this.#write(async (cl, gen) => {
      if (policy === undefined) await cl.query('DELETE FROM principal_policy WHERE principal = $1', [canonicalName]);
      else await cl.query(ASSIGN, [canonicalName, policy]);
      // The change feed names the principal: KDCs holding it read it (and its policy) again.
      await cl.query('UPDATE principals SET gen = $2 WHERE name = $1', [canonicalName, gen]);
    });
  }

  async exportAll(): Promise<PolicyDump> {
    await this.#catchUp();
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    const history = await this.#query<HistoryRow>('SELECT principal, kvno, etype, salt, s2kparams, key_enc FROM password_history ORDER BY principal, kvno DESC, etype');
    const assignments = await this.#query<{ principal: string; policy: string }>('SELECT principal, policy FROM principal_policy');
    return {
      policies: this.list().map((n) => this.#policies.get(n)!),
      assignments: assignments.sort((a, b) => (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0)),
      history: history.map((h) => ({ principal: h.principal, kvno: h.kvno, etype: h.etype, salt: h.salt, ...(h.s2kparams !== null ? { s2kparams: b64(h.s2kparams) } : {}), key: b64(h.key_enc) })),
    };
  }

  async importAll(input: unknown, update: boolean, check?: { principals: ReadonlySet<string> }): Promise<void> {
    const inDb = new Set((await this.#query<{ name: string }>('SELECT name FROM principals')).map((r) => r.name));
    // A dry run (before the principals are loaded) checks names against the dump's principals.
    const exists = (n: string): boolean => (check !== undefined ? check.principals.has(n) || (update && inDb.has(n)) : inDb.has(n));
    const { policies, assignments, history } = parsePolicyImport(input, update ? this.list() : [], exists, this.#mkey);
    if (check !== undefined) return;
    await this.#write(async (cl, gen) => {
      if (!update) {
        // Principals losing their assignment are changes too (see assign()).
        await cl.query('UPDATE principals SET gen = $1 WHERE name IN (SELECT principal FROM principal_policy)', [gen]);
        await cl.query('DELETE FROM principal_policy');
        await cl.query('DELETE FROM policies');
      }
      for (const p of policies) await upsert(cl, p);
      for (const a of assignments) await cl.query(ASSIGN, [a.principal, a.policy]);
      if (assignments.length > 0) await cl.query('UPDATE principals SET gen = $1 WHERE name = ANY($2::text[])', [gen, assignments.map((a) => a.principal)]);
      for (const h of history) await cl.query(PUT_HISTORY, [h.principal, h.kvno, h.etype, h.salt, h.s2k, h.key_enc]);
    });
  }

  async history(canonicalName: string): Promise<PrincipalKey[]> {
    const rows = await this.#query<HistoryRow>('SELECT principal, kvno, etype, salt, s2kparams, key_enc FROM password_history WHERE principal = $1 ORDER BY kvno DESC, etype', [canonicalName]);
    return rows.map((k) => ({
      kvno: k.kvno, etype: k.etype, salt: k.salt, key: this.#mkey.decrypt(k.key_enc, historyAad(canonicalName, k.kvno, k.etype)),
      ...(k.s2kparams !== null ? { s2kparams: new Uint8Array(k.s2kparams) } : {}),
    }));
  }

  async isReused(r: PrincipalRecord, password: string, history: number): Promise<boolean> {
    if (history <= 1) return false;
    return passwordReused(r, password, history, await this.history(r.canonicalName));
  }

  /** Keeps the keys being replaced (the current kvno's) and trims to the newest `keep` kvnos. */
  async remember(r: PrincipalRecord, keep: number): Promise<void> {
    const current = r.keys.filter((k) => k.kvno === r.kvno);
    try {
      await inTransaction(this.#pool, 'BEGIN', async (c) => {
        for (const k of current) await c.query(PUT_HISTORY, [r.canonicalName, k.kvno, k.etype, k.salt, k.s2kparams === undefined ? null : Buffer.from(k.s2kparams), Buffer.from(this.#mkey.encrypt(k.key, historyAad(r.canonicalName, k.kvno, k.etype)))]);
        await c.query(`DELETE FROM password_history WHERE principal = $1 AND kvno NOT IN
          (SELECT DISTINCT kvno FROM password_history WHERE principal = $1 ORDER BY kvno DESC LIMIT $2)`, [r.canonicalName, Math.max(keep, 0)]);
      });
    } catch (e) {
      throw isConnectionError(e) ? unreachable(this.#url, e) : e;
    }
  }

  async #query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.#pool.query<T>(sql, params)).rows;
    } catch (e) {
      throw isConnectionError(e) ? unreachable(this.#url, e) : e;
    }
  }
}
