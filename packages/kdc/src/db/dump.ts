/**
 * `kdc dump` / `kdc load`: the database as JSON (as MIT's kdb5_util dump,
 * keys stay encrypted under the master key: a dump is as sensitive as the
 * database file but no more). The dump carries the master-key check value,
 * so loading it into a database with another master key is refused up
 * front, and every key is test-decrypted before anything is written.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { formatPrincipal } from '@kpop/common';
import { KdcDbError } from './errors.js';
import type { MasterKey } from './master-key.js';
import { AttributeBit, keyAad, SCHEMA_VERSION, type KeyRow, type PrincipalRow } from './schema.js';
import { checkEnctypes, checkSeconds } from './writes.js';
import type { RealmSettings } from './types.js';

export const DUMP_FORMAT = 'kpop-kdc-dump';
export const DUMP_VERSION = 1;

export interface DumpKey { kvno: number; etype: number; salt: string; s2kparams?: string; key: string /* base64, encrypted */ }
export interface DumpPrincipal {
  name: string; components: string[]; nameType: number; kvno: number; attributes: string[];
  maxLife: number; maxRenew: number; expiresAt: string | null; pwExpiresAt: string | null; lastPwChange: string | null;
  createdAt: string; modifiedAt: string; lastSuccess: string | null; lastFailure: string | null; failCount: number; lockedUntil: string | null;
  keys: DumpKey[];
}
export interface Dump { format: typeof DUMP_FORMAT; version: number; schema: number; realm: string; settings: RealmSettings; masterKeyCheck: string; principals: DumpPrincipal[] }
export interface LoadOptions { /** Add and overwrite the dumped principals, keep the others and the realm settings (kdb5_util load -update). */ update?: boolean }

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** The dump of stored rows (keys ordered newest kvno first within each principal); both stores dump through it. */
export function dumpFromRows(realm: string, settings: RealmSettings, masterKeyCheck: string, principalRows: readonly PrincipalRow[], keyRows: Iterable<KeyRow>): Dump {
  const keys = new Map<string, DumpKey[]>();
  for (const k of keyRows) {
    let list = keys.get(k.principal);
    if (list === undefined) keys.set(k.principal, (list = []));
    list.push({ kvno: k.kvno, etype: k.etype, salt: k.salt, ...(k.s2kparams !== null ? { s2kparams: b64(k.s2kparams) } : {}), key: b64(k.key_enc) });
  }
  const principals = principalRows.map((r): DumpPrincipal => ({
    name: r.name, components: JSON.parse(r.components) as string[], nameType: r.name_type, kvno: r.kvno,
    attributes: Object.entries(AttributeBit).filter(([, bit]) => (r.attributes & bit) !== 0).map(([n]) => n),
    maxLife: r.max_life, maxRenew: r.max_renew, expiresAt: iso(r.expires_at), pwExpiresAt: iso(r.pw_expires_at),
    lastPwChange: iso(r.last_pw_change), createdAt: iso(r.created_at)!, modifiedAt: iso(r.modified_at)!,
    lastSuccess: iso(r.last_success), lastFailure: iso(r.last_failure), failCount: r.fail_count, lockedUntil: iso(r.locked_until),
    keys: keys.get(r.name) ?? [],
  }));
  return { format: DUMP_FORMAT, version: DUMP_VERSION, schema: SCHEMA_VERSION, realm, settings, masterKeyCheck, principals };
}

export function dumpDatabase(db: BetterSqlite3.Database, realm: string): Dump {
  return db.transaction((): Dump => {
    const meta = new Map(db.prepare<[], { k: string; v: string }>('SELECT k, v FROM meta').all().map((r) => [r.k, r.v]));
    const rows = db.prepare<[], PrincipalRow>('SELECT * FROM principals ORDER BY name').all();
    return dumpFromRows(realm, JSON.parse(meta.get('settings')!) as RealmSettings, meta.get('master_check')!, rows, db.prepare<[], KeyRow>('SELECT * FROM principal_keys ORDER BY principal, kvno DESC, rowid').iterate());
  }).deferred();
}

// ---- validation of untrusted dump input ----

