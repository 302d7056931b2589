/**
 * `kdc addpol/modpol/delpol/getpol/listpols` and the policy options of
 * addprinc/modprinc/cpw, run as users run them (dist/bin/kdc.js): kadmin's
 * option names and getpol's lines, MIT's refusal words, --pwexpire now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KDC = join(import.meta.dirname, '..', 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
let tmp: string;
let dir: string;
interface Run { code: number; stdout: string; stderr: string }
function kdc(args: string[]): Run {
  const r = spawnSync(process.execPath, [KDC, ...args, '--dir', dir], { cwd: tmp, env: { PATH: process.env.PATH ?? '', HOME: tmp, TZ: 'UTC' }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const ok = (r: Run): string => {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

describe('kdc password policies', () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kdc-policy-'));
    dir = join(tmp, 'realm');
    ok(kdc(['init', '--realm', 'POL.TEST']));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('addpol with kadmin\'s options; getpol prints kadmin\'s lines; modpol, listpols', () => {
    expect(ok(kdc(['addpol', 'strict', '--minlength', '8', '--minclasses', '2', '--history', '3', '--maxlife', '30d', '--maxfailure', '5', '--failurecountinterval', '10m', '--lockoutduration', '1h']))).toBe('Policy "strict" created.\n');
    expect(ok(kdc(['getpol', 'strict']))).toBe(
      'Policy: strict\nMaximum password life: 30 days 00:00:00\nMinimum password life: 0 days 00:00:00\nMinimum password length: 8\n' +
        'Minimum number of password character classes: 2\nNumber of old keys kept: 3\nMaximum password failures before lockout: 5\n' +
        'Password failure count reset interval: 0 days 00:10:00\nPassword lockout duration: 0 days 01:00:00\n',
    );
    ok(kdc(['addpol', 'lax']));
    expect(ok(kdc(['modpol', 'lax', '--minlife', '1d']))).toBe('Policy "lax" modified.\n');
    expect(ok(kdc(['getpol', 'lax']))).toContain('Minimum password life: 1 day 00:00:00\n');
    expect(ok(kdc(['listpols']))).toBe('lax\nstrict\n');
    expect(kdc(['addpol', 'strict']).code).toBe(1);
    const bad = kdc(['addpol', 'x', '--minclasses', '9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('kdc addpol: invalid --minclasses "9": use 1 to 5\n');
  });

  it('addprinc --policy refuses a weak password in kadmin\'s words; getprinc names the policy; the policy sets the expiry', () => {
    const weak = kdc(['addprinc', 'alice', '--policy', 'strict', '--password', 'short']);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toBe('kdc addprinc: Password is too short\n');
    expect(kdc(['getprinc', 'alice']).code).toBe(1);
    ok(kdc(['addprinc', 'alice', '--policy', 'strict', '--password', 'Alice-pw-1']));
    const g = ok(kdc(['getprinc', 'alice']));
    expect(g).toContain('Policy: strict\n');
    expect(g).not.toContain('Password expiration date: [never]');
  });

  it('cpw keeps the policy: history refuses a reused password; delpol refuses a policy in use', () => {
    expect(kdc(['cpw', 'alice', '--password', 'Alice-pw-1']).stderr).toBe('kdc cpw: Cannot reuse password\n');
    expect(kdc(['cpw', 'alice', '--password', 'alllowercase']).stderr).toBe('kdc cpw: Password does not contain enough character classes\n');
    ok(kdc(['cpw', 'alice', '--password', 'Alice-pw-2']));
    expect(kdc(['cpw', 'alice', '--password', 'Alice-pw-1']).stderr).toBe('kdc cpw: Cannot reuse password\n');
    const inUse = kdc(['delpol', 'strict']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^kdc delpol: Policy is in use/);
  });

  it('modprinc --pwexpire now, --clear-policy, --policy; delpol once unused', () => {
    ok(kdc(['modprinc', 'alice', '--pwexpire', 'now']));
    expect(ok(kdc(['getprinc', 'alice']))).toMatch(/Password expiration date: \w{3} \w{3} \d\d/);
    ok(kdc(['modprinc', 'alice', '--clear-policy']));
    expect(ok(kdc(['getprinc', 'alice']))).toContain('Policy: [none]\n');
    expect(ok(kdc(['delpol', 'strict']))).toBe('Policy "strict" deleted.\n');
    expect(kdc(['modprinc', 'alice', '--policy', 'strict']).code).toBe(1);
    ok(kdc(['modprinc', 'alice', '--policy', 'lax']));
    expect(ok(kdc(['getprinc', 'alice']))).toContain('Policy: lax\n');
  });
});

describe('kdc dump and load keep policies, assignments and the password history', () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kdc-policy-dump-'));
    dir = join(tmp, 'realm');
    ok(kdc(['init', '--realm', 'DUMP.TEST']));
    ok(kdc(['addpol', 'strict', '--minlength', '8', '--history', '3']));
    ok(kdc(['addprinc', 'alice', '--policy', 'strict', '--password', 'Alice-pw-1']));
    ok(kdc(['cpw', 'alice', '--password', 'Alice-pw-2']));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a full load brings back the policy, the assignment and the history check', () => {
    const file = join(tmp, 'dump.json');
    ok(kdc(['dump', '--output', file]));
    ok(kdc(['delprinc', 'alice', '--force']));
    ok(kdc(['delpol', 'strict']));
    expect(ok(kdc(['load', file]))).toMatch(/^Loaded \d+ principals/);
    expect(ok(kdc(['getpol', 'strict']))).toContain('Number of old keys kept: 3\n');
    expect(ok(kdc(['getprinc', 'alice']))).toContain('Policy: strict\n');
    expect(kdc(['cpw', 'alice', '--password', 'Alice-pw-1']).stderr).toBe('kdc cpw: Cannot reuse password\n');
  });
});
