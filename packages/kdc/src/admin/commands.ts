/**
 * What each `kdc` subcommand does, given parsed options. Messages follow
 * MIT kadmin's where it has one ('Principal "alice@LAB.TEST" created.').
 */
import { closeSync, constants, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { addKeytabEntries, enctypeName, formatPrincipal, resolveKeytabName } from '@kpop/common';
import { existsSync } from 'node:fs';
import { changePasswordUnderPolicy, checkPasswordQuality, displayUrl, initPgRealm, initRealm, isPostgresUrl, KdcDbError, openDatabase, openPgDatabase, STASH_FILE, type DatabaseHandleOptions, type PgDatabaseOptions, type PrincipalAttributes, type RealmDatabase } from '../db/index.js';
import { resolveName } from '../db/names.js';
import { formatPrincipalRecord, formatSettings } from './format.js';
import { ensureChangepwPrincipal } from '../server/kpasswd-server.js';
import { parseDate, parseEnctypes, parseLifetime, UsageError } from './parse.js';
import { promptHidden, promptNewPassword, readAll, readPasswordLine, type Terminal } from './password.js';

export interface CliIo extends Terminal {
  stdout: Writable;
  env: NodeJS.ProcessEnv;
  now?: () => Date;
}

/** Where the master password comes from when the database has no stash file. */
export const MASTER_PASSWORD_ENV = 'KPOP_KDC_MASTER_PASSWORD';
export const DIR_ENV = 'KPOP_KDC_DIR';
/** A PostgreSQL URL: the realm's principals live there instead of DIR/kdc.sqlite (DIR keeps the stash). */
export const DB_ENV = 'KPOP_KDC_DB';
export const DEFAULT_DIR = './var/kdc';

export const dirOf = (o: { dir?: string }, io: CliIo): string => resolve(o.dir ?? io.env[DIR_ENV] ?? DEFAULT_DIR);
const now = (io: CliIo): Date => (io.now ?? (() => new Date()))();

/** --db or $KPOP_KDC_DB: the PostgreSQL URL, or undefined for SQLite in DIR. */
export function dbUrlOf(o: { db?: string }, io: CliIo): string | undefined {
  const url = o.db ?? io.env[DB_ENV];
  if (url === undefined || url === '') return undefined;
  if (!isPostgresUrl(url)) throw new UsageError(`--db takes a PostgreSQL URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE), got "${url.replace(/:[^:@/]*@/, ':***@')}"`);
  return url;
}

export interface StoreOpts { dir?: string; db?: string }

/** Opens the realm's database: PostgreSQL with --db (or $KPOP_KDC_DB), else SQLite in DIR. */
export async function openStore(o: StoreOpts, io: CliIo, masterPassword: string | undefined, pg: PgDatabaseOptions, sqlite: DatabaseHandleOptions = {}): Promise<RealmDatabase> {
  const dir = dirOf(o, io);
  const url = dbUrlOf(o, io);
  const opts = masterPassword !== undefined ? { masterPassword } : {};
  return url !== undefined ? openPgDatabase(url, dir, { follow: false, ...pg, ...opts }) : openDatabase(dir, { ...sqlite, ...opts });
}

/**
 * Opens the database, asking for the master password on a terminal when the realm has one.
 * onMasterPassword hears the master password that opened it, if one did (`kdc start --workers`
 * hands it on); pg: a KDC's change feed options (an admin command does without); sqlite: the
 * SQLite store's (the KDC's --principal-cache).
 */
export async function openDb(o: StoreOpts, io: CliIo, onMasterPassword?: (pw: string) => void, pg: PgDatabaseOptions = {}, sqlite: DatabaseHandleOptions = {}): Promise<RealmDatabase> {
  const fromEnv = io.env[MASTER_PASSWORD_ENV];
  try {
    const db = await openStore(o, io, fromEnv, pg, sqlite);
    if (fromEnv !== undefined) onMasterPassword?.(fromEnv);
    return db;
  } catch (e) {
    if (!(e instanceof KdcDbError) || e.reason !== 'MASTER_PASSWORD_REQUIRED') throw e;
    if (!io.stdin.isTTY) throw new KdcDbError(e.reason, `${e.message} in ${MASTER_PASSWORD_ENV} or on a terminal`);
    const pw = await promptHidden(io, 'Enter KDC database master key: ');
    const db = await openStore(o, io, pw, pg, sqlite);
    onMasterPassword?.(pw);
    return db;
  }
}

/** Runs `fn` on the open database and always closes it (flushing any bookkeeping). */
export async function withDb<T>(o: StoreOpts, io: CliIo, fn: (db: RealmDatabase) => T | Promise<T>): Promise<T> {
  const db = await openDb(o, io);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export interface InitOpts { dir?: string; db?: string; realm: string; stash: boolean; enctypes?: string; maxLife?: string; maxRenew?: string; clockSkew?: string; maxFailures?: string; failureWindow?: string; lockoutDuration?: string }

export async function cmdInit(o: InitOpts, io: CliIo): Promise<void> {
  const dir = dirOf(o, io);
  const opts = realmChanges(o);
  let masterPassword: string | undefined;
  if (!o.stash) masterPassword = io.env[MASTER_PASSWORD_ENV] ?? (io.stdin.isTTY ? await promptNewPassword(io, 'KDC database master key') : undefined);
  if (!o.stash && masterPassword === undefined) throw new UsageError(`--no-stash needs a master password: set ${MASTER_PASSWORD_ENV} or run on a terminal`);
  const url = dbUrlOf(o, io);
  const hadStash = existsSync(resolve(dir, STASH_FILE));
  const settings = { realm: o.realm, ...opts, ...(masterPassword !== undefined ? { masterPassword } : {}) };
  const db: RealmDatabase = url !== undefined ? await initPgRealm(url, dir, { ...settings, follow: false }) : initRealm(dir, settings);
  try {
    // MIT's kdb5_util create makes kadmin/changepw too: the kpasswd service's principal.
    await ensureChangepwPrincipal(db);
  } finally {
    await db.close();
  }
  const key = !o.stash ? 'master key derived from the master password (not stashed)'
    : url !== undefined && hadStash ? `master key from the existing stash ${resolve(dir, STASH_FILE)}`
      : `master key stashed in ${resolve(dir, STASH_FILE)}`;
  io.stdout.write(`Initialized realm "${o.realm}" in ${url !== undefined ? `the database at ${displayUrl(url)}` : dir}; ${key}.\n`);
}

export interface RealmOpts { maxLife?: string; maxRenew?: string; clockSkew?: string; maxFailures?: string; failureWindow?: string; lockoutDuration?: string; enctypes?: string }

function realmChanges(o: RealmOpts) {
  const count = (opt: string, v: string | undefined) => (v === undefined ? undefined : /^\d{1,9}$/.test(v) ? Number(v) : bad(`invalid ${opt} "${v}": use a whole number`));
  const life = (opt: string, v: string | undefined) => (v === undefined ? undefined : parseLifetime(opt, v));
  const lockout = {
    maxFailures: count('--max-failures', o.maxFailures),
    failureWindow: life('--failure-window', o.failureWindow),
    lockoutDuration: life('--lockout-duration', o.lockoutDuration),
  };
  return strip({
    maxLife: life('--max-life', o.maxLife),
    maxRenew: life('--max-renew', o.maxRenew),
    clockSkew: life('--clock-skew', o.clockSkew),
    enctypes: o.enctypes === undefined ? undefined : parseEnctypes(o.enctypes),
    lockout: Object.values(lockout).some((v) => v !== undefined) ? strip(lockout) : undefined,
  });
}

function bad(message: string): never {
  throw new UsageError(message);
}

/** Drops undefined fields (the database's options treat "absent" and "undefined" alike, but dumps and equality read better). */
function strip<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

export async function cmdRealm(o: RealmOpts & StoreOpts, io: CliIo): Promise<void> {
  const changes = realmChanges(o);
  await withDb(o, io, async (db) => {
    const s = Object.keys(changes).length > 0 ? await db.updateSettings(changes) : db.settings();
    io.stdout.write(formatSettings(s));
  });
}

interface SecretOpts { password?: string; pwStdin?: boolean; randkey?: boolean }

/** Exactly one way to get the new key: --password, --pw-stdin, --randkey, or (on a terminal) a prompt. */
async function keySource(o: SecretOpts, io: CliIo, canonical: string): Promise<{ password: string } | { randkey: true }> {
  const given = [o.password !== undefined, o.pwStdin === true, o.randkey === true].filter(Boolean).length;
  if (given > 1) throw new UsageError('give only one of --password, --pw-stdin and --randkey');
  if (o.randkey === true) return { randkey: true };
  if (o.password !== undefined) return { password: o.password };
  if (o.pwStdin === true) return { password: await readPasswordLine(io.stdin) };
  if (!io.stdin.isTTY) throw new UsageError('no password given: use --password PW, --pw-stdin or --randkey');
  return { password: await promptNewPassword(io, `password for principal "${canonical}"`) };
}

interface PrincipalOpts { maxLife?: string; maxRenew?: string; expire?: string; pwexpire?: string; preauth?: boolean; allow?: string[]; disallow?: string[] }

const FLAG_ATTRIBUTES: Record<string, keyof PrincipalAttributes> = {
  forwardable: 'disallowForwardable', proxiable: 'disallowProxiable', renewable: 'disallowRenewable',
  postdated: 'disallowPostdated', svr: 'disallowSvr', tix: 'disallowAllTix',
};

function principalChanges(o: PrincipalOpts, io: CliIo) {
  const attributes: Partial<PrincipalAttributes> = {};
  for (const [list, disallow] of [[o.allow, false], [o.disallow, true]] as const) {
    for (const item of (list ?? []).flatMap((s) => s.split(','))) {
      const field = FLAG_ATTRIBUTES[item.trim().toLowerCase()];
      if (field === undefined) throw new UsageError(`unknown ticket kind "${item}" for --allow/--disallow: use ${Object.keys(FLAG_ATTRIBUTES).join(', ')}`);
      attributes[field] = disallow;
    }
  }
  return strip({
    maxLife: o.maxLife === undefined ? undefined : parseLifetime('--max-life', o.maxLife),
    maxRenew: o.maxRenew === undefined ? undefined : parseLifetime('--max-renew', o.maxRenew),
    expiresAt: o.expire === undefined ? undefined : parseDate('--expire', o.expire, now(io)),
    pwExpiresAt: o.pwexpire === undefined ? undefined : parseDate('--pwexpire', o.pwexpire, now(io)),
    requiresPreauth: o.preauth,
    attributes: Object.keys(attributes).length > 0 ? attributes : undefined,
  });
}

/**
 * --policy P (it must exist), --clear-policy (none), else the policy named
 * "default" when there is one, as kadmin addprinc does (with its NOTICE).
 */
function choosePolicy(db: RealmDatabase, canonical: string, o: { policy?: string; clearPolicy?: boolean }, io: CliIo) {
  if (o.policy !== undefined && o.clearPolicy === true) throw new UsageError('give only one of --policy and --clear-policy');
  if (o.policy !== undefined) {
    const p = db.policies.get(o.policy);
    if (p === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `policy "${o.policy}" does not exist (create it with "kdc addpol ${o.policy}")`);
    return p;
  }
  if (o.clearPolicy === true) return undefined;
  const dflt = db.policies.get('default');
  if (dflt !== undefined) io.stderr.write(`NOTICE: no policy specified for ${canonical}; assigning "default"\n`);
  return dflt;
}

export async function cmdAddprinc(name: string, o: PrincipalOpts & SecretOpts & StoreOpts & { enctypes?: string; kvno?: string; policy?: string; clearPolicy?: boolean }, io: CliIo): Promise<void> {
  const changes = principalChanges(o, io);
  const enctypes = o.enctypes === undefined ? undefined : parseEnctypes(o.enctypes);
  await withDb(o, io, async (db) => {
    const canonical = canonicalName(db, name);
    if ((await db.getPrincipal(name)) !== undefined) throw new KdcDbError('DUPLICATE', `principal ${canonical} already exists`);
    const policy = choosePolicy(db, canonical, o, io);
    const secret = await keySource(o, io, canonical);
    if (policy !== undefined && 'password' in secret) checkPasswordQuality(secret.password, policy, { principal: resolveName(name, db.realm).principal });
    const { expiresAt, pwExpiresAt, ...rest } = changes;
    // A policy with a maximum password life starts the new password's clock (kadm5_create_principal).
    const policyExpiry = policy !== undefined && policy.maxLife > 0 ? new Date(now(io).getTime() + policy.maxLife * 1000) : undefined;
    const expiry = pwExpiresAt ?? policyExpiry;
    const r = await db.addPrincipal(name, { ...rest, ...secret, ...(enctypes ? { enctypes } : {}), ...(expiresAt ? { expiresAt } : {}), ...(expiry ? { pwExpiresAt: expiry } : {}) });
    if (policy !== undefined) await db.policies.assign(r.canonicalName, policy.name);
    io.stdout.write(`Principal "${r.canonicalName}" created.\n`);
  });
}

/** The full name as the database spells it; throws BAD_NAME for a malformed one or another realm. */
function canonicalName(db: RealmDatabase, name: string): string {
  return resolveName(name, db.realm).canonicalName;
}

export async function cmdModprinc(name: string, o: PrincipalOpts & StoreOpts & { unlock?: boolean; policy?: string; clearPolicy?: boolean }, io: CliIo): Promise<void> {
  const changes = principalChanges(o, io);
  if (o.policy !== undefined && o.clearPolicy === true) throw new UsageError('give only one of --policy and --clear-policy');
  if (Object.keys(changes).length === 0 && o.unlock !== true && o.policy === undefined && o.clearPolicy !== true) throw new UsageError('nothing to change: give e.g. --max-life, --expire, --pwexpire, --policy, --preauth, --disallow or --unlock');
  await withDb(o, io, async (db) => {
    const existing = await db.getPrincipal(name);
    if (existing === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${canonicalName(db, name)} does not exist`);
    if (o.policy !== undefined || o.clearPolicy === true) {
      const policy = o.policy !== undefined ? choosePolicy(db, existing.canonicalName, o, io) : undefined;
      await db.policies.assign(existing.canonicalName, policy?.name);
      // The policy's maximum life counts from the last password change (kadm5_modify_principal).
      if (policy !== undefined && policy.maxLife > 0 && changes.pwExpiresAt === undefined) {
        changes.pwExpiresAt = new Date((existing.lastPwChange ?? now(io)).getTime() + policy.maxLife * 1000);
      }
    }
    const r = await db.modifyPrincipal(name, { ...changes, ...(o.unlock === true ? { unlock: true } : {}) });
    io.stdout.write(`Principal "${r.canonicalName}" modified.\n`);
  });
}

export async function cmdCpw(name: string, o: SecretOpts & StoreOpts & { keepold: boolean; enctypes?: string }, io: CliIo): Promise<void> {
  const enctypes = o.enctypes === undefined ? undefined : parseEnctypes(o.enctypes);
  await withDb(o, io, async (db) => {
    const existing = await db.getPrincipal(name);
    if (existing === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${canonicalName(db, name)} does not exist`);
    const secret = await keySource(o, io, existing.canonicalName);
    // A password set by an administrator meets the principal's policy too (not its minimum life).
    const r = 'password' in secret && enctypes === undefined
      ? await changePasswordUnderPolicy(db, existing.canonicalName, secret.password, { self: false, now: now(io), keepOld: o.keepold })
      : await db.changePassword(name, { ...secret, keepOld: o.keepold, ...(enctypes ? { enctypes } : {}) });
    io.stdout.write('randkey' in secret ? `Key for "${r.canonicalName}" randomized (kvno ${r.kvno}).\n` : `Password for "${r.canonicalName}" changed (kvno ${r.kvno}).\n`);
  });
}

export async function cmdDelprinc(name: string, o: StoreOpts & { force?: boolean }, io: CliIo): Promise<void> {
  await withDb(o, io, async (db) => {
    const r = await db.getPrincipal(name);
    if (r === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${canonicalName(db, name)} does not exist`);
    if (o.force !== true && io.stdin.isTTY) {
      io.stderr.write(`Are you sure you want to delete the principal "${r.canonicalName}"? (yes/no): `);
      const answer = await readLine(io);
      if (answer.trim().toLowerCase() !== 'yes') throw new UsageError(`principal "${r.canonicalName}" not deleted`);
    }
    await db.deletePrincipal(name);
    io.stdout.write(`Principal "${r.canonicalName}" deleted.\n`);
  });
}

function readLine(io: CliIo): Promise<string> {
  return new Promise((resolveLine) => {
    let text = '';
    const onData = (c: Buffer | string): void => {
      text += c.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        io.stdin.off('data', onData);
        io.stdin.pause();
        resolveLine(text.slice(0, nl));
      }
    };
    io.stdin.on('data', onData);
    io.stdin.resume();
  });
}

export async function cmdGetprinc(name: string, o: StoreOpts, io: CliIo): Promise<void> {
  await withDb(o, io, async (db) => {
    const r = await db.getPrincipal(name);
    if (r === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${canonicalName(db, name)} does not exist`);
    io.stdout.write(formatPrincipalRecord(r, db.settings(), now(io), db.policies.policyNameOf(r.canonicalName)));
  });
}

export async function cmdListprincs(glob: string | undefined, o: StoreOpts, io: CliIo): Promise<void> {
  await withDb(o, io, async (db) => {
    const names = await db.listPrincipals(glob);
    if (names.length > 0) io.stdout.write(names.join('\n') + '\n');
  });
}

export async function cmdKtadd(names: string[], o: StoreOpts & { keytab?: string; randkey?: boolean; enctypes?: string }, io: CliIo): Promise<void> {
  const path = resolveKeytabName(o.keytab, io.env);
  const only = o.enctypes === undefined ? undefined : parseEnctypes(o.enctypes);
  await withDb(o, io, async (db) => {
    for (const name of names) if ((await db.getPrincipal(name)) === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${canonicalName(db, name)} does not exist; no keytab entry written`);
    // MIT's ktadd: with randomization, the principal gets new keys (old kvno kept) and the keytab the new ones.
    if (o.randkey === true) for (const name of names) await db.changePassword(name, { randkey: true });
    const entries = (await db.keytabEntries(names, now(io))).filter((e) => only === undefined || only.includes(e.key.keytype));
    if (entries.length === 0) throw new UsageError('no key of the requested enctypes to write');
    addKeytabEntries(path, entries);
    for (const e of entries) {
      io.stdout.write(`Entry for principal ${formatPrincipal(e.principal)} with kvno ${e.kvno}, encryption type ${enctypeName(e.key.keytype)} added to keytab WRFILE:${path}.\n`);
    }
  });
}

export async function cmdDump(o: StoreOpts & { output?: string }, io: CliIo): Promise<void> {
  // Password policies, their assignments and the password history travel with the principals.
  const text = await withDb(o, io, async (db) => JSON.stringify({ ...((await db.dump()) as object), passwordPolicies: await db.policies.exportAll() }, null, 1) + '\n');
  if (o.output === undefined || o.output === '-') {
    io.stdout.write(text);
    return;
  }
  // 0600 from creation: a dump holds every (encrypted) key.
  const fd = openSync(o.output, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function cmdLoad(file: string, o: StoreOpts & { update?: boolean }, io: CliIo): Promise<void> {
  const text = file === '-' ? (await readAll(io.stdin)).toString('utf8') : readFileSync(file, 'utf8');
  let dump: unknown;
  try {
    dump = JSON.parse(text);
  } catch (e) {
    throw new KdcDbError('BAD_DUMP', `${file === '-' ? 'standard input' : file} is not JSON (${(e as Error).message}); give a file made by "kdc dump"`);
  }
  await withDb(o, io, async (db) => {
    const policies = (dump as { passwordPolicies?: unknown }).passwordPolicies;
    // Checked before anything is written, so that a bad policy part loses nothing either.
    const named = Array.isArray((dump as { principals?: unknown }).principals) ? (dump as { principals: { name?: unknown }[] }).principals.map((p) => String(p?.name)) : [];
    if (policies !== undefined) await db.policies.importAll(policies, o.update === true, { principals: new Set(named) });
    await db.load(dump, { update: o.update === true });
    if (policies !== undefined) await db.policies.importAll(policies, o.update === true);
    io.stdout.write(`Loaded ${Array.isArray((dump as { principals?: unknown }).principals) ? (dump as { principals: unknown[] }).principals.length : 0} principals into realm ${db.realm}${o.update === true ? ' (update)' : ''}.\n`);
  });
}
