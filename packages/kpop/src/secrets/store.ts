/**
 * The secrets of the challenge-response mechanisms, apart from the Kerberos
 * keys (which live in the KDC's database):
 *   - SCRAM-SHA-1 and SCRAM-SHA-256: salt, iteration count, StoredKey and
 *     ServerKey only (RFC 5802 §3); these let nobody log in.
 *   - APOP, CRAM-MD5 and NTLM need a password-equivalent: the password
 *     itself, AES-256-GCM encrypted under a key file (32 random bytes,
 *     0600), the user name bound as associated data. Whoever reads both the
 *     store and the key file can log in as every user in it.
 * The store is one JSON file, written atomically (temporary file, fsync,
 * rename) with mode 0600, and reread by a running server when it changes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { scramCredential } from '../mechs/scram.js';
import type { MechSecrets, ScramCredential, ScramHash } from '../mechs/secrets.js';
import { SaslError } from '../mechs/sasl-types.js';

export const SECRETS_FORMAT = 'kpop-secrets-1';
const KEY_BYTES = 32;
const SCRAM_HASHES: ScramHash[] = ['SHA-1', 'SHA-256'];

export class SecretsError extends Error {
  override name = 'SecretsError';
}

interface StoredScram { salt: string; i: number; stored: string; server: string }
interface StoredUser { scram: Partial<Record<ScramHash, StoredScram>>; password?: string; updated: string }
interface StoredFile { format: string; users: Record<string, StoredUser> }

export interface SecretsPaths {
  /** The store (JSON). */
  file: string;
  /** The key file that encrypts the password-equivalents. */
  keyFile: string;
}

export interface SetOptions {
  /** Keep only the SCRAM verifiers (APOP, CRAM-MD5 and NTLM then fail for this user). */
  scramOnly?: boolean;
  iterations?: number;
}

export interface UserSummary {
  user: string;
  mechanisms: string[];
  updated: string;
}

