/**
 * The PostgreSQL store's statements: what PgKdcDatabase (database.ts) runs
 * inside its transactions, each a function of a connection, in the order a
 * reload, a write, a load and a lockout batch need them.
 */
import type pg from 'pg';
import type { KeyRow, PrincipalRow } from '../schema.js';
import type { PolicyRow } from '../policy.js';
import type { ParsedDump } from '../dump.js';
import { LOCKOUT_CHANNEL } from './schema.js';

export type Client = pg.PoolClient | pg.Client;

export const PRINCIPAL_COLUMNS = 'name, components, name_type, kvno, attributes, max_life, max_renew, expires_at, pw_expires_at, last_pw_change, created_at, modified_at, last_success, last_failure, fail_count, locked_until, gen';
const KEY_COLUMNS = 'principal, kvno, etype, salt, s2kparams, key_enc';

/** A row's lockout fields, as a batch writes them and the lockout channel carries them (times in ms). */
export interface LockoutNote { n: string; f: number; lf: number | null; ls: number | null; lu: number | null }

/**
 * What changed since a generation, for a KDC that holds some principals in
 * memory: the realm-wide parts (small, read whole: settings, the policies)
 * and the names whose rows changed or went (an assignment of a policy moves
 * its principal's gen too). `names` lists every such name when there are few
 * (`bulk` false); after a bulk change (a large `kdc load`) only those among
 * the names held, and the caller forgets every name it knew to be absent.
 */
export interface Changes { gen: number; full: boolean; settings: string | undefined; policies: PolicyRow[]; names: string[]; bulk: boolean }

/**
 * What changed since generation `seen` (-1: everything), read in the
 * caller's snapshot; undefined when nothing did. A generation below `seen`
 * means the realm was made anew (schema dropped, kdc init again): then
 * `full`, and the caller drops all it holds. `onGeneration` hears the
 * snapshot's generation before `held` is asked for the names held, so that
 * a principal installed between the two is judged against it (database.ts).
 */
export async function readChanges(c: Client, seen: number, byName: number, onGeneration: (gen: number, full: boolean) => void, held: () => string[]): Promise<Changes | undefined | 'no generation'> {
  const gen = (await c.query<{ gen: number }>('SELECT gen FROM generation')).rows[0]?.gen;
  if (gen === undefined) return 'no generation';
  if (gen === seen) return undefined;
  const since = gen < seen ? -1 : seen;
  onGeneration(gen, since < 0);
  const settings = (await c.query<{ v: string }>("SELECT v FROM meta WHERE k = 'settings'")).rows[0]?.v;
  const policies = (await c.query<PolicyRow>('SELECT * FROM policies')).rows;
  const base = { gen, full: since < 0, settings, policies };
  if (since < 0) return { ...base, names: [], bulk: false };
  const n = Number((await c.query<{ n: string }>('SELECT (SELECT count(*) FROM principals WHERE gen > $1) + (SELECT count(*) FROM deleted WHERE gen > $1) AS n', [since])).rows[0]!.n);
  if (n <= byName) {
    const names = (await c.query<{ name: string }>('SELECT name FROM principals WHERE gen > $1 UNION SELECT name FROM deleted WHERE gen > $1', [since])).rows.map((r) => r.name);
    return { ...base, names, bulk: false };
  }
  const names = (await c.query<{ name: string }>(`SELECT name FROM principals WHERE gen > $1 AND name = ANY($2::text[])
    UNION SELECT name FROM deleted WHERE gen > $1 AND name = ANY($2::text[])`, [since, held()])).rows.map((r) => r.name);
  return { ...base, names, bulk: true };
}

/** A principal row with its keys, as one statement returns them (key columns null for a principal without keys). */
type JoinedRow = PrincipalRow & { snap: number; pol: string | null; k_kvno: number | null; k_etype: number | null; k_salt: string | null; k_s2kparams: Uint8Array | null; k_key_enc: Uint8Array | null };

/**
 * The rows, keys and policy names of the named principals and the generation they are
 * as of: one statement, so one snapshot even outside a transaction (READ
 * COMMITTED takes a snapshot per statement), in one round trip. Names with
 * no row are simply not in `rows`.
 */
