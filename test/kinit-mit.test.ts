/**
 * Our kinit, klist, kvno, kdestroy, kswitch against MIT krb5 1.20: a real MIT
 * krb5kdc (test/helpers/mit-realm.ts), and MIT's own klist/kinit/kvno reading
 * and writing the same ccaches. Outputs are compared line by line with what
 * MIT's tools print for the same input.
 */
import { writeFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKrb5Config, parsePrincipal, readCcache, readKeytab, TicketFlags, verifyPassword } from '@kpop/common';
import { hasMitClients, hasMitKdc, startMitRealm, type MitRealm } from './helpers/mit-realm.js';
import { runMit, runOurs } from './helpers/kinit-bins.js';

const skip = !hasMitKdc || !hasMitClients;
const why = skip ? ' (skipped: MIT krb5kdc, kdb5_util, kadmin.local (krb5-kdc, krb5-admin-server) or kinit/klist (krb5-user) not installed)' : '';

describe.skipIf(skip)(`our CLIs against an MIT 1.20 KDC${why}`, () => {
  let realm: MitRealm;
  let env: NodeJS.ProcessEnv;
  const cc = (name: string) => ({ ...env, KRB5CCNAME: `FILE:${join(realm.dir, name)}` });

  beforeAll(async () => {
    realm = await startMitRealm({
      principals: [
        { name: 'alice', password: 'alice-pw-1' },
        { name: 'bob', password: 'bob-pw-2', options: '-maxrenewlife "7 days"' },
        { name: 'bench' },
        { name: 'pop/localhost' },
      ],
    });
    realm.kadmin('modprinc -maxrenewlife "7 days" krbtgt/MIT.TEST');
    realm.ktadd(join(realm.dir, 'bench.keytab'), 'bench');
    realm.ktadd(join(realm.dir, 'pop.keytab'), 'pop/localhost');
    env = realm.env;
  }, 60_000);
  afterAll(async () => {
    await realm?.stop();
  });

  it('kinit with a password from stdin; MIT klist lists the cache; our klist prints the same lines', async () => {
    const e = cc('pw');
    const r = await runOurs('kinit', ['alice'], e, 'alice-pw-1\n');
    expect(r).toMatchObject({ status: 0, stdout: 'Password for alice@MIT.TEST: \n', stderr: '' });
    expect(statSync(join(realm.dir, 'pw')).mode & 0o777).toBe(0o600);
    // MIT's KDC answered our PA-REQ-ENC-PA-REP: the flag is set, so its checksum of our request was verified.
    const tgt = readCcache(join(realm.dir, 'pw')).credentials.find((c) => c.server.name.nameString[0] === 'krbtgt')!;
    expect(tgt.ticketFlags & TicketFlags.ENC_PA_REP).toBe(TicketFlags.ENC_PA_REP);
    expect(readCcache(join(realm.dir, 'pw')).kdcOffset).toBeDefined();
    const mit = runMit('klist', ['-e', '-f', '-a'], e);
    expect(mit.status).toBe(0);
    expect(mit.stdout).toContain('Default principal: alice@MIT.TEST');
    expect(mit.stdout).toMatch(/krbtgt\/MIT\.TEST@MIT\.TEST\n\tFlags: .*A.*, Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96 \n/);
    const ours = await runOurs('klist', ['-e', '-f', '-a'], e);
    expect(ours.stdout.split('\n')).toEqual(mit.stdout.split('\n'));
    // The config entry we wrote reads back in MIT's klist -C as MIT writes it.
    expect(runMit('klist', ['-C'], e).stdout).toContain('config: pa_type(krbtgt/MIT.TEST@MIT.TEST) = 2\n');
    expect((await runOurs('klist', ['-C'], e)).stdout).toBe(runMit('klist', ['-C'], e).stdout);
  });

  it('kinit -k -t keytab; MIT kvno then uses our TGT', async () => {
    const e = cc('kt');
    const r = await runOurs('kinit', ['-k', '-t', join(realm.dir, 'bench.keytab'), 'bench'], e);
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(runMit('klist', [], e).stdout).toContain('Default principal: bench@MIT.TEST');
    expect(runMit('kvno', ['pop/localhost'], e)).toMatchObject({ status: 0, stdout: 'pop/localhost@MIT.TEST: kvno = 1\n' });
  });

  it('kinit -k without a principal means host/<hostname>, as in MIT', async () => {
    const e = cc('khost');
    const a = ['-V', '-k', '-t', join(realm.dir, 'pop.keytab')];
    const ours = await runOurs('kinit', a, e);
    expect(ours).toEqual(runMit('kinit', a, e));
    expect(ours.stderr).toMatch(/^kinit: Keytab contains no suitable keys for host\/.*@ while getting initial credentials$/m);
    const host = hostname().toLowerCase();
    realm.addPrincipal({ name: `host/${host}` });
    realm.ktadd(join(realm.dir, 'host.keytab'), `host/${host}`);
    expect(await runOurs('kinit', ['-k', '-t', join(realm.dir, 'host.keytab')], e)).toMatchObject({ status: 0, stderr: '' });
    expect(runMit('klist', [], e).stdout).toContain(`Default principal: host/${host}@MIT.TEST`);
  });

  it('kvno gets and stores a service ticket; -k checks it opens with the keytab; MIT klist agrees', async () => {
    const e = cc('kvno');
    expect((await runOurs('kinit', ['alice'], e, 'alice-pw-1\n')).status).toBe(0);
    expect(await runOurs('kvno', ['pop/localhost'], e)).toMatchObject({ status: 0, stdout: 'pop/localhost@MIT.TEST: kvno = 1\n', stderr: '' });
    expect(await runOurs('kvno', ['-k', join(realm.dir, 'pop.keytab'), 'pop/localhost'], e)).toMatchObject({
      status: 0,
      stdout: 'pop/localhost@MIT.TEST: kvno = 1, keytab entry valid\n',
    });
    const mit = runMit('klist', ['-e'], e);
    expect(mit.stdout).toMatch(/pop\/localhost@MIT\.TEST\n\tEtype/);
    expect((await runOurs('klist', ['-e'], e)).stdout).toBe(mit.stdout);
    expect(await runOurs('kvno', ['-q', 'pop/localhost'], e)).toMatchObject({ status: 0, stdout: '' });
    const unknown = await runOurs('kvno', ['nosuch/svc'], e);
    const mitUnknown = runMit('kvno', ['nosuch/svc'], e);
    expect(unknown).toEqual(mitUnknown);
  });

  it('kinit -r then kinit -R renews; MIT klist shows the renewed ticket', async () => {
    const e = cc('renew');
    expect((await runOurs('kinit', ['-r', '2d', '-f', 'bob'], e, 'bob-pw-2\n')).status).toBe(0);
    const before = runMit('klist', ['-f'], e).stdout;
    expect(before).toMatch(/renew until .*, Flags: FRIA\n/);
    expect(await runOurs('kinit', ['-R'], e)).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const after = runMit('klist', ['-f'], e);
    expect(after.stdout).toMatch(/renew until .*, Flags: FRIAT\n/);
    expect((await runOurs('klist', ['-f'], e)).stdout).toBe(after.stdout);
    // A ticket that is not renewable: the KDC's refusal, worded as MIT's.
    expect((await runOurs('kinit', ['alice'], e, 'alice-pw-1\n')).status).toBe(0);
    const ours = await runOurs('kinit', ['-R'], e);
    expect(ours).toEqual(runMit('kinit', ['-R'], e));
    expect(ours.stderr).toBe("kinit: KDC can't fulfill requested option while renewing credentials\n");
  });

  it('our klist reads a cache written by MIT kinit + kvno exactly as MIT klist does', async () => {
    const e = cc('mitwrote');
    expect(runMit('kinit', ['-f', '-r', '1d', 'bob'], e, 'bob-pw-2\n').status).toBe(0);
    expect(runMit('kvno', ['pop/localhost'], e).status).toBe(0);
    for (const args of [[], ['-e'], ['-f'], ['-e', '-f', '-a'], ['-C'], ['-s'], ['-l']]) {
      const mit = runMit('klist', args, e);
      const ours = await runOurs('klist', args, e);
      expect({ args, ...ours }).toEqual({ args, ...mit });
    }
  });

  it('addresses in tickets (kinit -a): our klist -a and -a -n print what MIT klist prints', async () => {
    const e = cc('addr');
    expect(runMit('kinit', ['-a', 'alice'], e, 'alice-pw-1\n').status).toBe(0);
    const mit = runMit('klist', ['-a', '-n'], e);
    expect(mit.stdout).toMatch(/\tAddresses: \d+\.\d+\.\d+\.\d+/);
    expect(await runOurs('klist', ['-a', '-n'], e)).toEqual(mit);
    expect(await runOurs('klist', ['-a'], e)).toEqual(runMit('klist', ['-a'], e));
    // Ours with -a: the KDC puts our addresses in the ticket, MIT's klist lists them.
    expect((await runOurs('kinit', ['-a', 'alice'], e, 'alice-pw-1\n')).status).toBe(0);
    expect(runMit('klist', ['-a', '-n'], e).stdout).toContain('127.0.0.1');
    expect(await runOurs('klist', ['-a', '-n'], e)).toEqual(runMit('klist', ['-a', '-n'], e));
  });

  it('klist -k lists keytabs like MIT klist (-t, -e, -K)', async () => {
    for (const args of [['-k'], ['-k', '-t'], ['-k', '-e'], ['-k', '-t', '-e', '-K']]) {
      const a = [...args, join(realm.dir, 'pop.keytab')];
      expect({ a, ...(await runOurs('klist', a, env)) }).toEqual({ a, ...runMit('klist', a, env) });
    }
    const missing = ['-k', join(realm.dir, 'nope.keytab')];
    expect(await runOurs('klist', missing, env)).toEqual(runMit('klist', missing, env));
  });

  it('wrong password and unknown principal: MIT message and status', async () => {
    const e = cc('errors');
    const wrong = await runOurs('kinit', ['alice'], e, 'not-the-password\n');
    expect(wrong).toEqual({ status: 1, stdout: 'Password for alice@MIT.TEST: \n', stderr: 'kinit: Password incorrect while getting initial credentials\n' });
    expect(wrong).toEqual(runMit('kinit', ['alice'], e, 'not-the-password\n'));
    const unknown = await runOurs('kinit', ['nosuchuser'], e, 'x\n');
    expect(unknown).toEqual({ status: 1, stdout: '', stderr: "kinit: Client 'nosuchuser@MIT.TEST' not found in Kerberos database while getting initial credentials\n" });
    expect(unknown).toEqual(runMit('kinit', ['nosuchuser'], e, 'x\n'));
  });

  it('no password on stdin, a cache that cannot be written: MIT words and status', async () => {
    const e = cc('nopw');
    const ours = await runOurs('kinit', ['alice'], e, '');
    expect(ours).toEqual(runMit('kinit', ['alice'], e, ''));
    expect(ours.stderr).toBe('kinit: Pre-authentication failed: Cannot read password while getting initial credentials\n');
    const store = await runOurs('kinit', ['-c', '/nonexistent/dir/cc', 'alice'], e, 'alice-pw-1\n');
    expect(store.status).toBe(1);
    expect(store.stderr).toMatch(/^kinit: Failed to store credentials: .* while getting initial credentials\n$/);
  });

  it('kdestroy removes the cache; klist and klist -s then fail as MIT does', async () => {
    const e = cc('destroy');
    expect((await runOurs('kinit', ['alice'], e, 'alice-pw-1\n')).status).toBe(0);
    expect((await runOurs('klist', ['-s'], e)).status).toBe(0);
    expect(await runOurs('kdestroy', [], e)).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(await runOurs('klist', [], e)).toEqual(runMit('klist', [], e));
    expect((await runOurs('klist', [], e)).stderr).toBe(`klist: No credentials cache found (filename: ${join(realm.dir, 'destroy')})\n`);
    expect(await runOurs('klist', ['-s'], e)).toEqual({ status: 1, stdout: '', stderr: '' });
    expect(await runOurs('kdestroy', [], e)).toEqual(runMit('kdestroy', [], e));
    expect(await runOurs('kvno', ['pop/localhost'], e)).toEqual(runMit('kvno', ['pop/localhost'], e));
  });

  it('DIR: collections: kinit per principal, klist -l, kswitch -p, kdestroy -A', async () => {
    const e = { ...env, KRB5CCNAME: `DIR:${join(realm.dir, 'coll')}` };
    expect((await runOurs('kinit', ['alice'], e, 'alice-pw-1\n')).status).toBe(0);
    expect((await runOurs('kinit', ['bob'], e, 'bob-pw-2\n')).status).toBe(0);
    const list = await runOurs('klist', ['-l'], e);
    expect(list).toEqual(runMit('klist', ['-l'], e));
    expect(list.stdout.split('\n')[2]).toMatch(/^bob@MIT\.TEST +DIR::/);
    expect(list.stdout).toContain('alice@MIT.TEST');
    expect((await runOurs('kswitch', ['-p', 'alice'], e)).status).toBe(0);
    expect(runMit('klist', [], e).stdout).toContain('Default principal: alice@MIT.TEST');
    expect(await runOurs('kswitch', ['-p', 'nobody'], e)).toEqual(runMit('kswitch', ['-p', 'nobody'], e));
    expect((await runOurs('kdestroy', ['-A'], e)).status).toBe(0);
    expect(runMit('klist', ['-l'], e).status).toBe(1);
  });

  it('aes-sha2 (RFC 8009) and aes-sha1 as the client permits them', async () => {
    const sha2 = await startMitRealm({
      realm: 'SHA2.TEST',
      supportedEnctypes: 'aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
      principals: [{ name: 'carol', password: 'carol-pw-3' }, { name: 'pop/localhost' }],
    });
    try {
      for (const etype of ['aes256-cts-hmac-sha384-192', 'aes128-cts-hmac-sha256-128', 'aes128-cts-hmac-sha1-96', 'aes256-cts-hmac-sha1-96']) {
        const conf = sha2.writeKrb5Conf(`${etype}.conf`, `\tpermitted_enctypes = ${etype}`);
        const e = { ...sha2.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(sha2.dir, etype)}` };
        expect((await runOurs('kinit', ['carol'], e, 'carol-pw-3\n')).status).toBe(0);
        expect((await runOurs('kvno', ['pop/localhost'], e)).stdout).toBe('pop/localhost@SHA2.TEST: kvno = 1\n');
        const mit = runMit('klist', ['-e'], e);
        expect(mit.stdout).toContain(`Etype (skey, tkt): ${etype}, `);
        expect((await runOurs('klist', ['-e'], e)).stdout).toBe(mit.stdout);
      }
    } finally {
      await sha2.stop();
    }
  });

  it('-S service, -E enterprise name, -C, -s postdated then -v validate, other time zones: as MIT prints them', async () => {
    const e = cc('more');
    expect((await runOurs('kinit', ['-S', 'pop/localhost', 'alice'], e, 'alice-pw-1\n')).status).toBe(0);
    expect(runMit('klist', [], e).stdout).toMatch(/  pop\/localhost@MIT\.TEST\n/);
    // An MIT KDC without enterprise aliases refuses -E names; ours must say what MIT's kinit says.
    const ent = await runOurs('kinit', ['-E', 'alice@MIT.TEST'], e, 'alice-pw-1\n');
    expect(ent).toEqual(runMit('kinit', ['-E', 'alice@MIT.TEST'], e, 'alice-pw-1\n'));
    expect(ent.stderr).toBe("kinit: Client 'alice\\@MIT.TEST@MIT.TEST' not found in Kerberos database while getting initial credentials\n");
    expect((await runOurs('kinit', ['-C', 'alice'], e, 'alice-pw-1\n')).status).toBe(0);
    expect(runMit('klist', [], e).stdout).toContain('Default principal: alice@MIT.TEST');
    // Postdated: invalid until validated; validating before the start time is refused by the KDC.
    expect((await runOurs('kinit', ['-s', '2h', 'alice'], e, 'alice-pw-1\n')).status).toBe(0);
    const flags = runMit('klist', ['-f'], e);
    expect(flags.stdout).toMatch(/Flags: .*d.*i/);
    expect((await runOurs('klist', ['-f'], e)).stdout).toBe(flags.stdout);
    const ours = await runOurs('kinit', ['-v'], e);
    expect(ours).toEqual(runMit('kinit', ['-v'], e));
    expect(ours.stderr).toBe('kinit: Ticket not yet valid while validating credentials\n');
    for (const tz of ['America/New_York', 'Asia/Kolkata']) {
      const z = { ...e, TZ: tz };
      expect((await runOurs('klist', [], z)).stdout).toBe(runMit('klist', [], z).stdout);
    }
  });

  it('verifyPassword against the MIT KDC: the service ticket opens with the keytab MIT exported', async () => {
    const config = loadKrb5Config(env);
    const service = parsePrincipal('pop/localhost@MIT.TEST');
    const keytab = readKeytab(join(realm.dir, 'pop.keytab'));
    const user = parsePrincipal('alice@MIT.TEST');
    expect(await verifyPassword({ config, user, password: 'alice-pw-1', service, keytab })).toEqual({ realm: 'MIT.TEST', name: { nameType: 1, nameString: ['alice'] } });
    await expect(verifyPassword({ config, user, password: 'wrong', service, keytab })).rejects.toMatchObject({ code: 24 });
    await expect(verifyPassword({ config, user: parsePrincipal('ghost@MIT.TEST'), password: 'x', service, keytab })).rejects.toMatchObject({ code: 6 });
  });

  it("unreachable KDC: \"Cannot contact any KDC for realm 'MIT.TEST'\", as MIT prints it", async () => {
    const conf = join(realm.dir, 'closed.conf');
    writeFileSync(conf, readFileSync(realm.krb5Conf, 'utf8').replace(`127.0.0.1:${realm.port}`, '127.0.0.1:9'));
    const e = { ...cc('unreach'), KRB5_CONFIG: conf };
    const ours = await runOurs('kinit', ['alice'], e, 'x\n');
    expect(ours).toEqual({ status: 1, stdout: '', stderr: "kinit: Cannot contact any KDC for realm 'MIT.TEST' while getting initial credentials\n" });
    expect(ours).toEqual(runMit('kinit', ['alice'], e, 'x\n'));
    const noRealm = await runOurs('kinit', ['alice@NOREALM.TEST'], e, 'x\n');
    expect(noRealm).toEqual(runMit('kinit', ['alice@NOREALM.TEST'], e, 'x\n'));
  });
});

describe.skipIf(skip)(`cross-realm: our kvno through krbtgt/B@A, against two MIT KDCs${why}`, () => {
  let a: MitRealm;
  let b: MitRealm;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    a = await startMitRealm({ realm: 'A.TEST', principals: [{ name: 'alice', password: 'alice-pw-1' }, { name: 'krbtgt/B.TEST', password: 'cross-realm-pw' }] });
    b = await startMitRealm({ realm: 'B.TEST', principals: [{ name: 'krbtgt/B.TEST@A.TEST', password: 'cross-realm-pw' }, { name: 'pop/localhost' }] });
    const conf = join(a.dir, 'both.conf');
    writeFileSync(
      conf,
      `[libdefaults]\n\tdefault_realm = A.TEST\n\tdns_lookup_kdc = false\n\trdns = false\n\tdns_canonicalize_hostname = false\n[realms]\n\tA.TEST = {\n\t\tkdc = 127.0.0.1:${a.port}\n\t}\n\tB.TEST = {\n\t\tkdc = 127.0.0.1:${b.port}\n\t}\n`,
    );
    env = { ...a.env, KRB5_CONFIG: conf };
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('gets the cross-realm TGT from A, then the service ticket from B; MIT klist and MIT kvno agree', async () => {
    const ours = { ...env, KRB5CCNAME: `FILE:${join(a.dir, 'ours')}` };
    const mit = { ...env, KRB5CCNAME: `FILE:${join(a.dir, 'mit')}` };
    expect((await runOurs('kinit', ['alice'], ours, 'alice-pw-1\n')).status).toBe(0);
    expect(runMit('kinit', ['alice'], mit, 'alice-pw-1\n').status).toBe(0);
    const r = await runOurs('kvno', ['pop/localhost@B.TEST'], ours);
    expect(r).toEqual({ status: 0, stdout: 'pop/localhost@B.TEST: kvno = 1\n', stderr: '' });
    expect(r).toEqual(runMit('kvno', ['pop/localhost@B.TEST'], mit));
    const list = runMit('klist', [], ours).stdout;
    expect(list).toContain('krbtgt/B.TEST@A.TEST');
    expect(list).toContain('pop/localhost@B.TEST');
    // MIT's kvno reuses what ours stored (no new request needed, same output).
    expect(runMit('kvno', ['pop/localhost@B.TEST'], ours)).toEqual(r);
  });
});
