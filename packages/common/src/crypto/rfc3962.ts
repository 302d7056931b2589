/**
 * RFC 3962: aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18),
 * built on the RFC 3961 §5.3 simplified profile:
 *   encrypt  = CTS(Ke, confounder ‖ plaintext) ‖ HMAC-SHA1(Ki, confounder ‖ plaintext)[0..12]
 *   checksum = HMAC-SHA1(Kc, data)[0..12]        (types 15 and 16)
 *   s2k      = DK(PBKDF2-HMAC-SHA1(password, salt, iterations), "kerberos")
 *   prf      = AES(DK(key, "prf"), SHA-1(input)[0..16])
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { ChecksumType, EncType } from '../krb5/constants.js';
import type { Enctype } from './enctype.js';
import { AES_BLOCK, AesKey, Scratch } from './aes-cts.js';
import { DerivedKeyCache, derivedSlot } from './key-cache.js';
import { freshRandom, pooledRandom } from './random.js';
import {
  KC, KE, KI, checkKey, deriveKey, deriveRandoms, integrityError, iterationsFrom, macEqual, toBytes, usageConstant,
} from './rfc3961.js';

const MAC_SIZE = 12; // HMAC-SHA1-96 (RFC 3962 §6)
const KERBEROS = new TextEncoder().encode('kerberos');
const PRF_LABEL = new TextEncoder().encode('prf');

interface CipherKeys {
  ke: AesKey;
  ki: Buffer;
}

/** Derived Ke/Ki and Kc per (enctype, usage, key); bounded so hostile key churn cannot grow memory. */
const cipherKeys = new DerivedKeyCache<CipherKeys>(1024);
const checksumKeys = new DerivedKeyCache<Buffer>(1024);
const encryptScratch = new Scratch();
/** For tests: the sizes of the derived-key caches. */
export const derivedKeyCacheSizes = (): number[] => [cipherKeys.size, checksumKeys.size];

export class AesSha1Enctype implements Enctype {
  readonly checksumSize = MAC_SIZE;
  readonly overhead = AES_BLOCK + MAC_SIZE;
  /** RFC 3962 §4: default iteration count 4096. */
  readonly defaultIterations = 4096;
  readonly prfSize = AES_BLOCK;

  constructor(
    readonly etype: number,
    readonly name: string,
    readonly keySize: number,
    readonly checksumType: number,
  ) {}

  private cipherKeys(key: Uint8Array, usage: number): CipherKeys {
    const slot = derivedSlot(this.etype, usage, 0);
    let k = cipherKeys.get(key, slot);
    if (k === undefined) {
      checkKey(this.name, this.keySize, key);
      const [ke, ki] = deriveRandoms(key, [usageConstant(usage, KE), usageConstant(usage, KI)], key.length);
      k = { ke: new AesKey(ke!), ki: Buffer.from(ki!) };
      cipherKeys.set(key, slot, k);
    }
    return k;
  }

  private checksumKey(key: Uint8Array, usage: number): Buffer {
    const slot = derivedSlot(this.etype, usage, 1);
    let k = checksumKeys.get(key, slot);
    if (k === undefined) {
      checkKey(this.name, this.keySize, key);
      k = Buffer.from(deriveKey(key, usageConstant(usage, KC)));
      checksumKeys.set(key, slot, k);
    }
    return k;
  }

  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Uint8Array {
    const { ke, ki } = this.cipherKeys(key, usage);
    const conf = confounder ?? pooledRandom(AES_BLOCK);
    if (conf.length !== AES_BLOCK) throw new RangeError(`confounder must be ${AES_BLOCK} bytes`);
    const n = AES_BLOCK + plaintext.length;
    // confounder ‖ plaintext, zero-padded to whole blocks for the single CBC pass.
    const data = encryptScratch.get(Math.ceil(n / AES_BLOCK) * AES_BLOCK);
    data.set(conf);
    data.set(plaintext, AES_BLOCK);
    data.fill(0, n);
    const mac = createHmac('sha1', ki).update(data.subarray(0, n)).digest();
    const out = new Uint8Array(n + MAC_SIZE);
    ke.ctsEncryptInto(data, n, out, 0);
    out.set(mac.subarray(0, MAC_SIZE), n);
    return out;
  }

  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length < AES_BLOCK + MAC_SIZE) throw integrityError(`${this.name} ciphertext of ${ciphertext.length} bytes is too short`);
    const { ke, ki } = this.cipherKeys(key, usage);
    const split = ciphertext.length - MAC_SIZE;
    const data = ke.ctsDecrypt(ciphertext.subarray(0, split));
    // The MAC covers the plaintext (RFC 3961 §5.3), so it is checked after decryption.
    const mac = createHmac('sha1', ki).update(data).digest().subarray(0, MAC_SIZE);
    if (!macEqual(mac, ciphertext.subarray(split))) throw integrityError(`${this.name}, key usage ${usage}`);
    // A copy with its own ArrayBuffer (not a view into Node's shared Buffer pool).
    return new Uint8Array(data.subarray(AES_BLOCK));
  }

  checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array {
    const kc = this.checksumKey(key, usage);
    return new Uint8Array(createHmac('sha1', kc).update(data).digest().subarray(0, MAC_SIZE));
  }

  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, mac: Uint8Array): boolean {
    // Compared in place: no copy of the expected MAC is handed out.
    const kc = this.checksumKey(key, usage);
    return macEqual(createHmac('sha1', kc).update(data).digest().subarray(0, MAC_SIZE), mac);
  }

  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, s2kparams?: Uint8Array): Uint8Array {
    const iterations = iterationsFrom(s2kparams, this.defaultIterations);
    const tkey = pbkdf2Sync(toBytes(password), toBytes(salt), iterations, this.keySize, 'sha1');
    return deriveKey(tkey, KERBEROS);
  }

  randomKey(): Uint8Array {
    return freshRandom(this.keySize);
  }

  randomToKey(bits: Uint8Array): Uint8Array {
    if (bits.length !== this.keySize) throw new RangeError(`${this.name} random-to-key needs ${this.keySize} bytes`);
    return new Uint8Array(bits);
  }

  /** RFC 3962 §6: tmp = SHA-1(input) cut to whole blocks (16 bytes); PRF = E(DK(key, "prf"), tmp). */
  prf(key: Uint8Array, input: Uint8Array): Uint8Array {
    checkKey(this.name, this.keySize, key);
    const tmp = createHash('sha1').update(input).digest().subarray(0, AES_BLOCK);
    return new Uint8Array(new AesKey(deriveKey(key, PRF_LABEL)).encryptBlocks(tmp));
  }
}

export const aes128CtsHmacSha196 = new AesSha1Enctype(EncType.AES128_CTS_HMAC_SHA1_96, 'aes128-cts-hmac-sha1-96', 16, ChecksumType.HMAC_SHA1_96_AES128);
export const aes256CtsHmacSha196 = new AesSha1Enctype(EncType.AES256_CTS_HMAC_SHA1_96, 'aes256-cts-hmac-sha1-96', 32, ChecksumType.HMAC_SHA1_96_AES256);
