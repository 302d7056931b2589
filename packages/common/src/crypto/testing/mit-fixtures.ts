/**
 * Test-only access to the MIT krb5 1.20 captures in test/fixtures/mit, and a
 * locator for ciphertexts the krb5 decoders do not reach (the FAST armour).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../../../test/fixtures/mit/', import.meta.url));

export function mitMessage(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(dir + name, 'utf8').trim(), 'hex'));
}

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Every offset where `needle` occurs in `hay`. */
export function indexesOf(hay: Uint8Array, needle: readonly number[] | Uint8Array): number[] {
  const out: number[] = [];
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    out.push(i);
  }
  return out;
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
