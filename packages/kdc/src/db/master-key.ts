/**
 * The KDC master key: the key every principal key is encrypted under at rest
 * (MIT's K/M). It comes either from a stash file made at `kdc init` (MIT's
 * kdb5_util -s) or from a master password typed by the operator.
 *
 * Encryption at rest: AES-256-GCM from node:crypto (OpenSSL), chosen over a
 * Kerberos enctype because it is authenticated, needs no key derivation per
 * key and is independent of the Kerberos crypto it protects. Each blob binds
 * the principal name, kvno and enctype as additional authenticated data, so
 * that a key row copied onto another principal (or another kvno) in the SQLite
 * file fails to decrypt instead of silently granting that principal's key.
 *
 * Blob layout: version (1 byte, 1) ‖ nonce (12) ‖ ciphertext ‖ GCM tag (16).
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, renameSync, writeSync, chmodSync } from 'node:fs';
import { KdcDbError } from './errors.js';

export const MASTER_KEY_LENGTH = 32;
const BLOB_VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;

/** Stash file: magic "KPOPSTSH", u16 version, u16 algorithm (1 = AES-256-GCM), u16 key length, key. */
const STASH_MAGIC = Buffer.from('KPOPSTSH', 'latin1');
const STASH_VERSION = 1;
const STASH_ALG_AES256_GCM = 1;

/** What encrypts the fixed check value stored in the database (a wrong master key fails on it). */
const CHECK_PLAINTEXT = Buffer.from('kpop-kdc master key check v1', 'latin1');
const CHECK_AAD = 'kpop-kdc:master-key-check';

export class MasterKey {
  readonly #key: Buffer;
  constructor(key: Uint8Array) {
    if (key.length !== MASTER_KEY_LENGTH) throw new KdcDbError('BAD_MASTER_KEY', `master key must be ${MASTER_KEY_LENGTH} bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
  }

  static random(): MasterKey {
    return new MasterKey(randomBytes(MASTER_KEY_LENGTH));
  }

  encrypt(plaintext: Uint8Array, aad: string): Uint8Array {
    const nonce = randomBytes(NONCE_LENGTH);
    const c = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_LENGTH });
    c.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([Buffer.of(BLOB_VERSION), nonce, body, c.getAuthTag()]);
  }

  /** Throws KdcDbError MASTER_KEY_MISMATCH when the tag does not verify (wrong key, altered row, moved row). */
  decrypt(blob: Uint8Array, aad: string): Uint8Array {
    if (blob.length < 1 + NONCE_LENGTH + TAG_LENGTH || blob[0] !== BLOB_VERSION) {
      throw new KdcDbError('CORRUPT', `encrypted key for ${aad} is malformed`);
    }
    const b = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
    const nonce = b.subarray(1, 1 + NONCE_LENGTH);
    const tag = b.subarray(b.length - TAG_LENGTH);
    const body = b.subarray(1 + NONCE_LENGTH, b.length - TAG_LENGTH);
    const d = createDecipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_LENGTH });
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(tag);
    try {
      return new Uint8Array(Buffer.concat([d.update(body), d.final()]));
    } catch {
      throw new KdcDbError('MASTER_KEY_MISMATCH', `the key of ${aad} does not decrypt under the master key (wrong master key or altered database)`);
    }
  }

  /** The value stored in the database so that a wrong master key is told apart from a damaged row. */
  makeCheck(): Uint8Array {
    return this.encrypt(CHECK_PLAINTEXT, CHECK_AAD);
  }

  verifyCheck(check: Uint8Array): boolean {
    try {
      return Buffer.from(this.decrypt(check, CHECK_AAD)).equals(CHECK_PLAINTEXT);
    } catch {
      return false;
    }
  }

  /** Only for the stash file. */
  exportBytes(): Uint8Array {
    return new Uint8Array(this.#key);
  }
}

/** How a master key is derived from a master password (stored in the database, never the password). */
export interface MasterKdfParams { alg: 'scrypt'; salt: string /* base64 */; N: number; r: number; p: number }

/** scrypt N=2^15, r=8, p=1: about 0.1 s and 32 MiB, once per process start, never per request. */
export function newKdfParams(): MasterKdfParams {
  return { alg: 'scrypt', salt: randomBytes(16).toString('base64'), N: 1 << 15, r: 8, p: 1 };
}

export function deriveMasterKey(password: string, params: MasterKdfParams): MasterKey {
  if (params.alg !== 'scrypt') throw new KdcDbError('CORRUPT', `unknown master key derivation "${String(params.alg)}"`);
  const key = scryptSync(password.normalize('NFC'), Buffer.from(params.salt, 'base64'), MASTER_KEY_LENGTH, {
    N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024,
  });
  return new MasterKey(key);
}

export function serializeStash(key: MasterKey): Uint8Array {
  const header = Buffer.alloc(STASH_MAGIC.length + 6);
  STASH_MAGIC.copy(header, 0);
  header.writeUInt16BE(STASH_VERSION, 8);
  header.writeUInt16BE(STASH_ALG_AES256_GCM, 10);
  header.writeUInt16BE(MASTER_KEY_LENGTH, 12);
  return Buffer.concat([header, key.exportBytes()]);
}

export function parseStash(bytes: Uint8Array, path = 'stash file'): MasterKey {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < 14 || !b.subarray(0, 8).equals(STASH_MAGIC)) throw new KdcDbError('BAD_STASH', `${path} is not a kpop KDC stash file`);
  const version = b.readUInt16BE(8);
  const alg = b.readUInt16BE(10);
  const len = b.readUInt16BE(12);
  if (version !== STASH_VERSION || alg !== STASH_ALG_AES256_GCM) throw new KdcDbError('BAD_STASH', `${path} has unsupported version ${version} / algorithm ${alg}`);
  if (len !== MASTER_KEY_LENGTH || b.length !== 14 + len) throw new KdcDbError('BAD_STASH', `${path} is truncated or has a bad key length`);
  return new MasterKey(b.subarray(14));
}

/** Written to a temporary file created 0600 (never readable by others, even briefly), then renamed. */
export function writeStashFile(path: string, key: MasterKey): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, serializeStash(key));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function readStashFile(path: string): MasterKey {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KdcDbError('NO_MASTER_KEY', `no stash file at ${path}: give the master password`);
    throw new KdcDbError('BAD_STASH', `cannot read stash file ${path}: ${code ?? String(e)}`);
  }
  return parseStash(bytes, path);
}
