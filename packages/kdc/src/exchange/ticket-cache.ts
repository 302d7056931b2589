/**
 * Decrypted TGTs, cached. A client presents the same TGT in every TGS-REQ
 * for hours; opening it (HMAC check, AES-CTS, DER decode) is a third of a TGS
 * exchange. Same ciphertext under the same key is the same plaintext, so the
 * cache maps (the key object, the ciphertext) to the decoded EncTicketPart.
 * Keyed by the key *object*: when the database reloads or the key changes,
 * the new key objects start empty and the old entries go with the old keys.
 * Time and flag checks still run on every request.
 */
import type { EncTicketPart } from '@kpop/common';
import type { PrincipalKey } from '../db/types.js';

const MAX_PER_KEY = 4096;
const byKey = new WeakMap<PrincipalKey, Map<string, EncTicketPart>>();

function cipherId(cipher: Uint8Array): string {
  return Buffer.from(cipher.buffer, cipher.byteOffset, cipher.byteLength).toString('latin1');
}

export function cachedTicket(key: PrincipalKey, cipher: Uint8Array): EncTicketPart | undefined {
  return byKey.get(key)?.get(cipherId(cipher));
}

/** Keeps the decoded part (its bytes copied out) and returns the kept copy, which later requests get. */
export function rememberTicket(key: PrincipalKey, cipher: Uint8Array, part: EncTicketPart): EncTicketPart {
  let m = byKey.get(key);
  if (!m) byKey.set(key, (m = new Map()));
  if (m.size >= MAX_PER_KEY) {
    // Oldest first (Map keeps insertion order).
    const oldest = m.keys().next().value;
    if (oldest !== undefined) m.delete(oldest);
  }
  const kept = Object.freeze(ownBytes(part));
  m.set(cipherId(cipher), kept);
  return kept;
}

/**
 * The decoded part with its byte fields in buffers of their own: a decoded
 * value's bytes are views into the codec's shared slab, and an entry kept
 * for hours must not keep a whole slab alive.
 */
function ownBytes(p: EncTicketPart): EncTicketPart {
  const out: EncTicketPart = { ...p, key: { ...p.key, keyvalue: new Uint8Array(p.key.keyvalue) }, transited: { ...p.transited, contents: new Uint8Array(p.transited.contents) } };
  if (p.caddr) out.caddr = p.caddr.map((a) => ({ ...a, address: new Uint8Array(a.address) }));
  if (p.authorizationData) out.authorizationData = p.authorizationData.map((a) => ({ ...a, adData: new Uint8Array(a.adData) }));
  return out;
}
