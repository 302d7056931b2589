/**
 * MIT's kpasswd and kinit against our kpasswd service (RFC 3244) and KDC:
 * a change through MIT kpasswd (old password then refused, new one works),
 * policy refusals in MIT's words (result code 4: "Password change rejected:
 * …", exit 2), history refusing an old password, MIT kinit's expired-password
 * flow through stdin, and MIT kinit's warning when the password expires soon.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { DEFAULT_TCP_LIMITS, startTestKdc, type TestKdc } from '@kpop/kdc';
import { hasMitClients } from './helpers/mit-realm.js';
import { runMitAsync as runMit } from './helpers/kinit-bins.js';

const skip = hasMitClients ? '' : ' (skipped: MIT kinit/kpasswd not installed: apt-get install krb5-user)';

describe.skipIf(!hasMitClients)(`MIT kpasswd and kinit against our kpasswd service${skip}`, () => {
  let kdc: TestKdc;
  const records: Record<string, unknown>[] = [];
  const env = (cc: string): NodeJS.ProcessEnv => ({ ...process.env, ...kdc.env, KRB5CCNAME: `FILE:${join(kdc.dir, cc)}`, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' });

  beforeAll(async () => {
    kdc = await startTestKdc({ realm: 'KPW.TEST', principals: { alice: 'Alice-pw-1', bob: 'Bob-pw-1', carol: 'Carol-pw-1', dave: 'Dave-pw-1', tcp: 'Tcp-pw-1' }, kpasswd: true, log: (r) => void records.push(r) });
    kdc.db.policies.add('strict', { minLength: 8, minClasses: 2, history: 3, maxLife: 30 * 86400 });
    kdc.db.policies.assign('alice@KPW.TEST', 'strict');
  }, 60_000);
  afterAll(async () => {
    await kdc?.stop();
  });

  it('MIT kpasswd changes a password: the old one is then refused, the new one works', async () => {
    const r = await runMit('kpasswd', ['bob'], env('bob'), 'Bob-pw-1\nBob-pw-2\nBob-pw-2\n');
    expect(r).toMatchObject({ status: 0, stdout: 'Password for bob@KPW.TEST: \nEnter new password: \nEnter it again: \nPassword changed.\n', stderr: '' });
    expect((await runMit('kinit', ['bob'], env('bob'), 'Bob-pw-1\n')).stderr).toBe('kinit: Password incorrect while getting initial credentials\n');
    expect(await runMit('kinit', ['bob'], env('bob'), 'Bob-pw-2\n')).toMatchObject({ status: 0 });
  });

  it('policy refusals reach MIT kpasswd as result code 4 in MIT\'s words, exit status 2', async () => {
    const tooShort = await runMit('kpasswd', ['alice'], env('alice'), 'Alice-pw-1\nshort\nshort\n');
    expect(tooShort.status).toBe(2);
    expect(tooShort.stdout).toContain('Password change rejected: New password is too short.\nPlease choose a password which is at least 8 characters long.\n');
    const classes = await runMit('kpasswd', ['alice'], env('alice'), 'Alice-pw-1\nalllowercase\nalllowercase\n');
    expect(classes.status).toBe(2);
    expect(classes.stdout).toContain('Password change rejected: New password does not have enough character classes.\n');
    expect(classes.stdout).toContain('Please choose a password with at least 2 character classes.\n');
    const same = await runMit('kpasswd', ['alice'], env('alice'), 'Alice-pw-1\nAlice-pw-1\nAlice-pw-1\n');
    expect(same.stdout).toContain('Password change rejected: New password was used previously. Please choose a different password.\n');
  });

  it('history: after two changes the first password is still refused, and the policy sets the expiry', async () => {
    expect((await runMit('kpasswd', ['alice'], env('alice'), 'Alice-pw-1\nAlice-pw-2\nAlice-pw-2\n')).status).toBe(0);
    expect((await runMit('kpasswd', ['alice'], env('alice'), 'Alice-pw-2\nAlice-pw-3\nAlice-pw-3\n')).status).toBe(0);
    const back = await runMit('kpasswd', ['alice'], env('alice'), 'Alice-pw-3\nAlice-pw-1\nAlice-pw-1\n');
    expect(back.status).toBe(2);
    expect(back.stdout).toContain('New password was used previously');
    const r = kdc.db.getPrincipal('alice')!;
    expect(r.pwExpiresAt!.getTime() - r.lastPwChange!.getTime()).toBeGreaterThan(29 * 86400 * 1000);
  });

  it('MIT kinit with an expired password changes it through our kpasswd service, on stdin', async () => {
    kdc.db.modifyPrincipal('carol', { pwExpiresAt: new Date(Date.now() - 1000) });
    const r = await runMit('kinit', ['carol'], env('carol'), 'Carol-pw-1\nCarol-pw-2\nCarol-pw-2\n');
    expect(r).toMatchObject({ status: 0, stdout: 'Password for carol@KPW.TEST: \nPassword expired.  You must change it now.\nEnter new password: \nEnter it again: \n', stderr: '' });
    expect((await runMit('klist', [], env('carol'))).stdout).toContain('krbtgt/KPW.TEST@KPW.TEST');
    expect(kdc.db.getPrincipal('carol')!.pwExpiresAt).toBeUndefined();
    expect((await runMit('kinit', ['carol'], env('carol'), 'Carol-pw-2\n')).status).toBe(0);
  });

  it('MIT kinit warns when the password expires within a week (key-expiration in the AS-REP)', async () => {
    kdc.db.modifyPrincipal('dave', { pwExpiresAt: new Date(Date.now() + 3 * 86400 * 1000 + 60_000) });
    const r = await runMit('kinit', ['dave'], env('dave'), 'Dave-pw-1\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Password for dave@KPW\.TEST: \nWarning: Your password will expire in 3 days on \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n$/);
  });

  it('MIT kpasswd over TCP (udp_preference_limit = 1), as over UDP', async () => {
    const conf = kdc.writeKrb5Conf('tcp-krb5.conf', { libdefaults: { udp_preference_limit: '1' } });
    const e = { ...env('tcp'), KRB5_CONFIG: conf };
    const before = records.length;
    expect(await runMit('kpasswd', ['tcp'], e, 'Tcp-pw-1\nTcp-pw-2\nTcp-pw-2\n')).toMatchObject({ status: 0, stdout: expect.stringContaining('Password changed.\n') });
    expect(records.slice(before).filter((r) => r.msg === 'KPASSWD')).toEqual([expect.objectContaining({ transport: 'tcp', status: 'CHANGED', cname: 'tcp@KPW.TEST' })]);
    expect((await runMit('kinit', ['tcp'], e, 'Tcp-pw-2\n')).status).toBe(0);
  });

  it('one address holding more than its TCP share (idle connections from 127.0.0.2) does not keep MIT kpasswd out', async () => {
    const port = kdc.kpasswd!.tcp[0]!.port;
    const hog: Socket[] = [];
    try {
      for (let i = 0; i < DEFAULT_TCP_LIMITS.maxPerAddress + 20; i++) {
        const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
        s.on('error', () => {});
        hog.push(s);
      }
      await new Promise((r) => setTimeout(r, 500));
      // The shared admission layer kept the hog to its share; the rest were closed at once.
      expect(kdc.kpasswd!.admission.openFrom('127.0.0.2')).toBe(DEFAULT_TCP_LIMITS.maxPerAddress);
      const conf = kdc.writeKrb5Conf('tcp-krb5-hog.conf', { libdefaults: { udp_preference_limit: '1' } });
      const e = { ...env('tcp'), KRB5_CONFIG: conf };
      expect(await runMit('kpasswd', ['tcp'], e, 'Tcp-pw-2\nTcp-pw-3\nTcp-pw-3\n')).toMatchObject({ status: 0, stdout: expect.stringContaining('Password changed.\n') });
    } finally {
      for (const s of hog) s.destroy();
    }
  });
});
