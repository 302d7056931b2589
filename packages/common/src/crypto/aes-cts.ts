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
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';

export const AES_BLOCK = 16;
const ZERO_IV = Buffer.alloc(AES_BLOCK);

function algo(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  if (key.length === 16) return `aes-128-${mode}`;
  if (key.length === 32) return `aes-256-${mode}`;
  throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
}

/**
 * A reusable work buffer. Encryption and decryption are synchronous, so one
 * buffer per call site serves every message: a fresh allocUnsafe per
 * message drained Node's 8 KiB pool every few requests, and refilling it was
 * a visible share of a KDC exchange. Never handed out beyond the call.
 */
export class Scratch {
  private buf = Buffer.allocUnsafe(2048);

  /** A view of n bytes of the work buffer (contents undefined). */
  get(n: number): Buffer {
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    return this.buf.subarray(0, n);
  }
}

const decryptScratch = new Scratch();

export class AesKey {
  private ecbEncCtx?: Cipher;
  private ecbDecCtx?: Decipher;
  private cbcEncCtx?: Cipher;
  private cbcDecCtx?: Decipher;
  /** The chaining values the persistent CBC contexts will use next. */
  private readonly encChain = Buffer.alloc(AES_BLOCK);
  private readonly decChain = Buffer.alloc(AES_BLOCK);

  constructor(private readonly key: Uint8Array) {
    algo(key, 'ecb'); // validates the length
  }

  // Contexts are made on first use: a session key used only to decrypt never pays for an encryptor.
  private get ecbEnc(): Cipher {
    return (this.ecbEncCtx ??= createCipheriv(algo(this.key, 'ecb'), this.key, null).setAutoPadding(false));
  }
  private get ecbDec(): Decipher {
    return (this.ecbDecCtx ??= createDecipheriv(algo(this.key, 'ecb'), this.key, null).setAutoPadding(false));
  }
  private get cbcEnc(): Cipher {
    return (this.cbcEncCtx ??= createCipheriv(algo(this.key, 'cbc'), this.key, ZERO_IV).setAutoPadding(false));
  }
  private get cbcDec(): Decipher {
    return (this.cbcDecCtx ??= createDecipheriv(algo(this.key, 'cbc'), this.key, ZERO_IV).setAutoPadding(false));
  }

  /** AES-ECB encryption of whole blocks. */
  encryptBlocks(data: Uint8Array): Buffer {
    return this.ecbEnc.update(data);
  }

  /** AES-ECB decryption of whole blocks. */
  decryptBlocks(data: Uint8Array): Buffer {
    return this.ecbDec.update(data);
  }

  /**
   * CBC-CTS encryption of the first `n` bytes of `padded` (at least one
   * block; `padded` holds them followed by zeros up to a whole number of
   * blocks and is overwritten). The n result bytes are written to
   * out[outOffset…].
   */
  ctsEncryptInto(padded: Buffer, n: number, out: Uint8Array, outOffset: number, iv: Uint8Array = ZERO_IV): void {
    if (n < AES_BLOCK || padded.length !== Math.ceil(n / AES_BLOCK) * AES_BLOCK) throw new RangeError('CTS needs at least one block of input');
    // Re-chain the persistent context from its last output to the wanted IV.
    for (let i = 0; i < AES_BLOCK; i++) padded[i]! ^= this.encChain[i]! ^ iv[i]!;
    const c = this.cbcEnc.update(padded);
    const len = c.length;
    c.copy(this.encChain, 0, len - AES_BLOCK);
    if (n === AES_BLOCK) {
      out.set(c, outOffset);
      return;
    }
    // Swap the last two blocks; the (padded) last block travels in full, the one before it cut short.
    const lastLen = n - (len - AES_BLOCK);
    out.set(c.subarray(0, len - 2 * AES_BLOCK), outOffset);
    out.set(c.subarray(len - AES_BLOCK, len), outOffset + len - 2 * AES_BLOCK);
    out.set(c.subarray(len - 2 * AES_BLOCK, len - 2 * AES_BLOCK + lastLen), outOffset + len - AES_BLOCK);
  }

  /** RFC 3962 §5 CBC-CTS encryption; input at least one block. */
  ctsEncrypt(plaintext: Uint8Array, iv: Uint8Array = ZERO_IV): Uint8Array {
    const n = plaintext.length;
    if (n < AES_BLOCK) throw new RangeError('CTS needs at least one block of input');
    const padded = Buffer.alloc(Math.ceil(n / AES_BLOCK) * AES_BLOCK);
    padded.set(plaintext);
    const out = new Uint8Array(n);
    this.ctsEncryptInto(padded, n, out, 0, iv);
    return out;
  }

  /**
   * RFC 3962 §5 CBC-CTS decryption. The full block on the wire at position
   * k-2 is the CBC ciphertext C_k of the zero-padded last block; decrypting
   * it yields the stolen tail of C_{k-1}, which rebuilds the ordinary CBC
   * ciphertext C_1 … C_k for one CBC pass. Returns a Buffer of n bytes
   * (may share Node's pool: callers copy out what they return).
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
    const fullEnd = (k - 1) * AES_BLOCK; // end of the whole blocks on the wire
    const lastLen = n - fullEnd; // 1..16
    const ck = ciphertext.subarray(fullEnd - AES_BLOCK, fullEnd);
    const d = this.decryptBlocks(ck); // = (P_k ‖ 0…) ⊕ C_{k-1}
    const cbc = decryptScratch.get(k * AES_BLOCK);
    cbc.set(ciphertext.subarray(0, fullEnd - AES_BLOCK));
    cbc.set(ciphertext.subarray(fullEnd, n), fullEnd - AES_BLOCK);
    d.copy(cbc, fullEnd - AES_BLOCK + lastLen, lastLen);
    cbc.set(ck, fullEnd);
    const p = this.cbcDec.update(cbc);
    // The persistent context chained from its previous input: correct the first block to the wanted IV.
    for (let i = 0; i < AES_BLOCK; i++) p[i]! ^= this.decChain[i]! ^ iv[i]!;
    cbc.copy(this.decChain, 0, cbc.length - AES_BLOCK);
    return p.subarray(0, n);
  }
}
