/**
 * RFC 3962: aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18),
 * built on the RFC 3961 §5.3 simplified profile:
 *   encrypt  = CTS(Ke, confounder ‖ plaintext) ‖ HMAC-SHA1(Ki, confounder ‖ plaintext)[0..12]
 *   checksum = HMAC-SHA1(Kc, data)[0..12]        (types 15 and 16)
 *   s2k      = DK(PBKDF2-HMAC-SHA1(password, salt, iterations), "kerberos")
 *   prf      = AES(DK(key, "prf"), SHA-1(input)[0..16])
 */
import { createHash, pbkdf2Sync } from 'node:crypto';
import { ChecksumType, EncType } from '../krb5/constants.js';
import { AES_BLOCK, AesKey } from './aes-cts.js';
import { AesCtsHmacEnctype, type CipherKeys } from './aes-cts-hmac.js';
import { DerivedKeyCache } from './key-cache.js';
import {
  checkKey, deriveKey, deriveRandomsFolded, foldedUsageConstants, iterationsFrom, macEqual, toBytes,
} from './rfc3961.js';

const MAC_SIZE = 12; // HMAC-SHA1-96 (RFC 3962 §6)
const KERBEROS = new TextEncoder().encode('kerberos');
const PRF_LABEL = new TextEncoder().encode('prf');

/** Derived Ke/Ki and Kc per (enctype, usage, key); bounded so hostile key churn cannot grow memory. */
const caches = { cipher: new DerivedKeyCache<CipherKeys>(1024), checksum: new DerivedKeyCache<Buffer>(1024) };
/** For tests: the sizes of the derived-key caches. */
export const derivedKeyCacheSizes = (): number[] => [caches.cipher.size, caches.checksum.size];

/** The framing, caching and checksum are in aes-cts-hmac.ts; what is RFC 3962's own is here. */
export class AesSha1Enctype extends AesCtsHmacEnctype {
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
  ) {
    super('sha1', caches);
  }

  /** RFC 3961 §5.3: Ke and Ki = DK(key, usage ‖ 0xAA / 0x55), both chains in the same AES calls. */
  protected deriveCipherKeys(key: Uint8Array, usage: number): CipherKeys {
    const [ke, ki] = deriveRandomsFolded(key, foldedUsageConstants(usage).subarray(AES_BLOCK), key.length);
    return { ke: new AesKey(ke!), ki: Buffer.from(ki!.buffer, ki!.byteOffset, ki!.length) };
  }

  /** RFC 3961 §5.3: Kc = DK(key, usage ‖ 0x99). */
  protected deriveChecksumKey(key: Uint8Array, usage: number): Uint8Array {
    return deriveRandomsFolded(key, foldedUsageConstants(usage).subarray(0, AES_BLOCK), key.length)[0]!;
  }

  /**
   * RFC 3961 §5.3: the MAC is HMAC-SHA1(Ki, confounder ‖ plaintext), taken
   * before the CTS pass (which overwrites data); CBC with the zero IV.
   */
  protected seal({ ke, ki }: CipherKeys, data: Buffer, n: number, out: Uint8Array): void {
    const mac = this.hmac(ki).update(data.subarray(0, n)).digest();
    ke.ctsEncryptInto(data, n, out, 0);
    out.set(mac.subarray(0, MAC_SIZE), n);
  }

  protected open({ ke, ki }: CipherKeys, c: Uint8Array, mac: Uint8Array): Uint8Array | undefined {
    const data = ke.ctsDecrypt(c);
    // The MAC covers the plaintext (RFC 3961 §5.3), so it is checked after decryption.
    const expected = this.hmac(ki).update(data).digest().subarray(0, MAC_SIZE);
    return macEqual(expected, mac) ? data : undefined;
  }

  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, s2kparams?: Uint8Array): Uint8Array {
    const iterations = iterationsFrom(s2kparams, this.defaultIterations);
    const tkey = pbkdf2Sync(toBytes(password), toBytes(salt), iterations, this.keySize, 'sha1');
    return deriveKey(tkey, KERBEROS);
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
