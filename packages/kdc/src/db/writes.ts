/**
 * Administrative writes. The pure half (validation, key making, the record
 * and the rows it is stored as) is shared by both stores; principalWriter is
 * SQLite's: each write runs in one IMMEDIATE transaction that also bumps the
 * generation counter, so running KDCs (other processes) reload the rows it
 * touched on their next refresh(). Inputs are validated before any write:
 * bad input changes nothing. (PostgreSQL's writes: pg/writes.ts.)
 */
import type BetterSqlite3 from 'better-sqlite3';
import { defaultSalt, getEnctype, isSupportedEnctype, type Principal } from '@kpop/common';
import { KdcDbError } from './errors.js';
import { passwordKeys, randomKeys } from './keys.js';
import type { MasterKey } from './master-key.js';
import type { ResolvedName } from './names.js';
import { attributesToBits, defaultAttributes, keyAad, toMs, type DbPrincipalRecord, type KeyRow, type PrincipalRow } from './schema.js';
import type { LockoutPolicy, PrincipalAttributes, PrincipalKey, RealmSettings } from './types.js';

/** Key versions kept after a key change: the new one and this many older ones (tickets still out). */
export const OLD_KVNOS_KEPT = 2;
const MAX_U32 = 0xffffffff;
const MAX_SECONDS = 0x7fffffff;

/** A key given as bytes (a test KDC holding the MIT fixtures' keys, a migration). */
export interface KeySpec { etype: number; key: Uint8Array; salt?: string; s2kparams?: Uint8Array }

export interface KeyMaterial {
  password?: string;
  randkey?: boolean;
  keys?: KeySpec[];
  /** Enctypes to make keys in; default the realm's (new principals) or the principal's current ones. */
  enctypes?: number[];
  kvno?: number;
}

export interface AddPrincipalOptions extends KeyMaterial {
  maxLife?: number;
  maxRenew?: number;
  /** Default true, as this realm requires pre-authentication of every principal. */
  requiresPreauth?: boolean;
  expiresAt?: Date;
  pwExpiresAt?: Date;
  attributes?: Partial<PrincipalAttributes>;
}

export interface ModifyPrincipalOptions {
  maxLife?: number;
  maxRenew?: number;
  requiresPreauth?: boolean;
  /** null clears. */
  expiresAt?: Date | null;
  pwExpiresAt?: Date | null;
  attributes?: Partial<PrincipalAttributes>;
  /** Clears the failure count and any lockout. */
  unlock?: boolean;
}

export interface ChangePasswordOptions extends KeyMaterial {
  /** Default true: the previous kvno stays for tickets still out. */
  keepOld?: boolean;
}

export interface SettingsChanges {
  maxLife?: number;
  maxRenew?: number;
  clockSkew?: number;
  lockout?: Partial<LockoutPolicy>;
  enctypes?: number[];
}

export function checkSeconds(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_SECONDS) throw new KdcDbError('BAD_ARGUMENT', `${what} must be a whole number of seconds from 0 to ${MAX_SECONDS}, got ${String(v)}`);
  return v;
}

function checkDate(what: string, d: unknown): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new KdcDbError('BAD_ARGUMENT', `${what} is not a valid date`);
  return d;
}

export function checkEnctypes(list: unknown): number[] {
  if (!Array.isArray(list) || list.length === 0) throw new KdcDbError('BAD_ARGUMENT', 'the enctype list is empty');
  for (const e of list) {
    if (typeof e !== 'number' || !isSupportedEnctype(e)) throw new KdcDbError('BAD_ARGUMENT', `enctype ${String(e)} is not supported`);
  }
  if (new Set(list).size !== list.length) throw new KdcDbError('BAD_ARGUMENT', 'the enctype list names an enctype twice');
  return list as number[];
}

