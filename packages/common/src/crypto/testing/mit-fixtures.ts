/**
 * Test-only access to the MIT krb5 1.20 captures in test/fixtures/mit. Until
 * the krb5 message decoders land, the ciphertexts are found by their DER
 * header: an OCTET STRING (tag 0x04) of the exact length the fixture README
 * gives, which must occur exactly once in the message.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../../../test/fixtures/mit/', import.meta.url));

export function mitMessage(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(dir + name, 'utf8').trim(), 'hex'));
}

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function derHeader(tag: number, len: number): number[] {
  if (len < 0x80) return [tag, len];
  if (len < 0x100) return [tag, 0x81, len];
  return [tag, 0x82, len >> 8, len & 0xff];
}

/** Every offset where `needle` occurs in `hay`. */
export function indexesOf(hay: Uint8Array, needle: readonly number[] | Uint8Array): number[] {
  const out: number[] = [];
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    out.push(i);
  }
  return out;
}

/** The contents of the only OCTET STRING of `len` bytes in `msg`, preceded by `[2] OCTET STRING` (EncryptedData.cipher). */
export function cipherOfLength(msg: Uint8Array, len: number): Uint8Array {
  const inner = derHeader(0x04, len);
  const outerLen = inner.length + len;
  const needle = [...derHeader(0xa2, outerLen), ...inner];
  const at = indexesOf(msg, needle);
  if (at.length !== 1) throw new Error(`expected one EncryptedData cipher of ${len} bytes, found ${at.length}`);
  const start = at[0]! + needle.length;
  return msg.subarray(start, start + len);
}

/**
 * The contents of the OCTET STRING whose bytes start with `prefix` (the
 * cipher prefix tshark prints in the .txt decode), its length read from the
 * DER header in front of it.
 */
export function cipherStartingWith(msg: Uint8Array, prefix: Uint8Array): Uint8Array {
  const at = indexesOf(msg, prefix);
  if (at.length !== 1) throw new Error(`expected one cipher starting with that prefix, found ${at.length}`);
  const i = at[0]!;
  let len: number;
  if (msg[i - 4] === 0x04 && msg[i - 3] === 0x82) len = (msg[i - 2]! << 8) | msg[i - 1]!;
  else if (msg[i - 3] === 0x04 && msg[i - 2] === 0x81) len = msg[i - 1]!;
  else if (msg[i - 2] === 0x04 && msg[i - 1]! < 0x80) len = msg[i - 1]!;
  else throw new Error('no OCTET STRING header in front of the prefix');
  if (i + len > msg.length) throw new Error('OCTET STRING runs past the message');
  return msg.subarray(i, i + len);
}