/** User names as POP3 and SASL carry them: printable, no spaces, at most 255 bytes. */
export function isValidSecretUser(user: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(user);
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

function aad(user: string): Buffer {
  return Buffer.from(`${SECRETS_FORMAT}\0${user}`);
}

export class SecretsStore {
  private data: StoredFile = { format: SECRETS_FORMAT, users: {} };
  private loaded = '';
  private key?: Buffer;

  constructor(readonly paths: SecretsPaths) {}

  // ---- files -------------------------------------------------------------

  /** Reads the store if it changed on disk since the last read (missing = empty). */
  reload(): void {
    let stamp: string;
    try {
      // The inode changes at every atomic rename: a change within one mtime tick is still seen.
      const st = statSync(this.paths.file);
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.data = { format: SECRETS_FORMAT, users: {} };
        this.loaded = '';
        return;
      }
      throw new SecretsError(`cannot read ${this.paths.file}: ${(e as NodeJS.ErrnoException).code}`);
    }
    if (stamp === this.loaded) return;
    let parsed: StoredFile;
    try {
      parsed = JSON.parse(readFileSync(this.paths.file, 'utf8')) as StoredFile;
    } catch (e) {
      throw new SecretsError(`${this.paths.file} is not a kpop secrets store (${(e as Error).message})`);
    }
    if (parsed?.format !== SECRETS_FORMAT || typeof parsed.users !== 'object' || parsed.users === null) {
      throw new SecretsError(`${this.paths.file} is not a kpop secrets store (format ${String(parsed?.format)})`);
    }
    this.data = parsed;
    this.loaded = stamp;
  }

  private save(): void {
    writeAtomic(this.paths.file, JSON.stringify(this.data, null, 1) + '\n');
    const st = statSync(this.paths.file);
    this.loaded = `${st.ino}:${st.mtimeMs}:${st.size}`;
  }

  /** The key file's key; created (0600) when `create` and absent. */
  private loadKey(create: boolean): Buffer {
    if (this.key) return this.key;
    if (!existsSync(this.paths.keyFile)) {
      if (!create) throw new SecretsError(`key file ${this.paths.keyFile} is missing: the stored password-equivalents cannot be read`);
      writeAtomic(this.paths.keyFile, randomBytes(KEY_BYTES));
    }
    const st = statSync(this.paths.keyFile);
    if ((st.mode & 0o077) !== 0) throw new SecretsError(`key file ${this.paths.keyFile} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    const key = readFileSync(this.paths.keyFile);
    if (key.length !== KEY_BYTES) throw new SecretsError(`key file ${this.paths.keyFile} is not ${KEY_BYTES} bytes`);
    this.key = key;
    return key;
  }

  // ---- administration -------------------------------------------------------

  set(user: string, password: string, o: SetOptions = {}): void {
    if (!isValidSecretUser(user)) throw new SecretsError(`"${user.replace(/[^\x21-\x7e]/g, '?')}" is not a valid user name (printable ASCII, no spaces)`);
    if (!password) throw new SecretsError('the password is empty');
    this.reload();
    const scram: StoredUser['scram'] = {};
    for (const h of SCRAM_HASHES) {
      const c = scramCredential(h, password, randomBytes(16), o.iterations ?? 4096);
      scram[h] = { salt: b64(c.salt), i: c.iterations, stored: b64(c.storedKey), server: b64(c.serverKey) };
    }
    const entry: StoredUser = { scram, updated: new Date().toISOString() };
    if (!o.scramOnly) {
      const key = this.loadKey(true);
      const nonce = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, nonce);
      c.setAAD(aad(user));
      const ct = Buffer.concat([c.update(password, 'utf8'), c.final()]);
      entry.password = b64(Buffer.concat([nonce, ct, c.getAuthTag()]));
    }
    this.data.users[user] = entry;
    this.save();
  }

  /** true when the user had secrets. */
  delete(user: string): boolean {
    this.reload();
    if (!Object.hasOwn(this.data.users, user)) return false;
    delete this.data.users[user];
    this.save();
    return true;
  }

  list(): UserSummary[] {
    this.reload();
    return Object.entries(this.data.users).sort(([a], [b]) => (a < b ? -1 : 1)).map(([user, e]) => ({
      user,
      mechanisms: [
        ...(e.password ? ['APOP', 'CRAM-MD5', 'NTLM'] : []),
        ...SCRAM_HASHES.filter((h) => e.scram?.[h]).map((h) => `SCRAM-${h}`),
      ],
      updated: e.updated,
    }));
  }

  // ---- lookups (the server) -------------------------------------------------

  private entry(user: string): StoredUser | undefined {
    this.reload();
    return Object.hasOwn(this.data.users, user) ? this.data.users[user] : undefined;
  }

  password(user: string): string | undefined {
    const e = this.entry(user);
    if (!e?.password) return undefined;
    const raw = Buffer.from(e.password, 'base64');
    if (raw.length < 12 + 16) throw new SecretsError(`the stored secret of ${user} is damaged`);
    const d = createDecipheriv('aes-256-gcm', this.loadKey(false), raw.subarray(0, 12));
    d.setAAD(aad(user));
    d.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
    } catch {
      throw new SecretsError(`the stored secret of ${user} does not open with ${this.paths.keyFile} (wrong key file, or the store was edited)`);
    }
  }

  scram(user: string, h: ScramHash): ScramCredential | undefined {
    const s = this.entry(user)?.scram?.[h];
    if (!s) return undefined;
    return { salt: Buffer.from(s.salt, 'base64'), iterations: s.i, storedKey: Buffer.from(s.stored, 'base64'), serverKey: Buffer.from(s.server, 'base64') };
  }
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

export interface LockoutPolicy {
  /** Failures before the user is locked out (0 = never). */
  maxFailures: number;
  /** Failures older than this are forgotten (ms). */
  windowMs: number;
  /** How long a lockout lasts (ms). */
  durationMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: 10 * 60_000, durationMs: 10 * 60_000 };

/**
 * Failures per user name across every mechanism the mail server checks
 * itself (APOP, CRAM-MD5, SCRAM, NTLM): a wrong secret counts like a wrong
 * password, and a locked-out user is refused even with the right one.
 */
export class Lockout {
  private readonly failures = new Map<string, number[]>();
  private readonly lockedUntil = new Map<string, number>();
  constructor(private readonly policy: LockoutPolicy = DEFAULT_LOCKOUT, private readonly now: () => number = Date.now) {}

  check(user: string): void {
    const until = this.lockedUntil.get(user);
    if (until === undefined) return;
    if (this.now() < until) throw new SaslError(`${user} is locked out after too many failures`);
    this.lockedUntil.delete(user);
  }

  fail(user: string): void {
    if (this.policy.maxFailures <= 0) return;
    const t = this.now();
    const list = (this.failures.get(user) ?? []).filter((x) => t - x < this.policy.windowMs);
    list.push(t);
    if (list.length >= this.policy.maxFailures) {
      this.lockedUntil.set(user, t + this.policy.durationMs);
      this.failures.delete(user);
    } else this.failures.set(user, list);
    // Bound the memory an attacker can make us use with made-up names.
    if (this.failures.size > 100_000) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(user: string): void {
    this.failures.delete(user);
  }
}

/** The store and the lockout as the mechanisms see them. */
export function mechSecrets(store: SecretsStore, lockout = new Lockout()): MechSecrets {
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      // A damaged store or a missing key file is the server's problem: [SYS/TEMP], not a wrong password.
      if (e instanceof SecretsError) throw new SaslError(e.message, true, e);
      throw e;
    }
  };
  return {
    password: async (u) => wrap(() => store.password(u)),
    scram: async (u, h) => wrap(() => store.scram(u, h)),
    checkLocked: (u) => lockout.check(u),
    failed: (u) => lockout.fail(u),
    succeeded: (u) => lockout.succeed(u),
  };
}