function makeKeys(p: Principal, m: KeyMaterial, kvno: number, defaultEnctypes: number[]): PrincipalKey[] {
  const given = [m.password !== undefined, m.randkey === true, m.keys !== undefined].filter(Boolean).length;
  if (given !== 1) throw new KdcDbError('BAD_ARGUMENT', 'give exactly one of a password, randkey or keys');
  if (m.keys !== undefined) {
    checkEnctypes(m.keys.map((k) => k.etype));
    return m.keys.map((k) => {
      const size = getEnctype(k.etype).keySize;
      if (!(k.key instanceof Uint8Array) || k.key.length !== size) throw new KdcDbError('BAD_ARGUMENT', `a key of enctype ${k.etype} must be ${size} bytes`);
      const pk: PrincipalKey = { kvno, etype: k.etype, key: new Uint8Array(k.key), salt: k.salt ?? defaultSalt(p) };
      if (k.s2kparams !== undefined) pk.s2kparams = new Uint8Array(k.s2kparams);
      return pk;
    });
  }
  const enctypes = checkEnctypes(m.enctypes ?? defaultEnctypes);
  if (m.password !== undefined) {
    if (typeof m.password !== 'string' || m.password.length === 0) throw new KdcDbError('BAD_ARGUMENT', 'the password is empty');
    return passwordKeys(p, m.password, kvno, enctypes);
  }
  return randomKeys(p, kvno, enctypes);
}

function checkKvno(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_U32) throw new KdcDbError('BAD_ARGUMENT', `kvno must be from 1 to ${MAX_U32}, got ${String(v)}`);
  return v;
}

/** A shallow copy whose nested objects can be changed without touching the live record. */
const copy = (r: DbPrincipalRecord): DbPrincipalRecord => ({ ...r, attributes: { ...r.attributes }, keys: [...r.keys] });

function applyCommon(r: DbPrincipalRecord, o: AddPrincipalOptions | ModifyPrincipalOptions): void {
  if (o.maxLife !== undefined) r.maxLife = checkSeconds('max life', o.maxLife);
  if (o.maxRenew !== undefined) r.maxRenew = checkSeconds('max renewable life', o.maxRenew);
  if (o.attributes !== undefined) {
    for (const [k, v] of Object.entries(o.attributes)) {
      if (!(k in r.attributes) || typeof v !== 'boolean') throw new KdcDbError('BAD_ARGUMENT', `unknown attribute ${k}`);
      r.attributes[k as keyof PrincipalAttributes] = v;
    }
  }
  if (o.requiresPreauth !== undefined) r.attributes.requiresPreauth = o.requiresPreauth;
  if (o.expiresAt !== undefined) {
    if (o.expiresAt === null) delete r.expiresAt;
    else r.expiresAt = checkDate('the expiration date', o.expiresAt);
  }
  if (o.pwExpiresAt !== undefined) {
    if (o.pwExpiresAt === null) delete r.pwExpiresAt;
    else r.pwExpiresAt = checkDate('the password expiration date', o.pwExpiresAt);
  }
}

// ---- the pure half of every administrative write, shared by the SQLite and PostgreSQL stores ----

/** The record `addprinc` makes: options checked, keys made; nothing written. */
export function newPrincipalRecord(n: ResolvedName, o: AddPrincipalOptions, settings: RealmSettings, at: Date): DbPrincipalRecord {
  const kvno = checkKvno(o.kvno ?? 1);
  const r: DbPrincipalRecord = {
    principal: n.principal, canonicalName: n.canonicalName, kvno, keys: [], attributes: defaultAttributes(),
    maxLife: 0, maxRenew: 0, failCount: 0, createdAt: at, modifiedAt: at, lastPwChange: at,
  };
  applyCommon(r, o);
  r.keys = makeKeys(n.principal, o, kvno, settings.enctypes);
  return r;
}

/** `modprinc`: a changed copy of the live record (unlock clears the failure count and the lockout). */
export function modifiedRecord(live: DbPrincipalRecord, o: ModifyPrincipalOptions, at: Date): DbPrincipalRecord {
  const r = copy(live);
  applyCommon(r, o);
  if (o.unlock === true) {
    r.failCount = 0;
    delete r.lockedUntil;
  }
  r.modifiedAt = at;
  return r;
}

