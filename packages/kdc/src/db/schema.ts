/**
 * The SQLite schema and the mapping between its rows and PrincipalRecords.
 *
 * - meta: realm, settings (JSON), master-key check value and, when the master
 *   key comes from a password, its scrypt parameters; and `generation`, the
 *   change counter every administrative write bumps, so that a running KDC
 *   notices with one indexed read (refresh()).
 * - principals: one row per principal; `gen` is the generation of its last
 *   administrative change, so a refresh reloads only what moved.
 * - principal_keys: one row per (kvno, enctype), the key encrypted under the
 *   master key (see master-key.ts).
 * - deleted: names deleted at a generation, so refresh() drops them; indexed
 *   by name too, since every write clears a name's old tombstone.
 * Times are integer milliseconds since the epoch, NULL when unset.
 */
import type { MasterKey } from './master-key.js';
import type { PrincipalAttributes, PrincipalRecord } from './types.js';

/**
 * Each step takes a database from version N to N+1 (MIGRATIONS[N - 1]);
 * DDL is the newest schema, so a new database starts at SCHEMA_VERSION.
 * openDatabase() applies the missing steps in one transaction.
 */
export const MIGRATIONS: readonly string[] = [
  // 1 → 2: `DELETE FROM deleted WHERE name = ?` (every addprinc, delprinc and
  // `load --update`) scanned the whole table: quadratic over a bulk load.
  'CREATE INDEX IF NOT EXISTS deleted_name ON deleted (name);',
];

export const SCHEMA_VERSION = MIGRATIONS.length + 1;

export const DDL = `
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT;
CREATE TABLE principals (
  name TEXT PRIMARY KEY,
  components TEXT NOT NULL,
  name_type INTEGER NOT NULL,
  kvno INTEGER NOT NULL,
  attributes INTEGER NOT NULL,
  max_life INTEGER NOT NULL,
  max_renew INTEGER NOT NULL,
  expires_at INTEGER,
  pw_expires_at INTEGER,
  last_pw_change INTEGER,
  created_at INTEGER NOT NULL,
  modified_at INTEGER NOT NULL,
  last_success INTEGER,
  last_failure INTEGER,
  fail_count INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER,
  gen INTEGER NOT NULL
) STRICT;
CREATE INDEX principals_gen ON principals (gen);
CREATE TABLE principal_keys (
  principal TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
  kvno INTEGER NOT NULL,
  etype INTEGER NOT NULL,
  salt TEXT NOT NULL,
  s2kparams BLOB,
  key_enc BLOB NOT NULL,
  PRIMARY KEY (principal, kvno, etype)
) STRICT;
CREATE TABLE deleted (name TEXT NOT NULL, gen INTEGER NOT NULL) STRICT;
CREATE INDEX deleted_gen ON deleted (gen);
CREATE INDEX deleted_name ON deleted (name);
`;

/** MIT's KRB5_KDB_* attribute bits (kdb.h), so a dump reads the same to an MIT administrator. */
export const AttributeBit = {
  DISALLOW_POSTDATED: 0x1,
  DISALLOW_FORWARDABLE: 0x2,
  DISALLOW_RENEWABLE: 0x8,
  DISALLOW_PROXIABLE: 0x10,
  DISALLOW_ALL_TIX: 0x40,
  REQUIRES_PRE_AUTH: 0x80,
  DISALLOW_SVR: 0x1000,
} as const;

const attributeFields: [keyof PrincipalAttributes, number][] = [
  ['disallowPostdated', AttributeBit.DISALLOW_POSTDATED],
  ['disallowForwardable', AttributeBit.DISALLOW_FORWARDABLE],
  ['disallowRenewable', AttributeBit.DISALLOW_RENEWABLE],
  ['disallowProxiable', AttributeBit.DISALLOW_PROXIABLE],
  ['disallowAllTix', AttributeBit.DISALLOW_ALL_TIX],
  ['requiresPreauth', AttributeBit.REQUIRES_PRE_AUTH],
  ['disallowSvr', AttributeBit.DISALLOW_SVR],
];

