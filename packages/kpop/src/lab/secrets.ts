/**
 * The lab's store for APOP, CRAM-MD5, SCRAM and NTLM (../secrets/), filled
 * at creation from the users' Kerberos passwords, and the mechanisms the
 * lab turns on (all of them, NTLMv1 included, for the comparison).
 */
import { join } from 'node:path';
import { SecretsStore, type SecretsPaths } from '../secrets/store.js';

export const LAB_MECHANISMS = ['APOP', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM', 'LOGIN'];

/** secrets/secrets.json and secrets/secrets.key (0600) inside the lab folder. */
export function labSecretsPaths(dir: string): SecretsPaths {
  return { file: join(dir, 'secrets', 'secrets.json'), keyFile: join(dir, 'secrets', 'secrets.key') };
}

export function fillLabSecrets(dir: string, passwords: Record<string, string>): void {
  const store = new SecretsStore(labSecretsPaths(dir));
  for (const [user, password] of Object.entries(passwords)) store.set(user, password);
}
