/**
 * MIT krb5 1.20 client tools (kinit, klist, kvno) against our KDC, started
 * in-process with startTestKdc. Skips only when krb5-user is not installed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKdc } from '@kpop/kdc';
import type { TestKdc } from '@kpop/kdc';
import { clockEnv } from './helpers/mit-clock.js';

const hasKinit = ['/usr/bin/kinit', '/usr/bin/klist', '/usr/bin/kvno'].every((p) => existsSync(p));
const skip = hasKinit ? '' : ' (skipped: MIT krb5-user not installed: apt-get install krb5-user)';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Async: the KDC runs in this process, so a synchronous spawn would deadlock. */
function run(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...clockEnv(), PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program that exits before reading stdin (klist, kinit -R) closes the pipe.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

let kdc: TestKdc;
const records: Record<string, unknown>[] = [];
let n = 0;
/** A fresh ccache per test, the realm's krb5.conf unless another is given. */
function envFor(conf?: string): Record<string, string> {
  return { ...kdc.env, KRB5CCNAME: `FILE:${join(kdc.dir, `cc${++n}`)}`, ...(conf ? { KRB5_CONFIG: conf } : {}) };
}

describe.skipIf(!hasKinit)(`MIT kinit/klist/kvno against our KDC${skip}`, () => {
  beforeAll(async () => {
    kdc = await startTestKdc({
      realm: 'KPOP.TEST',
      principals: { alice: 'alice-pw-1', 'pop/localhost': { randkey: true }, bench: { randkey: true }, ktuser: { randkey: true } },
      log: (r) => records.push(r),
    });
  });
  afterAll(async () => kdc?.stop());

  it('kinit with a password on stdin gets a TGT; klist -e shows it', async () => {
    const env = envFor();
    const k = await run('kinit', ['alice@KPOP.TEST'], env, 'alice-pw-1\n');
    expect(k.stderr).not.toMatch(/error|incorrect/i);
    expect(k.code).toBe(0);
    const l = await run('klist', ['-e'], env);
    expect(l.code).toBe(0);
    expect(l.stdout).toContain('Default principal: alice@KPOP.TEST');
    expect(l.stdout).toContain('krbtgt/KPOP.TEST@KPOP.TEST');
    expect(l.stdout).toMatch(/Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/);
    expect(records.some((r) => r.msg === 'AS_REQ' && r.status === 'PREAUTH_REQUIRED')).toBe(true);
    expect(records.some((r) => r.msg === 'AS_REQ' && r.status === 'ISSUE' && r.cname === 'alice@KPOP.TEST')).toBe(true);

    // kvno pop/localhost: a TGS exchange with MIT's kvno.
    const v = await run('kvno', ['pop/localhost@KPOP.TEST'], env);
    expect(v.stderr).toBe('');
    expect(v.stdout).toMatch(/pop\/localhost@KPOP.TEST: kvno = 1/);
    const l2 = await run('klist', [], env);
    expect(l2.stdout).toContain('pop/localhost@KPOP.TEST');
  });

  it('kinit -k -t with a keytab of the database\'s keys', async () => {
    const keytab = kdc.keytab(['bench']);
    const env = envFor();
    const k = await run('kinit', ['-k', '-t', keytab, 'bench@KPOP.TEST'], env);
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    expect((await run('klist', [], env)).stdout).toContain('Default principal: bench@KPOP.TEST');
  });

  it('kinit -k -t with a keytab from `kdc ktadd --randkey` run while the KDC serves (new keys picked up)', async () => {
    const keytab = join(kdc.dir, 'ktadd.keytab');
    const bin = join(import.meta.dirname, '..', 'packages', 'kdc', 'src', 'bin', 'kdc.ts');
    const k = await run(process.execPath, ['--import', 'tsx', bin, 'ktadd', '--dir', join(kdc.dir, 'db'), '-k', keytab, '--randkey', 'ktuser'], { HOME: kdc.dir });
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    const env = envFor();
    let last: Run | undefined;
    // The KDC re-reads the database every 500 ms.
    for (let i = 0; i < 20 && last?.code !== 0; i++) {
      if (i) await new Promise((r) => setTimeout(r, 150));
      last = await run('kinit', ['-k', '-t', keytab, 'ktuser@KPOP.TEST'], env);
    }
    expect(last!.stderr).toBe('');
    expect(last!.code).toBe(0);
    expect((await run('klist', [], env)).stdout).toContain('Default principal: ktuser@KPOP.TEST');
  });

  it('kinit -r then kinit -R renews the TGT', async () => {
    const env = envFor();
    expect((await run('kinit', ['-r', '2d', 'alice@KPOP.TEST'], env, 'alice-pw-1\n')).code).toBe(0);
    const before = await run('klist', ['-f'], env);
    expect(before.stdout).toMatch(/renew until/);
    expect(before.stdout).toMatch(/Flags: \S*R/);
    const r = await run('kinit', ['-R'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(records.some((x) => x.msg === 'TGS_REQ' && x.status === 'ISSUE' && x.sname === 'krbtgt/KPOP.TEST@KPOP.TEST')).toBe(true);
  });

  it('kinit -f yields a forwardable TGT, kinit -F a non-forwardable one', async () => {
    const env = envFor();
    expect((await run('kinit', ['-f', 'alice@KPOP.TEST'], env, 'alice-pw-1\n')).code).toBe(0);
    expect((await run('klist', ['-f'], env)).stdout).toMatch(/Flags: \S*F/);
    const env2 = envFor();
    expect((await run('kinit', ['-F', 'alice@KPOP.TEST'], env2, 'alice-pw-1\n')).code).toBe(0);
    expect((await run('klist', ['-f'], env2)).stdout).not.toMatch(/Flags: \S*F/);
  });

  it('a wrong password fails with MIT\'s "Password incorrect"', async () => {
    const k = await run('kinit', ['alice@KPOP.TEST'], envFor(), 'not-the-password\n');
    expect(k.code).not.toBe(0);
    expect(k.stderr).toMatch(/Password incorrect/);
  });

  it('an unknown principal fails with MIT\'s "not found in Kerberos database"', async () => {
    const k = await run('kinit', ['nosuchuser@KPOP.TEST'], envFor(), 'x\n');
    expect(k.code).not.toBe(0);
    expect(k.stderr).toMatch(/Client 'nosuchuser@KPOP.TEST' not found in Kerberos database/);
  });

  it.each([
    ['aes-sha1', [18, 17], 'aes256-cts-hmac-sha1-96'],
    ['aes-sha2', [20, 19], 'aes256-cts-hmac-sha384-192'],
    ['aes128-sha2 alone', [19], 'aes128-cts-hmac-sha256-128'],
  ])('%s alone (client permitted_enctypes) works end to end', async (label, etypes, name) => {
    const conf = kdc.writeKrb5Conf(`krb5-${label.replace(/\W/g, '')}.conf`, { clientEnctypes: etypes });
    const env = envFor(conf);
    const k = await run('kinit', ['alice@KPOP.TEST'], env, 'alice-pw-1\n');
    expect(k.stderr).toBe('');
    expect((await run('kvno', ['pop/localhost@KPOP.TEST'], env)).code).toBe(0);
    const l = await run('klist', ['-e'], env);
    // Session keys in the client's enctype; tickets stay under the service's own strongest key.
    const skeys = [...l.stdout.matchAll(/Etype \(skey, tkt\): ([\w-]+),/g)].map((m) => m[1]);
    expect(skeys).toEqual([name, name]);
  });

  it('over TCP only (udp_preference_limit = 1)', async () => {
    const conf = kdc.writeKrb5Conf('krb5-tcp.conf', { libdefaults: { udp_preference_limit: '1' } });
    const env = envFor(conf);
    const before = records.length;
    expect((await run('kinit', ['alice@KPOP.TEST'], env, 'alice-pw-1\n')).code).toBe(0);
    expect((await run('kvno', ['pop/localhost@KPOP.TEST'], env)).code).toBe(0);
    const mine = records.slice(before);
    expect(mine.filter((r) => r.status === 'ISSUE').every((r) => r.transport === 'tcp')).toBe(true);
  });
});

describe.skipIf(!hasKinit)(`UDP reply cap: RESPONSE_TOO_BIG sends MIT's kinit to TCP${skip}`, () => {
  it('kinit succeeds through the TCP retry', async () => {
    const recs: Record<string, unknown>[] = [];
    const small = await startTestKdc({ realm: 'SMALL.TEST', principals: { alice: 'pw' }, maxUdpReply: 300, log: (r) => recs.push(r) });
    try {
      const env = { ...small.env };
      const k = await run('kinit', ['alice@SMALL.TEST'], env, 'pw\n');
      expect(k.stderr).toBe('');
      expect(k.code).toBe(0);
      expect(recs.some((r) => r.status === 'RESPONSE_TOO_BIG' && r.transport === 'udp')).toBe(true);
      expect(recs.some((r) => r.transport === 'tcp' && (r.status === 'ISSUE' || r.status === 'LOOKASIDE'))).toBe(true);
    } finally {
      await small.stop();
    }
  });
});