export function attributesToBits(a: PrincipalAttributes): number {
  let bits = 0;
  for (const [field, bit] of attributeFields) if (a[field]) bits |= bit;
  return bits;
}

export function attributesFromBits(bits: number): PrincipalAttributes {
  const a = {} as PrincipalAttributes;
  for (const [field, bit] of attributeFields) a[field] = (bits & bit) !== 0;
  return a;
}

/** MIT kadmin's names for the set bits, as getprinc prints them. */
export function attributeNames(a: PrincipalAttributes): string[] {
  const names: string[] = [];
  for (const [field, bit] of attributeFields) {
    if (a[field]) names.push(Object.entries(AttributeBit).find(([, b]) => b === bit)![0]);
  }
  return names;
}

export function defaultAttributes(): PrincipalAttributes {
  return { requiresPreauth: true, disallowForwardable: false, disallowProxiable: false, disallowRenewable: false, disallowPostdated: false, disallowSvr: false, disallowAllTix: false };
}

export interface PrincipalRow {
  name: string;
  components: string;
  name_type: number;
  kvno: number;
  attributes: number;
  max_life: number;
  max_renew: number;
  expires_at: number | null;
  pw_expires_at: number | null;
  last_pw_change: number | null;
  created_at: number;
  modified_at: number;
  last_success: number | null;
  last_failure: number | null;
  fail_count: number;
  locked_until: number | null;
  gen: number;
}

export interface KeyRow {
  principal: string;
  kvno: number;
  etype: number;
  salt: string;
  s2kparams: Uint8Array | null;
  key_enc: Uint8Array;
}

/** What the database keeps beyond the exchanges' contract, for getprinc and dump. */
export interface DbPrincipalRecord extends PrincipalRecord {
  createdAt: Date;
  modifiedAt: Date;
  lastPwChange?: Date;
}

export const toMs = (d: Date | undefined): number | null => (d === undefined ? null : d.getTime());
export const fromMs = (ms: number | null): Date | undefined => (ms === null ? undefined : new Date(ms));

/** AAD of a key blob: binds it to its principal, kvno and enctype. */
export function keyAad(canonicalName: string, kvno: number, etype: number): string {
  return `${canonicalName}|${kvno}|${etype}`;
}

/** The in-memory record of a stored row and its key rows (keys decrypted under the master key); both stores load through it. */
export function recordFromRows(realm: string, mkey: MasterKey, row: PrincipalRow, keyRows: readonly KeyRow[]): DbPrincipalRecord {
  const keys = keyRows.map((k) => ({
    kvno: k.kvno,
    etype: k.etype,
    key: mkey.decrypt(k.key_enc, keyAad(row.name, k.kvno, k.etype)),
    salt: k.salt,
    ...(k.s2kparams !== null ? { s2kparams: new Uint8Array(k.s2kparams) } : {}),
  }));
  const r: DbPrincipalRecord = {
    principal: { realm, name: { nameType: row.name_type, nameString: JSON.parse(row.components) as string[] } },
    canonicalName: row.name,
    kvno: row.kvno,
    keys,
    attributes: attributesFromBits(row.attributes),
    maxLife: row.max_life,
    maxRenew: row.max_renew,
    failCount: row.fail_count,
    createdAt: new Date(row.created_at),
    modifiedAt: new Date(row.modified_at),
  };
  // Optional fields are absent rather than undefined (exactOptionalPropertyTypes-friendly, cleaner dumps).
  const opt: [keyof DbPrincipalRecord, number | null][] = [
    ['expiresAt', row.expires_at], ['pwExpiresAt', row.pw_expires_at], ['lastPwChange', row.last_pw_change],
    ['lastSuccess', row.last_success], ['lastFailure', row.last_failure], ['lockedUntil', row.locked_until],
  ];
  for (const [field, ms] of opt) if (ms !== null) (r as unknown as Record<string, Date>)[field] = new Date(ms);
  return r;
}
