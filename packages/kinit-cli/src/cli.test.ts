/**
 * The CLI pieces in-process: getopt as glibc parses MIT's optstrings, kinit's
 * option meanings, klist's layout on the MIT fixture ccache (compared with
 * MIT klist's recorded output in test/fixtures/mit/tool-output.txt), and the
 * error texts.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClientError, KrbError, parsePrincipal } from '@kpop/common';
import { getopt, UsageError } from './getopt.js';
import { runProgram, type CliIo } from './io.js';
import { parseKinitArgs, kinitMain } from './kinit.js';
import { klistMain } from './klist.js';
import { KLIST_USAGE } from './usage.js';
import { errorText } from './messages.js';
import { flagsString, formatTime } from './format.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/mit');

function io(argv: string[], env: NodeJS.ProcessEnv): CliIo & { stdout: string; stderr: string } {
  const o = {
    argv,
    env,
    stdout: '',
    stderr: '',
    out(t: string) {
      o.stdout += t;
    },
    err(t: string) {
      o.stderr += t;
    },
    readPassword: async () => 'unused',
  };
  return o;
}

describe('getopt (glibc semantics on MIT optstrings)', () => {
  const KINIT = 'r:fpFPn54aAVl:s:c:kit:T:RS:vX:CEI:';
  it('clusters flags, attaches or separates arguments, permutes operands', () => {
    expect(getopt(['-fp', '-l10h', '-r', '7d', 'alice', '-k'], KINIT, 'kinit')).toEqual({
      options: [{ name: 'f' }, { name: 'p' }, { name: 'l', value: '10h' }, { name: 'r', value: '7d' }, { name: 'k' }],
      operands: ['alice'],
    });
    expect(getopt(['-kt', '/etc/krb5.keytab', 'host/x'], KINIT, 'kinit').options).toEqual([{ name: 'k' }, { name: 't', value: '/etc/krb5.keytab' }]);
    expect(getopt(['--', '-notanoption'], KINIT, 'kinit').operands).toEqual(['-notanoption']);
  });
  it('reports unknown options and missing arguments in glibc words', () => {
    expect(() => getopt(['-Z'], KINIT, 'kinit')).toThrow(new UsageError("kinit: invalid option -- 'Z'"));
    expect(() => getopt(['-c'], KINIT, 'kinit')).toThrow("kinit: option requires an argument -- 'c'");
    expect(() => getopt(['--bogus'], KINIT, 'kinit')).toThrow("kinit: unrecognized option '--bogus'");
  });
});

describe('kinit options', () => {
  const now = new Date('2026-11-29T06:11:57Z');
  it('lifetimes in MIT forms, flags and their negations, keytab and cache names', () => {
    const o = parseKinitArgs(['-l', '1:30', '-r', '7d', '-F', '-p', '-A', '-C', '-k', '-t', 'FILE:/k', '-c', 'DIR:/c', '-S', 'kadmin/admin', 'alice'], now);
    expect(o).toMatchObject({ lifetime: 5400, renewLife: 7 * 86400, forwardable: false, proxiable: true, addresses: false, canonicalize: true, keytab: true, keytabName: 'FILE:/k', cache: 'DIR:/c', service: 'kadmin/admin', principal: 'alice' });
    expect(parseKinitArgs(['-s', '30m'], now).start?.toISOString()).toBe('2026-11-29T06:41:57.000Z');
  });
  it('refuses what MIT refuses', () => {
    expect(() => parseKinitArgs(['-l', '0'], now)).toThrow('Bad lifetime value 0');
    expect(() => parseKinitArgs(['-s', 'soon'], now)).toThrow('Bad start time value soon');
    expect(() => parseKinitArgs(['-t', 'x'], now)).toThrow('Only -k can be used with -t or -i');
    expect(() => parseKinitArgs(['a', 'b'], now)).toThrow('extra arguments');
  });
  it('a realm-less principal without default_realm is one line, status 1', async () => {
    const t = io(['alice'], { KRB5_CONFIG: '/nonexistent', KRB5CCNAME: `FILE:${join(tmpdir(), 'no-such-cc')}` });
    expect(await runProgram('kinit', '', 2, t, (x) => kinitMain(x))).toBe(1);
    expect(t.stderr).toBe('kinit: Configuration file does not specify default realm when parsing name alice\n');
  });
});

describe('klist on the MIT fixture ccache', () => {
  it('prints what MIT klist -e printed for the same file (test/fixtures/mit/tool-output.txt)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'klist-fixture-'));
    copyFileSync(join(fixtures, 'ccache.bin'), join(dir, 'ccache.bin'));
    const t = io(['-e'], { KRB5_CONFIG: '/nonexistent', KRB5CCNAME: `FILE:${join(dir, 'ccache.bin')}`, TZ: 'UTC' });
    const prevTz = process.env.TZ;
    process.env.TZ = 'UTC'; // the recording was made in UTC; Date reads TZ from the process
    try {
      expect(await runProgram('klist', KLIST_USAGE, 1, t, (x) => klistMain(x))).toBe(0);
    } finally {
      if (prevTz === undefined) delete process.env.TZ;
      else process.env.TZ = prevTz;
    }
    const recorded = readFileSync(join(fixtures, 'tool-output.txt'), 'utf8').split('### klist -e (after kvno)\n')[1]!.split('\n### ')[0]!.trimEnd();
    expect(t.stdout.trimEnd()).toBe(recorded.replace('FILE:ccache.bin', `FILE:${join(dir, 'ccache.bin')}`));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('output pieces', () => {
  it('flags in MIT order', () => {
    expect(flagsString(0x40610000)).toBe('FIA');
    expect(flagsString(0x40290000)).toBe('FAT');
    expect(flagsString(0x50e00000)).toBe('FPRIA');
    expect(flagsString(0)).toBe('');
  });
  it('times as the C locale prints %x %X', () => {
    const d = new Date(2026, 0, 2, 3, 4, 5);
    expect(formatTime(d)).toBe('01/02/26 03:04:05');
  });
  it('error texts use MIT wording and extended messages', () => {
    const alice = parsePrincipal('alice@LAB.TEST');
    expect(errorText(new KrbError(24), { password: true })).toBe('Password incorrect');
    expect(errorText(new KrbError(24))).toBe('Preauthentication failed');
    expect(errorText(new KrbError(6), { client: alice })).toBe("Client 'alice@LAB.TEST' not found in Kerberos database");
    expect(errorText(new KrbError(7), { server: parsePrincipal('pop/x@LAB.TEST') })).toBe('Server pop/x@LAB.TEST not found in Kerberos database');
    expect(errorText(new KrbError(37))).toBe('Clock skew too great');
    expect(errorText(new KrbError(60, undefined, { eText: 'custom' }))).toBe('custom');
    expect(errorText(new ClientError('KRB5_KDC_UNREACH', "Cannot contact any KDC for realm 'R'"))).toBe("Cannot contact any KDC for realm 'R'");
  });
});
