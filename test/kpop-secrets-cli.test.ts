/** `kpop secrets set|list|delete` as users run it (the bundled bin). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildBins, run, type Bins } from './lab-helpers.js';
import { tempDir } from './kpop-helpers.js';
import { SecretsStore } from '../packages/kpop/src/secrets/store.js';

let bins: Bins;
const tmp = tempDir('kpop-secrets-cli-');
beforeAll(async () => { bins = await buildBins(); });
afterAll(() => tmp.cleanup());

describe('kpop secrets', () => {
  const file = join(tmp.dir, 'secrets.json');
  const kpop = (args: string[], input?: string) => run(process.execPath, [bins.kpop, 'secrets', ...args], { input, env: { ...process.env, KPOP_SECRETS: file } });

  it('set --stdin, list, delete; files 0600; the password never on disk in clear', async () => {
    let r = await kpop(['set', 'alice', '--stdin'], 'Tr0ub4dor&3\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('secrets set for alice');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp.dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain('Tr0ub4dor');
    expect(new SecretsStore({ file, keyFile: join(tmp.dir, 'secrets.key') }).password('alice')).toBe('Tr0ub4dor&3');
    r = await kpop(['set', 'bob', '--stdin', '--scram-only'], 'pw\n');
    expect(r.code).toBe(0);
    r = await kpop(['list']);
    expect(r.stdout).toMatch(/^alice\tAPOP CRAM-MD5 NTLM SCRAM-SHA-1 SCRAM-SHA-256\t\S+\nbob\tSCRAM-SHA-1 SCRAM-SHA-256\t\S+\n$/);
    r = await kpop(['list', 'bob', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ user: 'bob', mechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-256'] });
    r = await kpop(['delete', 'bob']);
    expect(r.code).toBe(0);
    r = await kpop(['delete', 'bob']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^kpop: bob has no secrets in .*\n$/);
  });

  it('errors are one line: no terminal, empty input, bad user name, few iterations', async () => {
    for (const [args, input, msg] of [
      [['set', 'carol'], '', /no terminal .* use --stdin/],
      [['set', 'carol', '--stdin'], '', /holds no password/],
      [['set', 'a b', '--stdin'], 'x\n', /not a valid user name/],
      [['set', 'carol', '--stdin', '--iterations', '10'], 'x\n', /at least 4096/],
    ] as const) {
      const r = await kpop([...args], input);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
