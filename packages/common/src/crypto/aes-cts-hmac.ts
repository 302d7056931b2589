/**
 * What RFC 3962 (AES-CTS with HMAC-SHA1-96) and RFC 8009 (AES-CTS with
 * HMAC-SHA2) share: the derived-key caching, the message framing
 *   ciphertext = CTS(Ke, confounder ‖ plaintext) ‖ HMAC(Ki, …)[0..h]
 * with a one-block confounder, the checksum HMAC(Kc, data)[0..h], and
 * random-to-key as the identity. What differs — how Ke/Ki/Kc are derived and
 * what the MAC covers (RFC 3961 §5.3 plaintext vs RFC 8009 §5 IV ‖ ciphertext)
 * — each profile says in its own file, through the abstract methods below.
 */
import { createHmac, type Hmac } from 'node:crypto';
import type { Enctype } from './enctype.js';
import { AES_BLOCK, AesKey, Scratch } from './aes-cts.js';
import { DerivedKeyCache, derivedSlot } from './key-cache.js';
import { freshRandom, pooledRandom } from './random.js';
import { checkKey, integrityError, macEqual } from './rfc3961.js';

export interface CipherKeys {
  ke: AesKey;
  ki: Buffer;
}

/** Each profile's own derived-key caches (bounded so hostile key churn cannot grow memory). */
export interface DerivedKeyCaches {
  cipher: DerivedKeyCache<CipherKeys>;
  checksum: DerivedKeyCache<Buffer>;
}

/** Encryption is synchronous and never re-entered, so one work buffer serves both profiles. */
const encryptScratch = new Scratch();

export abstract class AesCtsHmacEnctype implements Enctype {
  abstract readonly etype: number;
  abstract readonly name: string;
  abstract readonly keySize: number;
  abstract readonly checksumType: number;
  abstract readonly checksumSize: number;
  abstract readonly overhead: number;
  abstract readonly defaultIterations: number;
  abstract readonly prfSize: number;

  constructor(
    /** The HMAC hash of Ki and Kc. */
    private readonly macHash: 'sha1' | 'sha256' | 'sha384',
    private readonly caches: DerivedKeyCaches,
  ) {}

  /** Ke and Ki for a key usage (the key is already checked). */
  protected abstract deriveCipherKeys(key: Uint8Array, usage: number): CipherKeys;
  /** Kc for a key usage (the key is already checked). */
  protected abstract deriveChecksumKey(key: Uint8Array, usage: number): Uint8Array;
  /**
   * Encrypt the first n bytes of data (confounder ‖ plaintext, zero-padded to
   * whole blocks; the CTS pass may overwrite it) into out[0..n] and put the
   * truncated MAC at out[n..].
   */
  protected abstract seal(k: CipherKeys, data: Buffer, n: number, out: Uint8Array): void;
  /** confounder ‖ plaintext from the CTS ciphertext c, or undefined when mac is not the right one. */
  protected abstract open(k: CipherKeys, c: Uint8Array, mac: Uint8Array): Uint8Array | undefined;

  protected cipherKeys(key: Uint8Array, usage: number): CipherKeys {
    const slot = derivedSlot(this.etype, usage, 0);
    let k = this.caches.cipher.get(key, slot);
    if (k === undefined) {
      checkKey(this.name, this.keySize, key);
      k = this.deriveCipherKeys(key, usage);
      this.caches.cipher.admit(key, slot, k);
    }
    return k;
  }

  private checksumKey(key: Uint8Array, usage: number): Buffer {
    const slot = derivedSlot(this.etype, usage, 1);
    let k = this.caches.checksum.get(key, slot);
    if (k === undefined) {
      checkKey(this.name, this.keySize, key);
      k = Buffer.from(this.deriveChecksumKey(key, usage));
      this.caches.checksum.admit(key, slot, k);
    }
    return k;
  }

  /** A keyed HMAC with the profile's hash; callers truncate to checksumSize. */
  protected hmac(k: Buffer): Hmac {
    return createHmac(this.macHash, k);
  }

  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Uint8Array {
    const k = this.cipherKeys(key, usage);
    const conf = confounder ?? pooledRandom(AES_BLOCK);
    if (conf.length !== AES_BLOCK) throw new RangeError(`confounder must be ${AES_BLOCK} bytes`);
    const n = AES_BLOCK + plaintext.length;
    // confounder ‖ plaintext, zero-padded to whole blocks for the single CBC pass.
    const data = encryptScratch.get(Math.ceil(n / AES_BLOCK) * AES_BLOCK);
    data.set(conf);
    data.set(plaintext, AES_BLOCK);
    data.fill(0, n);
    const out = new Uint8Array(n + this.checksumSize);
    this.seal(k, data, n, out);
    return out;
  }

  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length < AES_BLOCK + this.checksumSize) throw integrityError(`${this.name} ciphertext of ${ciphertext.length} bytes is too short`);
    const k = this.cipherKeys(key, usage);
    const split = ciphertext.length - this.checksumSize;
    const data = this.open(k, ciphertext.subarray(0, split), ciphertext.subarray(split));
    if (data === undefined) throw integrityError(`${this.name}, key usage ${usage}`);
    // A copy with its own ArrayBuffer (not a view into Node's shared Buffer pool).
    return new Uint8Array(data.subarray(AES_BLOCK));
  }

  checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array {
    const kc = this.checksumKey(key, usage);
    return new Uint8Array(this.hmac(kc).update(data).digest().subarray(0, this.checksumSize));
  }

  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, mac: Uint8Array): boolean {
    // Compared in place: no copy of the expected MAC is handed out.
    const kc = this.checksumKey(key, usage);
    return macEqual(this.hmac(kc).update(data).digest().subarray(0, this.checksumSize), mac);
  }

  abstract stringToKey(password: string | Uint8Array, salt: string | Uint8Array, s2kparams?: Uint8Array): Uint8Array;
  abstract prf(key: Uint8Array, input: Uint8Array): Uint8Array;

  randomKey(): Uint8Array {
    return freshRandom(this.keySize);
  }

  /** RFC 3962 §6 and RFC 8009 §5: random-to-key is the identity. */
  randomToKey(bits: Uint8Array): Uint8Array {
    if (bits.length !== this.keySize) throw new RangeError(`${this.name} random-to-key needs ${this.keySize} bytes`);
    return new Uint8Array(bits);
  }
}
