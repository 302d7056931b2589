/**
 * The seed article's other mechanisms as SASL factories for a listener's
 * SaslRegistry (../sasl/registry.ts), plus APOP, which is a POP3 command of
 * its own (RFC 1939 §7) rather than SASL. Each is off unless a listener
 * names it. None exposes the password on the wire, so none is limited to
 * TLS; each needs the user's secrets from ../secrets/.
 */
import { randomBytes } from 'node:crypto';
import type { SaslMechanismFactory } from '../sasl/mechanism.js';
import { CramMd5Mechanism } from './cram-md5.js';
import { NtlmMechanism } from './ntlm/mechanism.js';
import { ScramMechanism } from './scram.js';
import type { MechSecrets } from './secrets.js';

export { apopTimestamp, apopDigest, verifyApop } from './apop.js';
export { CramMd5Mechanism, cramDigest } from './cram-md5.js';
export { ScramMechanism, scramCredential } from './scram.js';
export { NtlmMechanism } from './ntlm/mechanism.js';
export { md4 } from './md4.js';
export type { MechSecrets, ScramCredential, ScramHash } from './secrets.js';

/** Names `--mechanisms` accepts beyond GSSAPI, PLAIN and LOGIN. */
export const SECRET_MECHANISMS = ['APOP', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM'] as const;
export type SecretMechanism = (typeof SECRET_MECHANISMS)[number];

export interface SecretMechanismOptions {
  /** NTLM: accept NTLMv1 responses too (fetchmail sends them). */
  allowNtlmV1?: boolean;
  /** NTLM: the domain name in the CHALLENGE. */
  ntlmDomain?: string;
}

export function cramMd5Factory(secrets: MechSecrets): SaslMechanismFactory {
  return { name: 'CRAM-MD5', plaintext: false, serverFirst: true, create: (ctx) => new CramMd5Mechanism(secrets, ctx.hostname) };
}

export function scramFactory(hash: 'SHA-1' | 'SHA-256', secrets: MechSecrets): SaslMechanismFactory {
  // One key per server process: an unknown user's fake salt stays the same between attempts.
  const fakeKey = randomBytes(32);
  return { name: `SCRAM-${hash}`, plaintext: false, create: () => new ScramMechanism(hash, secrets, fakeKey) };
}

export function ntlmFactory(secrets: MechSecrets, o: SecretMechanismOptions = {}): SaslMechanismFactory {
  return {
    name: 'NTLM',
    plaintext: false,
    create: (ctx) => new NtlmMechanism(secrets, { allowV1: o.allowNtlmV1, domain: o.ntlmDomain, hostname: ctx.hostname }),
  };
}

/** The SASL factories for the named mechanisms (APOP is not SASL: the POP3 session handles it). */
export function secretMechanismFactories(names: Iterable<string>, secrets: MechSecrets, o: SecretMechanismOptions = {}): SaslMechanismFactory[] {
  const out: SaslMechanismFactory[] = [];
  for (const n of names) {
    switch (n.toUpperCase()) {
      case 'CRAM-MD5': out.push(cramMd5Factory(secrets)); break;
      case 'SCRAM-SHA-1': out.push(scramFactory('SHA-1', secrets)); break;
      case 'SCRAM-SHA-256': out.push(scramFactory('SHA-256', secrets)); break;
      case 'NTLM': out.push(ntlmFactory(secrets, o)); break;
    }
  }
  return out;
}
