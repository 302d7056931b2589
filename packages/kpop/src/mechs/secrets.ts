/**
 * What the challenge-response mechanisms need to know about a user, and the
 * lockout they share with password logins. The store behind it is
 * ../secrets/store.ts; tests give their own.
 */
import { timingSafeEqual } from 'node:crypto';

/** RFC 5802 §3: what a server keeps for SCRAM (never the password). */
export interface ScramCredential {
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

export type ScramHash = 'SHA-1' | 'SHA-256';

export interface MechSecrets {
  /** The password-equivalent secret (APOP, CRAM-MD5, NTLM): the password itself. undefined = none set. */
  password(user: string): Promise<string | undefined>;
  scram(user: string, hash: ScramHash): Promise<ScramCredential | undefined>;
  /** Throws SaslError when the user is locked out (too many failures). */
  checkLocked?(user: string): void;
  /** A wrong proof for user: counts toward the lockout. */
  failed?(user: string): void;
  succeeded?(user: string): void;
}

/** Constant-time equality of two byte strings (different lengths: false, still constant in the content). */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