/** `cpw`: the new kvno's keys, the newest OLD_KVNOS_KEPT older kvnos kept unless keepOld is false. */
export function rekeyedRecord(live: DbPrincipalRecord, o: ChangePasswordOptions, settings: RealmSettings, at: Date): DbPrincipalRecord {
  const r = copy(live);
  const kvno = checkKvno(o.kvno ?? r.kvno + 1);
  const current = live.keys.filter((k) => k.kvno === live.kvno).map((k) => k.etype);
  const fresh = makeKeys(r.principal, o, kvno, current.length > 0 ? current : settings.enctypes);
  let old: PrincipalKey[] = [];
  if (o.keepOld !== false) {
    const kept = [...new Set(live.keys.map((k) => k.kvno).filter((v) => v !== kvno))].sort((a, b) => b - a).slice(0, OLD_KVNOS_KEPT);
    old = live.keys.filter((k) => kept.includes(k.kvno));
  }
  r.kvno = kvno;
  r.keys = [...fresh, ...old].sort((a, b) => b.kvno - a.kvno);
  r.lastPwChange = r.modifiedAt = at;
  return r;
}

/** The realm settings after `changes`, each checked. */
export function changedSettings(current: RealmSettings, c: SettingsChanges): RealmSettings {
  const s: RealmSettings = { ...current, lockout: { ...current.lockout } };
  if (c.maxLife !== undefined) s.maxLife = checkSeconds('max life', c.maxLife);
  if (c.maxRenew !== undefined) s.maxRenew = checkSeconds('max renewable life', c.maxRenew);
  if (c.clockSkew !== undefined) s.clockSkew = checkSeconds('clock skew', c.clockSkew);
  if (c.enctypes !== undefined) s.enctypes = checkEnctypes(c.enctypes);
  if (c.lockout?.maxFailures !== undefined) s.lockout.maxFailures = checkSeconds('max failures', c.lockout.maxFailures);
  if (c.lockout?.failureWindow !== undefined) s.lockout.failureWindow = checkSeconds('failure window', c.lockout.failureWindow);
  if (c.lockout?.lockoutDuration !== undefined) s.lockout.lockoutDuration = checkSeconds('lockout duration', c.lockout.lockoutDuration);
  return s;
}

/** The row a record is stored as (both stores' columns). */
export function principalRowOf(r: DbPrincipalRecord, gen: number): PrincipalRow {
  return {
    name: r.canonicalName, components: JSON.stringify(r.principal.name.nameString), name_type: r.principal.name.nameType,
    kvno: r.kvno, attributes: attributesToBits(r.attributes), max_life: r.maxLife, max_renew: r.maxRenew,
    expires_at: toMs(r.expiresAt), pw_expires_at: toMs(r.pwExpiresAt), last_pw_change: toMs(r.lastPwChange),
    created_at: r.createdAt.getTime(), modified_at: r.modifiedAt.getTime(), last_success: toMs(r.lastSuccess),
    last_failure: toMs(r.lastFailure), fail_count: r.failCount, locked_until: toMs(r.lockedUntil), gen,
  };
}

/** The key rows of a record: each key encrypted under the master key, bound to its name, kvno and enctype. */
export function keyRowsOf(mkey: MasterKey, canonicalName: string, keys: readonly PrincipalKey[]): KeyRow[] {
  return keys.map((k) => ({ principal: canonicalName, kvno: k.kvno, etype: k.etype, salt: k.salt, s2kparams: k.s2kparams ?? null, key_enc: mkey.encrypt(k.key, keyAad(canonicalName, k.kvno, k.etype)) }));
}

/** True for krbtgt/REALM@REALM, which may never be deleted. */
export function isRealmTgs(r: DbPrincipalRecord, realm: string): boolean {
  const c = r.principal.name.nameString;
  return c.length === 2 && c[0] === 'krbtgt' && c[1] === realm;
}