export async function readPrincipals(c: Client | pg.Pool, names: readonly string[]): Promise<{ gen: number; rows: PrincipalRow[]; keys: Map<string, KeyRow[]>; policies: Map<string, string> }> {
  const cols = PRINCIPAL_COLUMNS.split(', ').map((x) => `p.${x}`).join(', ');
  const res = await c.query<JoinedRow>(`SELECT g.gen AS snap, ${cols}, pp.policy AS pol, k.kvno AS k_kvno, k.etype AS k_etype, k.salt AS k_salt, k.s2kparams AS k_s2kparams, k.key_enc AS k_key_enc
    FROM generation g LEFT JOIN principals p ON p.name = ANY($1::text[]) LEFT JOIN principal_policy pp ON pp.principal = p.name
    LEFT JOIN principal_keys k ON k.principal = p.name
    ORDER BY p.name, k.kvno DESC, k.pos`, [names]);
  const first = res.rows[0];
  if (first === undefined) throw new Error('the database has no generation row');
  const rows: PrincipalRow[] = [];
  const keys = new Map<string, KeyRow[]>();
  const policies = new Map<string, string>();
  for (const j of res.rows) {
    if ((j.name as string | null) === null) continue;
    let list = keys.get(j.name);
    if (list === undefined) {
      const { snap: _s, pol, k_kvno: _a, k_etype: _b, k_salt: _c, k_s2kparams: _d, k_key_enc: _e, ...row } = j;
      rows.push(row);
      if (pol !== null) policies.set(j.name, pol);
      keys.set(j.name, (list = []));
    }
    if (j.k_kvno !== null) list.push({ principal: j.name, kvno: j.k_kvno, etype: j.k_etype!, salt: j.k_salt!, s2kparams: j.k_s2kparams, key_enc: j.k_key_enc! });
  }
  return { gen: first.snap, rows, keys, policies };
}

/** Canonical names in the realm, sorted (listings). */
export async function allNames(c: Client | pg.Pool): Promise<string[]> {
  return (await c.query<{ name: string }>('SELECT name FROM principals ORDER BY name')).rows.map((r) => r.name);
}

