/**
 * RFC 4121 §4.2.6.2 Wrap tokens (TOK_ID 05 04), the per-message tokens of the
 * krb5 mechanism with AES (CFX). Header, 16 bytes:
 *   0-1 TOK_ID 05 04 | 2 Flags | 3 Filler FF | 4-5 EC | 6-7 RRC | 8-15 SND_SEQ
 * Flags (§4.2.2): 0x01 SentByAcceptor, 0x02 Sealed, 0x04 AcceptorSubkey.
 * - Unsealed: data = plaintext ‖ checksum(key, usage, plaintext ‖ header with
 *   EC = RRC = 0); EC = checksum length (§4.2.4).
 * - Sealed: data = Encrypt(key, usage, plaintext ‖ EC filler ‖ header with
 *   RRC = 0), rotated right by RRC (§4.2.5).
 * Key usage (§2): 22 (ACCEPTOR_SEAL) for tokens the acceptor sends, 24
 * (INITIATOR_SEAL) for the initiator's, sealed or not — MIT's k5sealv3.c, and
 * protocols.md §3.4 recomputed it on captured tokens.
 */
import { timingSafeEqual } from 'node:crypto';
import { getEnctype } from '../crypto/index.js';
import type { EncryptionKey } from '../krb5/index.js';
import { GssError } from './errors.js';

export const WrapFlags = { SENT_BY_ACCEPTOR: 0x01, SEALED: 0x02, ACCEPTOR_SUBKEY: 0x04 } as const;
/** RFC 4121 §2 key usages. */
export const GssKeyUsage = { ACCEPTOR_SEAL: 22, ACCEPTOR_SIGN: 23, INITIATOR_SEAL: 24, INITIATOR_SIGN: 25 } as const;

export interface WrapOptions {
  key: EncryptionKey;
  /** Sequence number (§4.2.1, 64-bit; JS numbers up to 2^53). */
  seq: number;
  /** true when the acceptor sends: sets SentByAcceptor and uses usage 22. */
  fromAcceptor: boolean;
  /** Set when `key` is the acceptor's subkey from the AP-REP (§4.2.2). */
  acceptorSubkey?: boolean;
  sealed?: boolean;
  /** Right rotation count to apply (MIT sends 0; SSPI uses e.g. 28). */
  rrc?: number;
}

function header(flags: number, ec: number, rrc: number, seq: number): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  h[0] = 0x05;
  h[1] = 0x04;
  h[2] = flags;
  h[3] = 0xff;
  dv.setUint16(4, ec);
  dv.setUint16(6, rrc);
  dv.setBigUint64(8, BigInt(seq));
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function rotateRight(data: Uint8Array, n: number): Uint8Array {
  if (data.length === 0) return data;
  const r = n % data.length;
  if (r === 0) return data;
  return concat(data.subarray(data.length - r), data.subarray(0, data.length - r));
}

function rotateLeft(data: Uint8Array, n: number): Uint8Array {
  if (data.length === 0) return data;
  return rotateRight(data, data.length - (n % data.length));
}

export function makeWrapToken(plaintext: Uint8Array, o: WrapOptions): Uint8Array {
  const enctype = getEnctype(o.key.keytype);
  const usage = o.fromAcceptor ? GssKeyUsage.ACCEPTOR_SEAL : GssKeyUsage.INITIATOR_SEAL;
  const flags = (o.fromAcceptor ? WrapFlags.SENT_BY_ACCEPTOR : 0) | (o.sealed ? WrapFlags.SEALED : 0) | (o.acceptorSubkey ? WrapFlags.ACCEPTOR_SUBKEY : 0);
  const rrc = o.rrc ?? 0;
  if (o.sealed) {
    const ec = 0;
    const cipher = enctype.encrypt(o.key.keyvalue, usage, concat(plaintext, header(flags, ec, 0, o.seq)));
    return concat(header(flags, ec, rrc, o.seq), rotateRight(cipher, rrc));
  }
  const mac = enctype.checksum(o.key.keyvalue, usage, concat(plaintext, header(flags, 0, 0, o.seq)));
  return concat(header(flags, mac.length, rrc, o.seq), rotateRight(concat(plaintext, mac), rrc));
}

