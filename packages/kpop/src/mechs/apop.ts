/**
 * APOP (RFC 1939 §7): the greeting carries a timestamp
 * `<process-ID.clock@hostname>`; the client sends `APOP user
 * hex(MD5(timestamp ‖ secret))`. Password-equivalent secret on the server.
 */
import { createHash, randomInt } from 'node:crypto';
import { SaslError } from './sasl-types.js';
import { safeEqual, type MechSecrets } from './secrets.js';

const enc = new TextEncoder();

/**
 * `<digits.digits@host>`: mpop uses APOP only with a timestamp of exactly
 * this shape (no '/', '+', '='). The first part is random so that two
 * greetings in the same second differ (§7: "MUST be different each time").
 */
export function apopTimestamp(hostname: string, now = Date.now()): string {
  const host = /^[A-Za-z0-9.-]+$/.test(hostname) ? hostname : 'localhost';
  return `<${randomInt(1, 2 ** 47)}.${Math.floor(now / 1000)}@${host}>`;
}

export function apopDigest(timestamp: string, secret: string): string {
  return createHash('md5').update(timestamp + secret, 'utf8').digest('hex');
}

/** Checks `APOP name digest`'s argument against the greeting's timestamp; returns the user. */
export async function verifyApop(arg: string, timestamp: string, secrets: MechSecrets): Promise<string> {
  const m = /^(\S{1,255}) ([0-9a-fA-F]{32})$/.exec(arg);
  if (!m) throw new SaslError('Malformed APOP arguments');
  const user = m[1]!;
  secrets.checkLocked?.(user);
  const secret = await secrets.password(user);
  const expected = apopDigest(timestamp, secret ?? apopTimestamp('x'));
  const ok = safeEqual(enc.encode(expected), enc.encode(m[2]!.toLowerCase())) && secret !== undefined;
  if (!ok) {
    secrets.failed?.(user);
    throw new SaslError(secret === undefined ? `APOP: no secret for ${user}` : 'APOP: wrong digest');
  }
  secrets.succeeded?.(user);
  return user;
}