/** Everything `kdc dump` writes, in the caller's snapshot: meta, the rows by name, the keys newest kvno first. */
export async function readAll(c: Client): Promise<{ meta: Map<string, string>; rows: PrincipalRow[]; keys: KeyRow[] }> {
  const meta = new Map((await c.query<{ k: string; v: string }>('SELECT k, v FROM meta')).rows.map((r) => [r.k, r.v]));
  const rows = (await c.query<PrincipalRow>(`SELECT ${PRINCIPAL_COLUMNS} FROM principals ORDER BY name`)).rows;
  const keys = (await c.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM principal_keys ORDER BY principal, kvno DESC, pos`)).rows;
  return { meta, rows, keys };
}

/**
 * Writes a principal's row. The lockout counters in the row belong to the
 * running KDCs (their batches): an update keeps them as stored, unless
 * resetLockout (modprinc --unlock) sets them from the row given.
 */
export async function upsertPrincipal(c: Client, row: PrincipalRow, resetLockout: boolean): Promise<void> {
  await c.query(`INSERT INTO principals (${PRINCIPAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
    ON CONFLICT (name) DO UPDATE SET kvno = EXCLUDED.kvno, attributes = EXCLUDED.attributes, max_life = EXCLUDED.max_life,
      max_renew = EXCLUDED.max_renew, expires_at = EXCLUDED.expires_at, pw_expires_at = EXCLUDED.pw_expires_at,
      last_pw_change = EXCLUDED.last_pw_change, modified_at = EXCLUDED.modified_at,
      fail_count = CASE WHEN $18 THEN EXCLUDED.fail_count ELSE principals.fail_count END,
      locked_until = CASE WHEN $18 THEN EXCLUDED.locked_until ELSE principals.locked_until END, gen = EXCLUDED.gen`,
  [row.name, row.components, row.name_type, row.kvno, row.attributes, row.max_life, row.max_renew, row.expires_at, row.pw_expires_at,
    row.last_pw_change, row.created_at, row.modified_at, row.last_success, row.last_failure, row.fail_count, row.locked_until, row.gen, resetLockout]);
}

/** `kdc load`: tombstones for the rows replaced (all, or those named), then the dump's rows and keys in chunks. */
export async function replacePrincipals(c: Client, gen: number, rows: ParsedDump['rows'], gone: string[] | undefined): Promise<void> {
  // Tombstones for what is replaced, so that running KDCs drop names the dump does not have.
  await c.query(`INSERT INTO deleted (name, gen) SELECT name, $1 FROM principals ${gone ? 'WHERE name = ANY($2::text[])' : ''} ON CONFLICT (name) DO UPDATE SET gen = EXCLUDED.gen`, gone ? [gen, gone] : [gen]);
  await c.query(`DELETE FROM principals ${gone ? 'WHERE name = ANY($1::text[])' : ''}`, gone ? [gone] : []);
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000);
    const col = <K extends keyof PrincipalRow>(k: K) => chunk.map((x) => (k === 'gen' ? gen : x.row[k as Exclude<K, 'gen'>]));
    await c.query(`INSERT INTO principals (${PRINCIPAL_COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::int[], $7::int[],
      $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::int[], $16::bigint[], $17::bigint[])`,
    (['name', 'components', 'name_type', 'kvno', 'attributes', 'max_life', 'max_renew', 'expires_at', 'pw_expires_at', 'last_pw_change',
      'created_at', 'modified_at', 'last_success', 'last_failure', 'fail_count', 'locked_until', 'gen'] as const).map((k) => col(k)));
    await insertKeys(c, chunk.flatMap(({ row, keys }) => keys.map((k) => ({ ...k, principal: row.name }))));
  }
}

/** The lockout fields of the named rows, locked until COMMIT (in name order: two KDCs never deadlock). */
export async function lockoutRowsForUpdate(c: Client, names: string[]) {
  return (await c.query<{ name: string; fail_count: number; last_failure: number | null; last_success: number | null; locked_until: number | null; gen: number }>(
    'SELECT name, fail_count, last_failure, last_success, locked_until, gen FROM principals WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE', [names])).rows;
}

export async function writeLockouts(c: Client, notes: readonly LockoutNote[]): Promise<void> {
  await c.query(`UPDATE principals p SET fail_count = u.f, last_failure = u.lf, last_success = u.ls, locked_until = u.lu
    FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u (n, f, lf, ls, lu) WHERE p.name = u.n`,
  [notes.map((x) => x.n), notes.map((x) => x.f), notes.map((x) => x.lf), notes.map((x) => x.ls), notes.map((x) => x.lu)]);
}

/** NOTIFY each payload on the lockout channel (delivered at COMMIT). */
export async function notifyLockouts(c: Client, payloads: readonly string[]): Promise<void> {
  if (payloads.length > 0) await c.query(`SELECT pg_notify('${LOCKOUT_CHANNEL}', x) FROM unnest($1::text[]) AS x`, [payloads]);
}

/** Key rows in one statement; `pos` keeps their order within a kvno. */
export async function insertKeys(c: Client, keys: readonly KeyRow[]): Promise<void> {
  if (keys.length === 0) return;
  const pos = new Map<string, number>();
  const positions = keys.map((k) => {
    const tag = `${k.principal}\0${k.kvno}`;
    const p = pos.get(tag) ?? 0;
    pos.set(tag, p + 1);
    return p;
  });
  await c.query(`INSERT INTO principal_keys (principal, kvno, etype, pos, salt, s2kparams, key_enc)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[], $5::text[], $6::bytea[], $7::bytea[])`,
  [keys.map((k) => k.principal), keys.map((k) => k.kvno), keys.map((k) => k.etype), positions, keys.map((k) => k.salt),
    keys.map((k) => (k.s2kparams === null ? null : Buffer.from(k.s2kparams))), keys.map((k) => Buffer.from(k.key_enc))]);
}
