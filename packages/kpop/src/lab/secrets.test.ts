/** A new lab fills the mechanisms' store from alice's and bob's Kerberos passwords. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab } from './create.js';
import { labPaths } from './layout.js';
import { labSecretsPaths } from './secrets.js';
import { SecretsStore } from '../secrets/store.js';

describe('lab secrets', () => {
  it('are set at creation for every user, with the same passwords, 0600', async () => {
    const d = mkdtempSync(join(tmpdir(), 'kpop-lab-secrets-'));
    try {
      const dir = join(d, 'lab');
      const made = await createLab(labPaths(dir), { realm: 'LAB.TEST', users: { alice: 'alice-pw', bob: undefined } });
      const store = new SecretsStore(labSecretsPaths(dir));
      expect(store.list().map((r) => [r.user, r.mechanisms.length])).toEqual([['alice', 5], ['bob', 5]]);
      expect(store.password('alice')).toBe('alice-pw');
      expect(store.password('bob')).toBe(made.passwords.bob);
      expect(statSync(labSecretsPaths(dir).file).mode & 0o777).toBe(0o600);
      expect(statSync(labSecretsPaths(dir).keyFile).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
