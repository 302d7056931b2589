/**
 * Our kpasswd and kinit (the built programs) against our kpasswd service and
 * against MIT's kadmind in a throwaway MIT realm, side by side with MIT's
 * kpasswd and kinit for the same words and exit statuses; and the service's
 * rules seen from our client library: INITIAL tickets only for one's own
 * password, RFC 3244 set-password only for an admin, a replayed request
 * refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { changePassword, getInitialCredentials, getServiceTicket, loadKrb5Config, makeKpasswdRequest, parsePrincipal, readKpasswdReply } from '@kpop/common';
import { processKpasswd } from '../packages/kdc/src/kpasswd/service.js';
import { hasMitClients, hasMitKdc, findProgram, startMitRealm, type MitRealm } from './helpers/mit-realm.js';
import { runMitAsync as runMit, runOurs } from './helpers/kinit-bins.js';

const hasKadmind = hasMitKdc && findProgram('kadmind') !== undefined;

describe('our kpasswd and kinit against our kpasswd service', () => {
  let kdc: TestKdc;
  const env = (cc: string): NodeJS.ProcessEnv => ({ ...process.env, ...kdc.env, KRB5CCNAME: `FILE:${join(kdc.dir, cc)}`, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' });

  beforeAll(async () => {
    kdc = await startTestKdc({
      realm: 'OURPW.TEST',
      principals: { alice: 'Alice-pw-1', bob: 'Bob-pw-1', carol: 'Carol-pw-1', dave: 'Dave-pw-1', erin: 'Erin-pw-1', 'admin/admin': 'Admin-pw-1', mallory: 'Mallory-pw-1' },
      kpasswd: { admins: ['*/admin'] },
    });
    kdc.db.policies.add('strict', { minLength: 8, minClasses: 2, history: 3 });
    kdc.db.policies.assign('alice@OURPW.TEST', 'strict');
  }, 60_000);
  afterAll(async () => {
    await kdc?.stop();
  });

  it('kpasswd changes a password; then the old one fails and the new one works', async () => {
    expect(await runOurs('kpasswd', ['bob'], env('bob'), 'Bob-pw-1\nBob-pw-2\nBob-pw-2\n')).toEqual({ status: 0, stdout: 'Password for bob@OURPW.TEST: \nEnter new password: \nEnter it again: \nPassword changed.\n', stderr: '' });
    expect((await runOurs('kinit', ['bob'], env('bob'), 'Bob-pw-1\n')).stderr).toBe('kinit: Password incorrect while getting initial credentials\n');
    expect((await runOurs('kinit', ['bob'], env('bob'), 'Bob-pw-2\n')).status).toBe(0);
  });

  it('the same words and statuses as MIT kpasswd: policy refusal (2), mismatch (1), wrong password (1), usage (1)', async () => {
    const cases: [string[], string][] = [
      [['alice'], 'Alice-pw-1\nshort\nshort\n'],
      [['alice'], 'Alice-pw-1\nAlice-pw-1\nAlice-pw-1\n'],
      [['alice'], 'Alice-pw-1\nAbc-12345\nXyz-12345\n'],
      [['alice'], 'wrong\n'],
      [['a', 'b'], ''],
    ];
    for (const [args, input] of cases) {
      const ours = await runOurs('kpasswd', args, env('cmp'), input);
      if (hasMitClients) expect(ours, `kpasswd ${args.join(' ')}`).toEqual(await runMit('kpasswd', args, env('cmp'), input));
      expect(ours.status).not.toBe(0);
    }
    const rejected = await runOurs('kpasswd', ['alice'], env('cmp'), 'Alice-pw-1\nshort\nshort\n');
    expect(rejected).toMatchObject({ status: 2, stdout: expect.stringContaining('Password change rejected: New password is too short.\nPlease choose a password which is at least 8 characters long.\n') });
  });

  it('kinit with an expired password: the same dialogue as MIT kinit, and a ticket afterwards', async () => {
    kdc.db.modifyPrincipal('carol', { pwExpiresAt: new Date(Date.now() - 1000) });
    const ours = await runOurs('kinit', ['carol'], env('carol'), 'Carol-pw-1\nCarol-pw-2\nCarol-pw-2\n');
    expect(ours).toEqual({ status: 0, stdout: 'Password for carol@OURPW.TEST: \nPassword expired.  You must change it now.\nEnter new password: \nEnter it again: \n', stderr: '' });
    expect((await runOurs('klist', [], env('carol'))).stdout).toContain('krbtgt/OURPW.TEST@OURPW.TEST');
    if (hasMitClients) {
      kdc.db.modifyPrincipal('carol', { pwExpiresAt: new Date(Date.now() - 1000) });
      expect(await runMit('kinit', ['carol'], env('carol-mit'), 'Carol-pw-2\nCarol-pw-3\nCarol-pw-3\n')).toEqual({ ...ours, stdout: ours.stdout });
    }
  });

  it('kinit with an expired password and a policy refusal, then a mismatch: asks again as MIT kinit does', async () => {
    kdc.db.addPrincipal('frank', { password: 'Frank-pw-1' });
    kdc.db.policies.assign('frank@OURPW.TEST', 'strict');
    const dialogue = 'Frank-pw-1\nshort\nshort\nFrank-new-2\nFrank-other-2\nFrank-new-2\nFrank-new-2\n';
    const reset = () => {
      kdc.db.changePassword('frank', { password: 'Frank-pw-1', keepOld: false });
      kdc.db.modifyPrincipal('frank', { pwExpiresAt: new Date(Date.now() - 1000) });
    };
    reset();
    const ours = await runOurs('kinit', ['frank'], env('frank'), dialogue);
    expect(ours.status, ours.stderr).toBe(0);
    expect(ours.stdout).toContain('Password change rejected: New password is too short.\nPlease choose a password which is at least 8 characters long..  Please try again.\n');
    expect(ours.stdout).toContain('Password mismatch.  Please try again.\n');
    if (hasMitClients) {
      reset();
      expect(await runMit('kinit', ['frank'], env('frank-mit'), dialogue)).toEqual(ours);
    }
  });

  it('kinit warns as MIT kinit does when the password expires within a week', async () => {
    kdc.db.modifyPrincipal('dave', { pwExpiresAt: new Date(Date.now() + 3 * 86400 * 1000 + 60_000) });
    const ours = await runOurs('kinit', ['dave'], env('dave'), 'Dave-pw-1\n');
    expect(ours.stdout).toMatch(/^Password for dave@OURPW\.TEST: \nWarning: Your password will expire in 3 days on /);
    if (hasMitClients) expect(await runMit('kinit', ['dave'], env('dave-mit'), 'Dave-pw-1\n')).toEqual(ours);
    kdc.db.modifyPrincipal('dave', { pwExpiresAt: new Date(Date.now() + 20 * 86400 * 1000) });
    expect((await runOurs('kinit', ['dave'], env('dave'), 'Dave-pw-1\n')).stdout).toBe('Password for dave@OURPW.TEST: \n');
  });

  it('a ticket that is not initial may not change its own password (result 7); set-password is for admins only (result 5), with an initial ticket too', async () => {
    const config = loadKrb5Config(kdc.env);
    const erin = parsePrincipal('erin@OURPW.TEST');
    const tgt = await getInitialCredentials({ config, client: erin, password: 'Erin-pw-1' });
    const st = await getServiceTicket({ config, tgt: tgt.credential, service: parsePrincipal('kadmin/changepw@OURPW.TEST') });
    const r = await changePassword({ config, credential: st.credential, newPassword: 'Erin-pw-2' });
    expect(r).toMatchObject({ resultCode: 7, codeString: 'Initial password required', message: 'Ticket must be derived from a password' });

    const mallory = await getInitialCredentials({ config, client: parsePrincipal('mallory@OURPW.TEST'), password: 'Mallory-pw-1', service: parsePrincipal('kadmin/changepw@OURPW.TEST') });
    const denied = await changePassword({ config, credential: mallory.credential, newPassword: 'Owned-pw-1', target: erin });
    expect(denied).toMatchObject({ resultCode: 5, codeString: 'Access denied', message: 'Unauthorized request' });

    const admin = await getInitialCredentials({ config, client: parsePrincipal('admin/admin@OURPW.TEST'), password: 'Admin-pw-1', service: parsePrincipal('kadmin/changepw@OURPW.TEST') });
    expect((await changePassword({ config, credential: admin.credential, newPassword: 'Erin-pw-9', target: erin })).resultCode).toBe(0);
    await expect(getInitialCredentials({ config, client: erin, password: 'Erin-pw-9' })).resolves.toBeDefined();
    // Even an admin's kadmin/changepw ticket must come from a password, not from a (possibly stolen) TGT.
    const adminTgt = await getInitialCredentials({ config, client: parsePrincipal('admin/admin@OURPW.TEST'), password: 'Admin-pw-1' });
    const fromTgt = await getServiceTicket({ config, tgt: adminTgt.credential, service: parsePrincipal('kadmin/changepw@OURPW.TEST') });
    expect((await changePassword({ config, credential: fromTgt.credential, newPassword: 'Erin-pw-10', target: erin })).resultCode).toBe(7);
  });

  it('a replayed request is refused (KRB_AP_ERR_REPEAT), and the password stays the one set after it', async () => {
    const config = loadKrb5Config(kdc.env);
    const bob = parsePrincipal('bob@OURPW.TEST');
    const cp = await getInitialCredentials({ config, client: bob, password: 'Bob-pw-2', service: parsePrincipal('kadmin/changepw@OURPW.TEST') });
    const { request, state } = makeKpasswdRequest({ credential: cp.credential, newPassword: 'Bob-pw-3' }, '127.0.0.1');
    const origin = { transport: 'udp' as const, address: '127.0.0.1', port: 40000 };
    const first = processKpasswd(request, kdc.kpasswd!.context, origin);
    expect(readKpasswdReply(first.reply!, state).resultCode).toBe(0);
    // The user changes it again; then the captured first request comes back.
    const cp2 = await getInitialCredentials({ config, client: bob, password: 'Bob-pw-3', service: parsePrincipal('kadmin/changepw@OURPW.TEST') });
    expect((await changePassword({ config, credential: cp2.credential, newPassword: 'Bob-pw-4' })).resultCode).toBe(0);
    const replay = processKpasswd(request, kdc.kpasswd!.context, origin);
    expect(replay.status).toBe('REPLAY');
    expect(() => readKpasswdReply(replay.reply!, state)).not.toThrow();
    expect(readKpasswdReply(replay.reply!, state).resultCode).toBe(3);
    await expect(getInitialCredentials({ config, client: bob, password: 'Bob-pw-4' })).resolves.toBeDefined();
  });
});

