/**
 * Our CLIs against our own KDC (startTestKdc from @kpop/kdc), with MIT's
 * klist/kinit/kvno as the independent reader and writer of the ccaches:
 * password and keytab kinit, kvno (-k), kinit -R, aes-sha1 and aes-sha2,
 * the error words, and verifyPassword (including a KDC that does not know
 * the service key).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { KrbError, parseKrb5Config, parsePrincipal, readKeytab, verifyPassword, KEYTAB_V2 } from '@kpop/common';
import { hasMitClients } from './helpers/mit-realm.js';
import { buildKinitBins, runMitAsync as runMit, runOurs } from './helpers/kinit-bins.js';
import { findProgram } from './helpers/mit-realm.js';

describe('our CLIs against our KDC', () => {
  let kdc: TestKdc;
  let env: NodeJS.ProcessEnv;
  const cc = (name: string) => ({ ...process.env, ...env, KRB5CCNAME: `FILE:${join(kdc.dir, name)}`, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' });

  beforeAll(async () => {
    kdc = await startTestKdc({
      realm: 'OURS.TEST',
      principals: { alice: 'alice-pw-1', bob: 'bob-pw-2', bench: { randkey: true }, 'pop/localhost': { randkey: true } },
      maxRenew: 7 * 86400,
    });
    env = kdc.env;
  }, 60_000);
  afterAll(async () => {
    await kdc?.stop();
  });

  it('kinit with a password, kvno, kvno -k; MIT klist lists the cache and our klist prints the same', async () => {
    const e = cc('pw');
    expect(await runOurs('kinit', ['alice'], e, 'alice-pw-1\n')).toMatchObject({ status: 0, stdout: 'Password for alice@OURS.TEST: \n', stderr: '' });
    expect(await runOurs('kvno', ['pop/localhost'], e)).toMatchObject({ status: 0, stdout: 'pop/localhost@OURS.TEST: kvno = 1\n' });
    const kt = kdc.keytab(['pop/localhost']);
    expect((await runOurs('kvno', ['-k', kt, 'pop/localhost'], e)).stdout).toBe('pop/localhost@OURS.TEST: kvno = 1, keytab entry valid\n');
    if (hasMitClients) {
      const mit = await runMit('klist', ['-e', '-f'], e);
      expect(mit.stdout).toContain('Default principal: alice@OURS.TEST');
      expect(mit.stdout).toContain('pop/localhost@OURS.TEST');
      expect((await runOurs('klist', ['-e', '-f'], e)).stdout).toBe(mit.stdout);
    }
  });

  it('kinit -k -t keytab', async () => {
    const e = cc('kt');
    const kt = kdc.keytab(['bench']);
    expect(await runOurs('kinit', ['-k', '-t', kt, 'bench'], e)).toMatchObject({ status: 0, stderr: '' });
    expect((await runOurs('klist', [], e)).stdout).toContain('Default principal: bench@OURS.TEST');
  });

  it('kinit -r then -R renews', async () => {
    const e = cc('renew');
    expect((await runOurs('kinit', ['-r', '2d', 'bob'], e, 'bob-pw-2\n')).status).toBe(0);
    expect((await runOurs('klist', ['-f'], e)).stdout).toMatch(/renew until .*Flags: .*R/);
    expect(await runOurs('kinit', ['-R'], e)).toMatchObject({ status: 0, stderr: '' });
    expect((await runOurs('klist', ['-f'], e)).stdout).toMatch(/renew until .*Flags: .*R/);
  });

  it.skipIf(!hasMitClients)('our klist reads a cache MIT kinit and kvno wrote against our KDC (skipped without MIT krb5-user)', async () => {
    const e = cc('mit');
    expect((await runMit('kinit', ['alice'], e, 'alice-pw-1\n')).status).toBe(0);
    expect((await runMit('kvno', ['pop/localhost'], e)).status).toBe(0);
    for (const args of [[], ['-e', '-f'], ['-C']]) expect(await runOurs('klist', args, e)).toEqual(await runMit('klist', args, e));
  });

  it('aes-sha2 and aes-sha1 as permitted_enctypes restrict them', async () => {
    for (const etype of [20, 19, 18, 17]) {
      const conf = kdc.writeKrb5Conf(`e${etype}.conf`, { clientEnctypes: [etype] });
      const e = { ...cc(`e${etype}`), KRB5_CONFIG: conf };
      expect((await runOurs('kinit', ['alice'], e, 'alice-pw-1\n')).status).toBe(0);
      expect((await runOurs('kvno', ['pop/localhost'], e)).status).toBe(0);
      const name = { 20: 'aes256-cts-hmac-sha384-192', 19: 'aes128-cts-hmac-sha256-128', 18: 'aes256-cts-hmac-sha1-96', 17: 'aes128-cts-hmac-sha1-96' }[etype]!;
      expect((await runOurs('klist', ['-e'], e)).stdout).toContain(`Etype (skey, tkt): ${name}, `);
    }
  });

  it('wrong password and unknown principal: exact message and status', async () => {
    const e = cc('errors');
    expect(await runOurs('kinit', ['alice'], e, 'bad\n')).toEqual({
      status: 1,
      stdout: 'Password for alice@OURS.TEST: \n',
      stderr: 'kinit: Password incorrect while getting initial credentials\n',
    });
    expect(await runOurs('kinit', ['nobody'], e, 'x\n')).toEqual({
      status: 1,
      stdout: '',
      stderr: "kinit: Client 'nobody@OURS.TEST' not found in Kerberos database while getting initial credentials\n",
    });
  });

  it.skipIf(!findProgram('script'))('reads the password from a terminal without echoing it (skipped without util-linux script)', async () => {
    const e = cc('tty');
    const bin = join(await buildKinitBins(), 'kinit.mjs');
    // script(1) gives kinit a pseudo-terminal; type the password only once the prompt is shown.
    const child = spawn(findProgram('script')!, ['-q', '-e', '-c', `${process.execPath} ${bin} alice`, '/dev/null'], { env: e });
    let seen = '';
    const status = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        const before = seen;
        seen += d.toString('utf8');
        if (!before.includes('Password for') && seen.includes('Password for alice@OURS.TEST: ')) setTimeout(() => child.stdin.write('alice-pw-1\r'), 200);
      });
      child.on('close', resolve);
    });
    expect(status).toBe(0);
    expect(seen).toContain('Password for alice@OURS.TEST: ');
    expect(seen).not.toContain('alice-pw-1');
    expect((await runOurs('klist', [], e)).stdout).toContain('Default principal: alice@OURS.TEST');
  });

  it('verifyPassword: good password, wrong password, and a KDC that does not know the service key', async () => {
    const config = parseKrb5Config(`[libdefaults]\n default_realm = OURS.TEST\n[realms]\n OURS.TEST = {\n  kdc = ${kdc.kdcAddress}\n }\n`);
    const service = parsePrincipal('pop/localhost@OURS.TEST');
    const keytab = readKeytab(kdc.keytab(['pop/localhost'], join(kdc.dir, 'verify.keytab')));
    const user = parsePrincipal('alice@OURS.TEST');
    expect(await verifyPassword({ config, user, password: 'alice-pw-1', service, keytab })).toEqual(expect.objectContaining({ realm: 'OURS.TEST' }));
    await expect(verifyPassword({ config, user, password: 'nope', service, keytab })).rejects.toMatchObject({ code: 24 });
    // The same principal name but keys this KDC never had: what a spoofed KDC would hand out.
    const foreign = readKeytab(kdc.keytab(['bench'], join(kdc.dir, 'foreign.keytab')));
    const spoofKeytab = { version: KEYTAB_V2, entries: foreign.entries.map((e) => ({ ...e, principal: service, kvno: 1 })) };
    await expect(verifyPassword({ config, user, password: 'alice-pw-1', service, keytab: spoofKeytab })).rejects.toMatchObject({ code: 31 });
  });

  it('verifyPassword: a spoofed KDC for the same realm that accepts any password cannot log anyone in', async () => {
    const spoof = await startTestKdc({ realm: 'OURS.TEST', principals: { alice: 'attacker-chosen', 'pop/localhost': { randkey: true } } });
    try {
      const config = parseKrb5Config(`[libdefaults]\n default_realm = OURS.TEST\n[realms]\n OURS.TEST = {\n  kdc = ${spoof.kdcAddress}\n }\n`);
      const service = parsePrincipal('pop/localhost@OURS.TEST');
      const realKeytab = readKeytab(kdc.keytab(['pop/localhost'], join(kdc.dir, 'real.keytab')));
      const user = parsePrincipal('alice@OURS.TEST');
      // The AS and TGS exchanges succeed against the impostor, but its ticket does not open with our key.
      await expect(verifyPassword({ config, user, password: 'attacker-chosen', service, keytab: realKeytab })).rejects.toBeInstanceOf(KrbError);
      await expect(verifyPassword({ config, user, password: 'attacker-chosen', service, keytab: realKeytab })).rejects.toMatchObject({ code: 31 });
    } finally {
      await spoof.stop();
    }
  });
});
