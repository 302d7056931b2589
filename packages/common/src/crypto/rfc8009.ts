/**
 * RFC 8009: aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20).
 * Differs from RFC 3962 in four places (RFC 8009 §5):
 *   - keys come from KDF-HMAC-SHA2 (the SP 800-108 counter-mode KDF, §3), not DK;
 *   - the MAC covers IV ‖ ciphertext (encrypt-then-MAC), not the plaintext;
 *   - string-to-key salts PBKDF2 with "enctype-name" ‖ 0x00 ‖ salt (§4);
 *   - PRF = KDF-HMAC-SHA2(key, "prf", input) (§5).
 */
import { createHmac, pbkdf2Sync } from 'node:crypto';
import { ChecksumType, EncType } from '../krb5/constants.js';
import { AES_BLOCK, AesKey } from './aes-cts.js';
import { AesCtsHmacEnctype, type CipherKeys } from './aes-cts-hmac.js';
import { DerivedKeyCache } from './key-cache.js';
import { KC, KE, KI, checkKey, iterationsFrom, macEqual, toBytes, usageConstant } from './rfc3961.js';

const ZERO_IV = new Uint8Array(AES_BLOCK);
const KERBEROS = new TextEncoder().encode('kerberos');
const PRF_LABEL = new TextEncoder().encode('prf');
const COUNTER_1 = new Uint8Array([0, 0, 0, 1]);
const ZERO_BYTE = new Uint8Array(1);

/**
 * KDF-HMAC-SHA2(key, label, [context,] k) =
 * k-truncate(HMAC(key, 00000001 ‖ label ‖ 00 ‖ context ‖ k)), k in bits as a
 * 32-bit big-endian number (RFC 8009 §3, the SP 800-108 counter mode). k
 * never exceeds one HMAC output here, so the counter stays 1.
 */
export function kdfHmacSha2(
  hash: 'sha256' | 'sha384',
  key: Uint8Array,
  label: Uint8Array,
  outBytes: number,
  context: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const bits = new Uint8Array(4);
  new DataView(bits.buffer).setUint32(0, outBytes * 8);
  const h = createHmac(hash, key).update(COUNTER_1).update(label).update(ZERO_BYTE).update(context).update(bits).digest();
  return new Uint8Array(h.subarray(0, outBytes));
}

const caches = { cipher: new DerivedKeyCache<CipherKeys>(1024), checksum: new DerivedKeyCache<Buffer>(1024) };
/** For tests: the sizes of the derived-key caches. */
export const derivedKeyCacheSizes = (): number[] => [caches.cipher.size, caches.checksum.size];

/** The framing, caching and checksum are in aes-cts-hmac.ts; what is RFC 8009's own is here. */
export class AesSha2Enctype extends AesCtsHmacEnctype {
  readonly overhead: number;
  /** RFC 8009 §4: default iteration count 32768. */
  readonly defaultIterations = 32768;
  readonly prfSize: number;
  private readonly saltPrefix: Uint8Array;

  constructor(
    readonly etype: number,
    readonly name: string,
    readonly keySize: number,
    readonly checksumType: number,
    private readonly hash: 'sha256' | 'sha384',
    /** Truncated HMAC length, also the Ki/Kc length (RFC 8009 §5: 128 or 192 bits). */
    readonly checksumSize: number,
  ) {
    super(hash, caches);
    this.overhead = AES_BLOCK + checksumSize;
    this.prfSize = hash === 'sha256' ? 32 : 48;
    this.saltPrefix = new TextEncoder().encode(`${name}\0`);
  }

  /** RFC 8009 §5: Ke = KDF-HMAC-SHA2(key, usage ‖ 0xAA, key size), Ki = …(usage ‖ 0x55, MAC size). */
  protected deriveCipherKeys(key: Uint8Array, usage: number): CipherKeys {
    return {
      ke: new AesKey(kdfHmacSha2(this.hash, key, usageConstant(usage, KE), this.keySize)),
      ki: Buffer.from(kdfHmacSha2(this.hash, key, usageConstant(usage, KI), this.checksumSize)),
    };
  }

  /** RFC 8009 §5: Kc = KDF-HMAC-SHA2(key, usage ‖ 0x99, MAC size). */
  protected deriveChecksumKey(key: Uint8Array, usage: number): Uint8Array {
    return kdfHmacSha2(this.hash, key, usageConstant(usage, KC), this.checksumSize);
  }

  /** RFC 8009 §5: C = CTS(Ke, IV=0, confounder ‖ plaintext); H = HMAC(Ki, IV ‖ C) (encrypt-then-MAC). */
  protected seal({ ke, ki }: CipherKeys, data: Buffer, n: number, out: Uint8Array): void {
    ke.ctsEncryptInto(data, n, out, 0, ZERO_IV);
    const c = out.subarray(0, n);
    const mac = this.hmac(ki).update(ZERO_IV).update(c).digest();
    out.set(mac.subarray(0, this.checksumSize), n);
  }

  protected open({ ke, ki }: CipherKeys, c: Uint8Array, mac: Uint8Array): Uint8Array | undefined {
    // Encrypt-then-MAC: verify before touching the ciphertext (RFC 8009 §5).
    const expected = this.hmac(ki).update(ZERO_IV).update(c).digest().subarray(0, this.checksumSize);
    if (!macEqual(expected, mac)) return undefined;
    return ke.ctsDecrypt(c, ZERO_IV);
  }

  /** RFC 8009 §4: saltp = enctype-name ‖ 0x00 ‖ salt; key = KDF(PBKDF2(pw, saltp, iter), "kerberos"). */
  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, s2kparams?: Uint8Array): Uint8Array {
    const iterations = iterationsFrom(s2kparams, this.defaultIterations);
    const s = toBytes(salt);
    const saltp = new Uint8Array(this.saltPrefix.length + s.length);
    saltp.set(this.saltPrefix);
    saltp.set(s, this.saltPrefix.length);
    const tkey = pbkdf2Sync(toBytes(password), saltp, iterations, this.keySize, this.hash);
    return kdfHmacSha2(this.hash, tkey, KERBEROS, this.keySize);
  }

  /** RFC 8009 §5: PRF = KDF-HMAC-SHA2(key, "prf", input, 256 or 384 bits): the input is the KDF context. */
  prf(key: Uint8Array, input: Uint8Array): Uint8Array {
    checkKey(this.name, this.keySize, key);
    return kdfHmacSha2(this.hash, key, PRF_LABEL, this.prfSize, input);
  }
}

export const aes128CtsHmacSha256128 = new AesSha2Enctype(
  EncType.AES128_CTS_HMAC_SHA256_128, 'aes128-cts-hmac-sha256-128', 16, ChecksumType.HMAC_SHA256_128_AES128, 'sha256', 16,
);
export const aes256CtsHmacSha384192 = new AesSha2Enctype(
  EncType.AES256_CTS_HMAC_SHA384_192, 'aes256-cts-hmac-sha384-192', 32, ChecksumType.HMAC_SHA384_192_AES256, 'sha384', 24,
);
