/**
 * RFC 3961 building blocks shared by the AES profiles: the key-usage
 * constants of the simplified profile (§5.3), DR and DK (§5.1), parameter
 * checks and the typed errors the Enctype contract promises.
 */
import { timingSafeEqual } from 'node:crypto';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { AES_BLOCK, AesKey } from './aes-cts.js';
import { nfold } from './nfold.js';

/** §5.3: the last byte of the derivation constant selects the usage key. */
export const KC = 0x99;
export const KE = 0xaa;
export const KI = 0x55;

/** usage as a 32-bit big-endian number followed by the key-kind byte (§5.3). */
export function usageConstant(usage: number, kind: number): Uint8Array {
  if (!Number.isInteger(usage) || usage < 0 || usage > 0xffffffff) {
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Invalid key usage ${usage}`);
  }
  const c = new Uint8Array(5);
  new DataView(c.buffer).setUint32(0, usage);
  c[4] = kind;
  return c;
}

/**
 * DR(Key, Constant) = k-truncate(E(Key, n-fold(Constant)) ‖ E(Key, previous) …)
 * (§5.1), with E the AES block encryption and zero IV: a single block of CBC,
 * i.e. AES-ECB. One ECB context serves every constant given.
 */
export function deriveRandoms(baseKey: Uint8Array, constants: readonly Uint8Array[], outBytes: number): Uint8Array[] {
  const folded = new Uint8Array(constants.length * AES_BLOCK);
  constants.forEach((c, i) => folded.set(nfold(c, AES_BLOCK), i * AES_BLOCK));
  return deriveRandomsFolded(baseKey, folded, outBytes);
}

/**
 * DR (§5.1) for several constants at once, given their n-folds as
 * consecutive blocks: the chains are independent, so each round encrypts
 * the current block of every chain in one ECB call (a new key's Ke and Ki
 * cost two AES calls for AES-256, one for AES-128, instead of two per key).
 */
export function deriveRandomsFolded(baseKey: Uint8Array, folded: Uint8Array, outBytes: number): Uint8Array[] {
  const aes = new AesKey(baseKey);
  const m = folded.length / AES_BLOCK;
  const out: Uint8Array[] = [];
  for (let c = 0; c < m; c++) out.push(new Uint8Array(outBytes));
  let blocks: Uint8Array = folded;
  for (let off = 0; off < outBytes; off += AES_BLOCK) {
    blocks = aes.encryptBlocks(blocks);
    const n = Math.min(AES_BLOCK, outBytes - off);
    for (let c = 0; c < m; c++) out[c]!.set(blocks.subarray(c * AES_BLOCK, c * AES_BLOCK + n), off);
  }
  return out;
}

/** n-fold(usage ‖ kind) to one AES block, by usage: Kc, Ke, Ki in that order (48 bytes). */
const foldedByUsage = new Map<number, Uint8Array>();
const MAX_FOLDED = 1024;

/**
 * The n-folded §5.3 constants of a key usage, Kc ‖ Ke ‖ Ki (16 bytes each):
 * every new key needs them, and they depend on the usage alone. Bounded
 * (usages come from our code, but GSS and PRF callers may name others).
 */
export function foldedUsageConstants(usage: number): Uint8Array {
  let f = foldedByUsage.get(usage);
  if (f === undefined) {
    f = new Uint8Array(3 * AES_BLOCK);
    f.set(nfold(usageConstant(usage, KC), AES_BLOCK), 0);
    f.set(nfold(usageConstant(usage, KE), AES_BLOCK), AES_BLOCK);
    f.set(nfold(usageConstant(usage, KI), AES_BLOCK), 2 * AES_BLOCK);
    if (foldedByUsage.size >= MAX_FOLDED) foldedByUsage.clear();
    foldedByUsage.set(usage, f);
  }
  return f;
}

export function deriveRandom(baseKey: Uint8Array, constant: Uint8Array, outBytes: number): Uint8Array {
  return deriveRandoms(baseKey, [constant], outBytes)[0]!;
}

/** DK(Key, Constant) = random-to-key(DR(Key, Constant)); random-to-key is the identity for AES. */
export function deriveKey(baseKey: Uint8Array, constant: Uint8Array): Uint8Array {
  return deriveRandom(baseKey, constant, baseKey.length);
}

/** Reject a key of the wrong length before OpenSSL sees it. */
export function checkKey(name: string, keySize: number, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== keySize) {
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `${name} key must be ${keySize} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`);
  }
}

export function integrityError(detail: string): KrbError {
  return new KrbError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, `Integrity check on decrypted field failed (${detail})`);
}

/** Compare a received MAC with the expected one without leaking where they differ. */
export function macEqual(expected: Uint8Array, received: Uint8Array): boolean {
  if (expected.length !== received.length) return false;
  return timingSafeEqual(expected, received);
}

export function toBytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? new TextEncoder().encode(s) : s;
}

/**
 * The largest PBKDF2 iteration count string-to-key accepts from s2kparams.
 * ETYPE-INFO2 arrives unauthenticated (RFC 4120 §5.2.7.5), so a hostile or
 * broken KDC could name 2^32 - 1 iterations and hang the client for hours;
 * 2^24 (16,777,216: 512 times RFC 8009's default, a few seconds to tens of
 * seconds of PBKDF2) is far above any real deployment.
 */
export const MAX_S2K_ITERATIONS = 2 ** 24;

/**
 * s2kparams for the AES profiles (RFC 3962 §4, RFC 8009 §4): exactly four
 * bytes, the big-endian iteration count. Absent means the default. Another
 * length, or more than MAX_S2K_ITERATIONS is refused with
 * KDC_ERR_PREAUTH_FAILED (0 means 2^32, RFC 3962 §4; the key cannot be computed, so pre-auth cannot
 * succeed).
 */
export function iterationsFrom(s2kparams: Uint8Array | undefined, defaultIterations: number): number {
  if (s2kparams === undefined) return defaultIterations;
  if (s2kparams.length !== 4) {
    throw new KrbError(ErrorCode.KDC_ERR_PREAUTH_FAILED, `Invalid string-to-key parameters: expected 4 bytes, got ${s2kparams.length}`);
  }
  // RFC 3962 §4: the value 0 stands for 2^32 iterations.
  const n = new DataView(s2kparams.buffer, s2kparams.byteOffset, 4).getUint32(0) || 2 ** 32;
  if (n > MAX_S2K_ITERATIONS) {
    throw new KrbError(ErrorCode.KDC_ERR_PREAUTH_FAILED, `Invalid string-to-key parameters: ${n} iterations exceeds the maximum ${MAX_S2K_ITERATIONS}`);
  }
  return n;
}

/** s2kparams bytes for an iteration count (what a KDC puts in ETYPE-INFO2). */
export function s2kparamsFor(iterations: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, iterations);
  return b;
}
