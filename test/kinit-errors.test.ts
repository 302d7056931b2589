/**
 * Error paths of our CLIs, word for word and with MIT's exit statuses: a KDC
 * whose clock is an hour ahead (every request answered with KRB_AP_ERR_SKEW),
 * usage errors, missing caches and keytabs. Where MIT's kinit is installed,
 * it runs against the same fake KDC and must print the same line.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKrbErrorMessage, krbErrorToMessage, KrbError, ErrorCode, tgsPrincipal } from '@kpop/common';
import { findProgram } from './helpers/mit-realm.js';
import { runMitAsync, runOurs } from './helpers/kinit-bins.js';

const hasMitKinit = findProgram('kinit') !== undefined;
const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/mit');

describe('a KDC whose clock is an hour ahead', () => {
  let dir: string | undefined;
  let env: NodeJS.ProcessEnv;
  let close: () => void;
  let requests = 0;

  beforeAll(async () => {
    const sock = createSocket('udp4');
    sock.on('message', (_msg, rinfo) => {
      requests++;
      const stime = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
      const err = krbErrorToMessage(new KrbError(ErrorCode.KRB_AP_ERR_SKEW), { realm: 'SKEW.TEST', sname: tgsPrincipal('SKEW.TEST').name, stime, susec: 0 });
      sock.send(encodeKrbErrorMessage(err), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    close = () => sock.close();
    dir = mkdtempSync(join(tmpdir(), 'kinit-skew-'));
    writeFileSync(
      join(dir, 'krb5.conf'),
      `[libdefaults]\n default_realm = SKEW.TEST\n dns_lookup_kdc = false\n udp_preference_limit = 1465\n[realms]\n SKEW.TEST = {\n  kdc = 127.0.0.1:${sock.address().port}\n }\n`,
    );
    env = { ...process.env, KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'cc')}`, LANG: 'C', LC_ALL: 'C' };
  });
  afterAll(() => {
    close?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kinit: "Clock skew too great while getting initial credentials", status 1', async () => {
    const before = requests;
    const r = await runOurs('kinit', ['alice'], env, 'pw\n');
    expect(r).toEqual({ status: 1, stdout: '', stderr: 'kinit: Clock skew too great while getting initial credentials\n' });
    expect(requests - before).toBe(2); // one retry with the KDC's time, as MIT's kdc_timesync does
  });

  it.skipIf(!hasMitKinit)('MIT kinit prints the same line against the same KDC (skipped without MIT krb5-user)', async () => {
    const ours = await runOurs('kinit', ['alice'], env, 'pw\n');
    const mit = await runMitAsync('kinit', ['alice'], env, 'pw\n');
    expect(ours).toEqual(mit);
  });
});

describe('a hostile KDC', () => {
  it('garbage, truncated or wrong-type replies: one line, status 1, and the program ends', async () => {
    const asRep = Buffer.from(readFileSync(join(fixtures, '04-alice-AS-REP.hex'), 'utf8').trim(), 'hex');
    const tgsReq = Buffer.from(readFileSync(join(fixtures, '05-alice-TGS-REQ.hex'), 'utf8').trim(), 'hex');
    const replies = [Buffer.from('not kerberos at all'), asRep.subarray(0, 300), tgsReq, Buffer.from([0x7e, 0x84, 0xff, 0xff, 0xff, 0xff])];
    for (const reply of replies) {
      const sock = createSocket('udp4');
      sock.on('message', (_m, r) => sock.send(reply, r.port, r.address));
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const dir = mkdtempSync(join(tmpdir(), 'kinit-hostile-'));
      writeFileSync(join(dir, 'krb5.conf'), `[libdefaults]\n default_realm = H.TEST\n[realms]\n H.TEST = {\n  kdc = 127.0.0.1:${sock.address().port}\n }\n`);
      try {
        const r = await runOurs('kinit', ['alice'], { ...process.env, KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'cc')}` }, 'pw\n');
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/^kinit: KDC reply did not match expectations \(.*\) while getting initial credentials\n$/);
      } finally {
        sock.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('usage and local errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kinit-usage-'));
  writeFileSync(join(dir, 'krb5.conf'), '[libdefaults]\n default_realm = LOCAL.TEST\n[realms]\n LOCAL.TEST = {\n  kdc = 127.0.0.1:9\n }\n');
  const env = { ...process.env, KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'none')}`, LANG: 'C', LC_ALL: 'C' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['kinit', ['-l', 'bogus', 'alice'], 2, /^Bad lifetime value bogus\nUsage: kinit /],
    ['kinit', ['-r', '1x', 'alice'], 2, /^Bad lifetime value 1x\nUsage: kinit /],
    ['kinit', ['-Z'], 2, /^kinit: invalid option -- 'Z'\nUsage: kinit /],
    ['kinit', ['-l'], 2, /^kinit: option requires an argument -- 'l'\nUsage: kinit /],
    ['kinit', ['-R', '-v'], 2, /^Only one of -v and -R allowed\n/],
    ['klist', ['-Z'], 1, /^klist: invalid option -- 'Z'\nUsage: klist /],
    ['kvno', [], 1, /^usage: kvno /],
    ['kswitch', [], 2, /^One of -c or -p must be specified\nUsage: kswitch /],
    ['kdestroy', ['-x'], 2, /^kdestroy: invalid option -- 'x'\nUsage: kdestroy /],
  ] as const)('%s %j: status %i and the usage text', async (prog, args, status, stderr) => {
    const r = await runOurs(prog, [...args], env);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(stderr);
    expect(r.stderr).not.toMatch(/\n\s+at /); // never a stack trace
  });

  it('missing cache and keytab: MIT words', async () => {
    expect(await runOurs('klist', [], env)).toEqual({ status: 1, stdout: '', stderr: `klist: No credentials cache found (filename: ${join(dir, 'none')})\n` });
    expect(await runOurs('kinit', ['-R'], env)).toEqual({
      status: 1,
      stdout: '',
      stderr: `kinit: No credentials cache found (filename: ${join(dir, 'none')}) while renewing credentials\n`,
    });
    expect(await runOurs('kinit', ['-k', '-t', join(dir, 'nope.keytab'), 'alice'], env)).toEqual({
      status: 1,
      stdout: '',
      stderr: `kinit: Pre-authentication failed: Key table file '${join(dir, 'nope.keytab')}' not found while getting initial credentials\n`,
    });
    expect(await runOurs('kdestroy', [], env)).toEqual({ status: 0, stdout: '', stderr: 'kdestroy: No credentials cache found while destroying cache\n' });
    expect(await runOurs('kdestroy', ['-q'], env)).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('a damaged cache: one line, status 1', async () => {
    writeFileSync(join(dir, 'junk'), Buffer.from('0504000c00010008', 'hex'));
    const r = await runOurs('klist', [], { ...env, KRB5CCNAME: `FILE:${join(dir, 'junk')}` });
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^klist: /);
  });

  it('a broken krb5.conf: one line naming the file and line', async () => {
    writeFileSync(join(dir, 'bad.conf'), '[libdefaults\n');
    const r = await runOurs('kinit', ['alice'], { ...env, KRB5_CONFIG: join(dir, 'bad.conf') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^kinit: missing "]" in section header \(.*bad\.conf, line 1\)\n$/);
  });

  it('--help prints the usage and succeeds', async () => {
    for (const prog of ['kinit', 'klist', 'kdestroy', 'kvno', 'kswitch'] as const) {
      const r = await runOurs(prog, ['--help'], env);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^[Uu]sage: /);
    }
  });
});
