/**
 * CRAM-MD5 (RFC 2195), server-first: challenge `<random.time@host>`, the
 * client answers `user SP hex(HMAC-MD5(password, challenge))`.
 * Password-equivalent secret on the server.
 */
import { createHmac, randomInt } from 'node:crypto';
import { SaslError, type SaslMechanism, type SaslStep } from './sasl-types.js';
import { safeEqual, type MechSecrets } from './secrets.js';

const enc = new TextEncoder();

/** RFC 2195 §2: a "presumptively arbitrary string" that is unique; msg-id form. */
export function cramChallenge(hostname: string, now = Date.now()): string {
  return `<${randomInt(1, 2 ** 47)}.${Math.floor(now / 1000)}@${hostname}>`;
}

export function cramDigest(secret: string, challenge: string): string {
  return createHmac('md5', secret).update(challenge).digest('hex');
}

/** Splits `user SP digest` (digest 32 lowercase hex; the user may contain spaces: the last one splits). */
export function parseCramResponse(response: Uint8Array): { user: string; digest: string } {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(response);
  const sp = text.lastIndexOf(' ');
  if (sp <= 0) throw new SaslError('Malformed CRAM-MD5 response');
  const user = text.slice(0, sp);
  const digest = text.slice(sp + 1);
  if (!/^[0-9a-fA-F]{32}$/.test(digest) || /[\x00-\x1f\x7f\uFFFD]/.test(user)) throw new SaslError('Malformed CRAM-MD5 response');
  return { user, digest: digest.toLowerCase() };
}

export class CramMd5Mechanism implements SaslMechanism {
  readonly name = 'CRAM-MD5';
  readonly serverFirst = true;
  private challenge?: string;

  constructor(private readonly secrets: MechSecrets, private readonly hostname: string, challenge?: string) {
    this.challenge = challenge;
  }

  async start(): Promise<SaslStep> {
    this.challenge ??= cramChallenge(this.hostname);
    return { challenge: enc.encode(this.challenge) };
  }

  async step(response: Uint8Array): Promise<SaslStep> {
    if (this.challenge === undefined) throw new SaslError('CRAM-MD5: no challenge sent');
    const { user, digest } = parseCramResponse(response);
    this.secrets.checkLocked?.(user);
    const secret = await this.secrets.password(user);
    // Unknown user: compare against a digest of a random secret, so the time is the same.
    const expected = cramDigest(secret ?? cramChallenge('x'), this.challenge);
    const ok = safeEqual(enc.encode(expected), enc.encode(digest)) && secret !== undefined;
    this.challenge = undefined; // one response per challenge
    if (!ok) {
      this.secrets.failed?.(user);
      throw new SaslError(secret === undefined ? `CRAM-MD5: no secret for ${user}` : 'CRAM-MD5: wrong digest');
    }
    this.secrets.succeeded?.(user);
    return { done: { authcid: user, authzid: user } };
  }
}