function bad(path: string, what: string): never {
  throw new KdcDbError('BAD_DUMP', `dump ${path}: ${what}`);
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function int(v: unknown, path: string, min = 0, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(path, `expected an integer from ${min} to ${max}`);
  return v;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string') bad(path, 'expected a string');
  return v;
}
function time(v: unknown, path: string, nullable = true): number | null {
  if (v === null && nullable) return null;
  const ms = typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) bad(path, 'expected an ISO 8601 time');
  return ms;
}
function bytes(v: unknown, path: string): Buffer {
  const s = str(v, path);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) bad(path, 'expected base64');
  return Buffer.from(s, 'base64');
}

function checkSettings(v: unknown, realm: string): RealmSettings {
  if (!isObj(v) || !isObj(v.lockout)) bad('settings', 'missing');
  try {
    return {
      realm, maxLife: checkSeconds('maxLife', v.maxLife), maxRenew: checkSeconds('maxRenew', v.maxRenew), clockSkew: checkSeconds('clockSkew', v.clockSkew),
      lockout: { maxFailures: checkSeconds('maxFailures', v.lockout.maxFailures), failureWindow: checkSeconds('failureWindow', v.lockout.failureWindow), lockoutDuration: checkSeconds('lockoutDuration', v.lockout.lockoutDuration) },
      enctypes: checkEnctypes(v.enctypes),
    };
  } catch (e) {
    return bad('settings', (e as Error).message);
  }
}

/** A dump checked in full (every key test-decrypted under `mkey`), as the rows to write; nothing is written. */
export interface ParsedDump { settings: RealmSettings; names: Set<string>; rows: { row: Omit<PrincipalRow, 'gen'>; keys: Omit<KeyRow, 'principal'>[] }[] }

export function parseDump(mkey: MasterKey, realm: string, input: unknown, opts: LoadOptions): ParsedDump {
  if (!isObj(input) || input.format !== DUMP_FORMAT) bad('', `not a ${DUMP_FORMAT} file`);
  if (input.version !== DUMP_VERSION) bad('version', `unsupported version ${String(input.version)}`);
  if (input.realm !== realm) bad('realm', `is for realm ${String(input.realm)}, this database is ${realm}`);
  if (!mkey.verifyCheck(bytes(input.masterKeyCheck, 'masterKeyCheck'))) {
    throw new KdcDbError('MASTER_KEY_MISMATCH', 'the dump was made under another master key: load it into a database made with the same stash file or master password');
  }
  const settings = checkSettings(input.settings, realm);
  if (!Array.isArray(input.principals)) bad('principals', 'expected an array');
  const rows: { row: Omit<PrincipalRow, 'gen'>; keys: Omit<KeyRow, 'principal'>[] }[] = [];
  const seen = new Set<string>();
  input.principals.forEach((p: unknown, i: number) => {
    const at = `principals[${i}]`;
    if (!isObj(p)) bad(at, 'expected an object');
    if (!Array.isArray(p.components) || p.components.length === 0 || p.components.some((c) => typeof c !== 'string' || c === '' || c.includes('\0'))) bad(`${at}.components`, 'expected non-empty strings');
    const components = p.components as string[];
    const name = formatPrincipal({ realm, name: { nameType: 1, nameString: components } });
    if (p.name !== name) bad(`${at}.name`, `does not match its components (${name})`);
    if (seen.has(name)) bad(`${at}.name`, `${name} appears twice`);
    seen.add(name);
    if (!Array.isArray(p.attributes)) bad(`${at}.attributes`, 'expected an array');
    let attributes = 0;
    for (const a of p.attributes) {
      const bit = (AttributeBit as Record<string, number>)[String(a)];
      if (bit === undefined) bad(`${at}.attributes`, `unknown attribute ${String(a)}`);
      attributes |= bit;
    }
    const kvno = int(p.kvno, `${at}.kvno`, 1);
    if (!Array.isArray(p.keys)) bad(`${at}.keys`, 'expected an array');
    const keys = p.keys.map((k: unknown, j: number) => {
      const kat = `${at}.keys[${j}]`;
      if (!isObj(k)) bad(kat, 'expected an object');
      const key = { kvno: int(k.kvno, `${kat}.kvno`, 1), etype: int(k.etype, `${kat}.etype`, -0x80000000, 0x7fffffff), salt: str(k.salt, `${kat}.salt`), s2kparams: k.s2kparams === undefined ? null : bytes(k.s2kparams, `${kat}.s2kparams`), key_enc: bytes(k.key, `${kat}.key`) };
      // Test-decrypt: a key that the master key cannot open must not get in.
      mkey.decrypt(key.key_enc, keyAad(name, key.kvno, key.etype));
      return key;
    });
    if (new Set(keys.map((k) => `${k.kvno}/${k.etype}`)).size !== keys.length) bad(`${at}.keys`, 'has two keys of one kvno and enctype');
    if (!keys.some((k) => k.kvno === kvno)) bad(`${at}.keys`, `has no key of the current kvno ${kvno}`);
    rows.push({
      row: {
        name, components: JSON.stringify(components), name_type: int(p.nameType, `${at}.nameType`, 0, 0x7fffffff), kvno, attributes,
        max_life: int(p.maxLife, `${at}.maxLife`, 0, 0x7fffffff), max_renew: int(p.maxRenew, `${at}.maxRenew`, 0, 0x7fffffff),
        expires_at: time(p.expiresAt, `${at}.expiresAt`), pw_expires_at: time(p.pwExpiresAt, `${at}.pwExpiresAt`),
        last_pw_change: time(p.lastPwChange, `${at}.lastPwChange`), created_at: time(p.createdAt, `${at}.createdAt`, false)!,
        modified_at: time(p.modifiedAt, `${at}.modifiedAt`, false)!, last_success: time(p.lastSuccess, `${at}.lastSuccess`),
        last_failure: time(p.lastFailure, `${at}.lastFailure`), fail_count: int(p.failCount, `${at}.failCount`), locked_until: time(p.lockedUntil, `${at}.lockedUntil`),
      },
      keys,
    });
  });
  const tgs = formatPrincipal({ realm, name: { nameType: 2, nameString: ['krbtgt', realm] } });
  if (opts.update !== true && !seen.has(tgs)) bad('principals', `has no ${tgs}; a full load needs it`);

  return { settings, names: seen, rows };
}