export function principalWriter(db: BetterSqlite3.Database, mkey: MasterKey, now: () => Date) {
  const bump = db.prepare("UPDATE meta SET v = CAST(CAST(v AS INTEGER) + 1 AS TEXT) WHERE k = 'generation'");
  const readGen = db.prepare<[], number>("SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'generation'").pluck();
  const exists = db.prepare<[string], number>('SELECT 1 FROM principals WHERE name = ?').pluck();
  const upsert = db.prepare(`INSERT INTO principals (name, components, name_type, kvno, attributes, max_life, max_renew, expires_at, pw_expires_at,
      last_pw_change, created_at, modified_at, last_success, last_failure, fail_count, locked_until, gen)
    VALUES (@name, @components, @name_type, @kvno, @attributes, @max_life, @max_renew, @expires_at, @pw_expires_at,
      @last_pw_change, @created_at, @modified_at, @last_success, @last_failure, @fail_count, @locked_until, @gen)
    ON CONFLICT (name) DO UPDATE SET kvno = excluded.kvno, attributes = excluded.attributes, max_life = excluded.max_life,
      max_renew = excluded.max_renew, expires_at = excluded.expires_at, pw_expires_at = excluded.pw_expires_at,
      last_pw_change = excluded.last_pw_change, modified_at = excluded.modified_at,
      fail_count = CASE WHEN @reset_lockout = 1 THEN excluded.fail_count ELSE principals.fail_count END,
      locked_until = CASE WHEN @reset_lockout = 1 THEN excluded.locked_until ELSE principals.locked_until END, gen = excluded.gen`);
  const deleteKeys = db.prepare('DELETE FROM principal_keys WHERE principal = ?');
  const insertKey = db.prepare('INSERT INTO principal_keys (principal, kvno, etype, salt, s2kparams, key_enc) VALUES (?, ?, ?, ?, ?, ?)');
  const deletePrincipal = db.prepare('DELETE FROM principals WHERE name = ?');
  // One tombstone per name, at its latest deletion: the table stays as small as the set of names ever deleted.
  const clearDeleted = db.prepare('DELETE FROM deleted WHERE name = ?');
  const insertDeleted = db.prepare('INSERT INTO deleted (name, gen) VALUES (?, ?)');
  const writeSettings = db.prepare("UPDATE meta SET v = ? WHERE k = 'settings'");

  const nextGen = (): number => {
    bump.run();
    return readGen.get()!;
  };

  /**
   * Writes the row and, if given, all its keys. The lockout counters on disk
   * belong to the running KDCs (they flush their bookkeeping into the row):
   * an update keeps them as stored, which may be newer than this process's
   * copy, unless `resetLockout` (modprinc --unlock) sets them from the record.
   */
  const write = (r: DbPrincipalRecord, gen: number, keys: PrincipalKey[] | undefined, resetLockout = false): void => {
    upsert.run({ ...principalRowOf(r, gen), reset_lockout: resetLockout ? 1 : 0 });
    if (keys === undefined) return;
    deleteKeys.run(r.canonicalName);
    for (const k of keyRowsOf(mkey, r.canonicalName, keys)) insertKey.run(k.principal, k.kvno, k.etype, k.salt, k.s2kparams, k.key_enc);
  };

  return {
    add(n: ResolvedName, o: AddPrincipalOptions, settings: RealmSettings): void {
      const r = newPrincipalRecord(n, o, settings, now());
      db.transaction(() => {
        if (exists.get(n.canonicalName) !== undefined) throw new KdcDbError('DUPLICATE', `principal ${n.canonicalName} already exists`);
        write(r, nextGen(), r.keys);
      }).immediate();
    },

    modify(live: DbPrincipalRecord, o: ModifyPrincipalOptions): void {
      const r = modifiedRecord(live, o, now());
      db.transaction(() => write(r, nextGen(), undefined, o.unlock === true)).immediate();
    },

    changeKeys(live: DbPrincipalRecord, o: ChangePasswordOptions, settings: RealmSettings): void {
      const r = rekeyedRecord(live, o, settings, now());
      db.transaction(() => write(r, nextGen(), r.keys)).immediate();
    },

    remove(canonicalName: string): void {
      db.transaction(() => {
        const gen = nextGen();
        deleteKeys.run(canonicalName);
        deletePrincipal.run(canonicalName);
        clearDeleted.run(canonicalName);
        insertDeleted.run(canonicalName, gen);
      }).immediate();
    },

    settings(current: RealmSettings, c: SettingsChanges): void {
      const s = changedSettings(current, c);
      db.transaction(() => {
        nextGen();
        writeSettings.run(JSON.stringify(s));
      }).immediate();
    },
  };
}
