/**
 * AES in CBC mode with ciphertext stealing, as RFC 3962 §5 specifies it (and
 * RFC 8009 §5 reuses): CBC over the data zero-padded to whole blocks, then
 * the last two ciphertext blocks swapped and the result cut to the input
 * length. For exactly one block it is plain AES (CBC with the given IV); for
 * a multiple of the block size the swap still happens.
 *
 * Each AesKey keeps its OpenSSL contexts alive (one ECB encryptor, one ECB
 * decryptor, one CBC encryptor) so a message costs no context set-up. The
 * persistent CBC encryptor carries its chaining value from the previous call;
 * XORing the first plaintext block with (that value ⊕ IV) restarts the chain
 * at the wanted IV without a new context.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type Cipher, type Decipher } from 'node:crypto';

export const AES_BLOCK = 16;
const ZERO_IV = Buffer.alloc(AES_BLOCK);

function algo(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  if (key.length === 16) return `aes-128-${mode}`;
  if (key.length === 32) return `aes-256-${mode}`;
  throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
}

export class AesKey {
  private readonly ecbEnc: Cipher;
  private readonly ecbDec: Decipher;
  private readonly cbcEnc: Cipher;
  /** The chaining value the persistent CBC context will use next. */
  private readonly chain = Buffer.alloc(AES_BLOCK);

  constructor(key: Uint8Array) {
    const ko = createSecretKey(key);
    this.ecbEnc = createCipheriv(algo(key, 'ecb'), ko, null).setAutoPadding(false);
    this.ecbDec = createDecipheriv(algo(key, 'ecb'), ko, null).setAutoPadding(false);
    this.cbcEnc = createCipheriv(algo(key, 'cbc'), ko, ZERO_IV).setAutoPadding(false);
  }

  /** AES-ECB encryption of whole blocks. */
  encryptBlocks(data: Uint8Array): Buffer {
    return this.ecbEnc.update(data);
  }

  /** AES-ECB decryption of whole blocks. */
  decryptBlocks(data: Uint8Array): Buffer {
    return this.ecbDec.update(data);
  }

  /** CBC encryption of whole blocks; `data` is modified (its first block is re-chained). */
  private cbcEncryptInPlace(data: Buffer, iv: Uint8Array): Buffer {
    for (let i = 0; i < AES_BLOCK; i++) data[i]! ^= this.chain[i]! ^ iv[i]!;
    const out = this.cbcEnc.update(data);
    out.copy(this.chain, 0, out.length - AES_BLOCK);
    return out;
  }

  /** RFC 3962 §5 CBC-CTS encryption; input at least one block. */
  ctsEncrypt(plaintext: Uint8Array, iv: Uint8Array = ZERO_IV): Buffer {
    const n = plaintext.length;
    if (n < AES_BLOCK) throw new RangeError('CTS needs at least one block of input');
    const padded = Buffer.alloc(Math.ceil(n / AES_BLOCK) * AES_BLOCK);
    padded.set(plaintext);
    const c = this.cbcEncryptInPlace(padded, iv);
    if (n === AES_BLOCK) return c;
    const len = c.length;
    const lastLen = n - (len - AES_BLOCK); // 1..16 bytes in the final block
    const out = Buffer.allocUnsafe(n);
    c.copy(out, 0, 0, len - 2 * AES_BLOCK);
    c.copy(out, len - 2 * AES_BLOCK, len - AES_BLOCK, len);
    c.copy(out, len - AES_BLOCK, len - 2 * AES_BLOCK, len - 2 * AES_BLOCK + lastLen);
    return out;
  }

  /**
   * RFC 3962 §5 CBC-CTS decryption. The full block on the wire at position
   * k-2 is the CBC ciphertext of the padded last block; decrypting it yields
   * the stolen tail of block k-1, which rebuilds the ordinary CBC ciphertext.
   */
  ctsDecrypt(ciphertext: Uint8Array, iv: Uint8Array = ZERO_IV): Buffer {
    const n = ciphertext.length;
    if (n < AES_BLOCK) throw new RangeError('CTS needs at least one block of input');
    if (n === AES_BLOCK) {
      const p = this.decryptBlocks(ciphertext);
      for (let i = 0; i < AES_BLOCK; i++) p[i]! ^= iv[i]!;
      return p;
    }
    const k = Math.ceil(n / AES_BLOCK);
    const fullEnd = (k - 1) * AES_BLOCK; // end of the wire's whole blocks
    const lastLen = n - fullEnd;
    const x = this.decryptBlocks(ciphertext.subarray(0, fullEnd));
    const dOff = fullEnd - AES_BLOCK; // D = AES⁻¹(C_k) = P_k ‖ 0… ⊕ C_{k-1}
    // Rebuild C_{k-1}: its head travels as the short tail, its rest is in D.
    const cPrev = Buffer.allocUnsafe(AES_BLOCK);
    cPrev.set(ciphertext.subarray(fullEnd, n));
    x.copy(cPrev, lastLen, dOff + lastLen, dOff + AES_BLOCK);
    const xPrev = this.decryptBlocks(cPrev);

    const out = Buffer.allocUnsafe(n);
    // Blocks 1..k-2: P_i = X_i ⊕ C_{i-1}, with C_0 = IV.
    for (let i = 0; i < dOff; i++) {
      out[i] = x[i]! ^ (i < AES_BLOCK ? iv[i]! : ciphertext[i - AES_BLOCK]!);
    }
    // Block k-1: its predecessor is C_{k-2} (or the IV when k = 2).
    for (let i = 0; i < AES_BLOCK; i++) {
      out[dOff + i] = xPrev[i]! ^ (dOff === 0 ? iv[i]! : ciphertext[dOff - AES_BLOCK + i]!);
    }
    // Block k (partial): P_k = D ⊕ C_{k-1}, first lastLen bytes.
    for (let i = 0; i < lastLen; i++) out[fullEnd + i] = x[dOff + i]! ^ cPrev[i]!;
    return out;
  }
}