export function loadDump(db: BetterSqlite3.Database, mkey: MasterKey, realm: string, input: unknown, opts: LoadOptions): void {
  const { settings, names: seen, rows } = parseDump(mkey, realm, input, opts);
  db.transaction(() => {
    db.prepare("UPDATE meta SET v = CAST(CAST(v AS INTEGER) + 1 AS TEXT) WHERE k = 'generation'").run();
    const gen = db.prepare<[], number>("SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'generation'").pluck().get()!;
    const delKeys = db.prepare('DELETE FROM principal_keys WHERE principal = ?');
    const delPrincipal = db.prepare('DELETE FROM principals WHERE name = ?');
    const clearTombstone = db.prepare('DELETE FROM deleted WHERE name = ?');
    const tombstone = db.prepare('INSERT INTO deleted (name, gen) VALUES (?, ?)');
    const existing = db.prepare<[], string>('SELECT name FROM principals').pluck().all();
    for (const name of existing) {
      if (opts.update === true && !seen.has(name)) continue;
      delKeys.run(name);
      delPrincipal.run(name);
      clearTombstone.run(name);
      tombstone.run(name, gen);
    }
    const insRow = db.prepare(`INSERT INTO principals (name, components, name_type, kvno, attributes, max_life, max_renew, expires_at, pw_expires_at,
      last_pw_change, created_at, modified_at, last_success, last_failure, fail_count, locked_until, gen)
      VALUES (@name, @components, @name_type, @kvno, @attributes, @max_life, @max_renew, @expires_at, @pw_expires_at,
      @last_pw_change, @created_at, @modified_at, @last_success, @last_failure, @fail_count, @locked_until, @gen)`);
    const insKey = db.prepare('INSERT INTO principal_keys (principal, kvno, etype, salt, s2kparams, key_enc) VALUES (?, ?, ?, ?, ?, ?)');
    for (const { row, keys } of rows) {
      insRow.run({ ...row, gen });
      for (const k of keys) insKey.run(row.name, k.kvno, k.etype, k.salt, k.s2kparams, k.key_enc);
    }
    if (opts.update !== true) db.prepare("UPDATE meta SET v = ? WHERE k = 'settings'").run(JSON.stringify(settings));
  }).immediate();
}