describe.skipIf(!hasKadmind)(`our kpasswd against MIT's kadmind${hasKadmind ? '' : ' (skipped: MIT kadmind not installed: apt-get install krb5-admin-server)'}`, () => {
  let mit: MitRealm;
  beforeAll(async () => {
    mit = await startMitRealm({ realm: 'MITPW.TEST', kadmind: true });
    mit.kadmin('addpol -minlength 8 -minclasses 2 -history 3 strict');
    mit.addPrincipal({ name: 'alice', password: 'Alice-pw-1', options: '-policy strict' });
    mit.addPrincipal({ name: 'bob', password: 'Bob-pw-1' });
  }, 60_000);
  afterAll(async () => {
    await mit?.stop();
  });

  it('changes a password through kadmind; MIT kinit then takes the new one', async () => {
    expect(await runOurs('kpasswd', ['bob'], mit.env, 'Bob-pw-1\nBob-pw-2\nBob-pw-2\n')).toEqual({ status: 0, stdout: 'Password for bob@MITPW.TEST: \nEnter new password: \nEnter it again: \nPassword changed.\n', stderr: '' });
    expect((await runMit('kinit', ['bob'], mit.env, 'Bob-pw-2\n')).status).toBe(0);
  });

  it('kadmind\'s policy refusals print as MIT kpasswd prints them', async () => {
    for (const input of ['Alice-pw-1\nshort\nshort\n', 'Alice-pw-1\nAlice-pw-1\nAlice-pw-1\n', 'Alice-pw-1\nalllowercase\nalllowercase\n']) {
      const ours = await runOurs('kpasswd', ['alice'], mit.env, input);
      expect(ours.status).toBe(2);
      expect(ours).toEqual(await runMit('kpasswd', ['alice'], mit.env, input));
    }
  });

  it('our kinit changes an expired password through kadmind', async () => {
    mit.kadmin('modprinc -pwexpire now bob');
    await new Promise((r) => setTimeout(r, 1100));
    const e = { ...mit.env, KRB5CCNAME: `FILE:${join(mit.dir, 'cc-expired')}` };
    expect(await runOurs('kinit', ['bob'], e, 'Bob-pw-2\nBob-pw-3\nBob-pw-3\n')).toEqual({ status: 0, stdout: 'Password for bob@MITPW.TEST: \nPassword expired.  You must change it now.\nEnter new password: \nEnter it again: \n', stderr: '' });
    expect((await runMit('kinit', ['bob'], e, 'Bob-pw-3\n')).status).toBe(0);
  });
});