export interface UnwrapOptions {
  key: EncryptionKey;
  /** true when the token must come from the acceptor (we are the initiator). */
  fromAcceptor: boolean;
  /** Whether the context uses an acceptor subkey: the token's flag must agree. */
  acceptorSubkey?: boolean;
}

export interface UnwrappedToken {
  plaintext: Uint8Array;
  seq: number;
  sealed: boolean;
}

export function readWrapToken(token: Uint8Array, o: UnwrapOptions): UnwrappedToken {
  if (token.length < 16) throw new GssError('DEFECTIVE_TOKEN', 'wrap token shorter than its 16-byte header');
  if (token[0] !== 0x05 || token[1] !== 0x04) {
    throw new GssError('DEFECTIVE_TOKEN', `not an RFC 4121 wrap token (TOK_ID ${token[0]?.toString(16)} ${token[1]?.toString(16)})`);
  }
  const flags = token[2]!;
  if (token[3] !== 0xff) throw new GssError('DEFECTIVE_TOKEN', 'wrap token filler is not FF');
  if (flags & ~0x07) throw new GssError('DEFECTIVE_TOKEN', `unknown wrap token flags 0x${flags.toString(16)}`);
  if (!!(flags & WrapFlags.SENT_BY_ACCEPTOR) !== o.fromAcceptor) {
    throw new GssError('BAD_SIG', 'wrap token sent in the wrong direction (SentByAcceptor flag)');
  }
  if (!!(flags & WrapFlags.ACCEPTOR_SUBKEY) !== !!o.acceptorSubkey) {
    throw new GssError('BAD_SIG', 'wrap token AcceptorSubkey flag does not match the context');
  }
  const dv = new DataView(token.buffer, token.byteOffset, token.length);
  const ec = dv.getUint16(4);
  const rrc = dv.getUint16(6);
  const seqBig = dv.getBigUint64(8);
  if (seqBig > BigInt(Number.MAX_SAFE_INTEGER)) throw new GssError('DEFECTIVE_TOKEN', 'wrap token sequence number out of range');
  const seq = Number(seqBig);
  const enctype = getEnctype(o.key.keytype);
  const usage = o.fromAcceptor ? GssKeyUsage.ACCEPTOR_SEAL : GssKeyUsage.INITIATOR_SEAL;
  const data = rotateLeft(token.subarray(16), rrc);
  if (flags & WrapFlags.SEALED) {
    let plain: Uint8Array;
    try {
      plain = enctype.decrypt(o.key.keyvalue, usage, data);
    } catch (e) {
      throw new GssError('BAD_MIC', 'sealed wrap token failed its integrity check', e);
    }
    if (plain.length < 16 + ec) throw new GssError('DEFECTIVE_TOKEN', 'sealed wrap token too short');
    // The encrypted header copy must match the clear one (RRC taken as 0).
    const copy = plain.subarray(plain.length - 16);
    const expect = header(flags, ec, 0, seq);
    if (!timingSafeEqual(copy, expect)) throw new GssError('BAD_MIC', 'sealed wrap token header copy does not match');
    return { plaintext: plain.slice(0, plain.length - 16 - ec), seq, sealed: true };
  }
  const macLen = enctype.checksumSize;
  if (ec !== macLen || data.length < macLen) throw new GssError('DEFECTIVE_TOKEN', `wrap token EC ${ec} is not the checksum length ${macLen}`);
  const plaintext = data.subarray(0, data.length - macLen);
  const mac = data.subarray(data.length - macLen);
  const want = enctype.checksum(o.key.keyvalue, usage, concat(plaintext, header(flags, 0, 0, seq)));
  if (!timingSafeEqual(mac, want)) throw new GssError('BAD_MIC', 'wrap token checksum does not verify');
  return { plaintext: plaintext.slice(), seq, sealed: false };
}
