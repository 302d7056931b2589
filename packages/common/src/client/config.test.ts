import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { configPaths, loadKrb5Config, parseBoolean, parseKdcAddress, parseKrb5Config } from './config.js';
import { parseDuration, parseTimestamp } from './duration.js';
import { parseProfile, ProfileSyntaxError } from './profile.js';

const here = join(dirname(fileURLToPath(import.meta.url)), 'testdata');

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempConfDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'krb5conf-'));
  made.push(dir);
  return dir;
}

function layered(): string {
  const dir = tempConfDir();
  const text = readFileSync(join(here, 'layered.conf'), 'utf8').replaceAll('INCLUDE_DIR', here);
  writeFileSync(join(dir, 'krb5.conf'), text);
  return join(dir, 'krb5.conf');
}

describe('krb5.conf: Debian 12 default /etc/krb5.conf', () => {
  const cfg = parseKrb5Config(readFileSync(join(here, 'debian-krb5.conf'), 'utf8'));
  it('reads libdefaults, including the Heimdal-only key it keeps', () => {
    expect(cfg.defaultRealm).toBe('ATHENA.MIT.EDU');
    expect(cfg.forwardable()).toBe(true);
    expect(cfg.proxiable()).toBe(true);
    expect(cfg.rdns).toBe(false);
    expect(cfg.libdefault('kdc_timesync')).toBe('1');
    expect(cfg.libdefault('fcc-mit-ticketflags')).toBe('true');
  });
  it('lists several KDCs per realm in file order with default port 88', () => {
    expect(cfg.kdcs('ATHENA.MIT.EDU')).toEqual([
      { host: 'kerberos.mit.edu', port: 88 },
      { host: 'kerberos-1.mit.edu', port: 88 },
      { host: 'kerberos-2.mit.edu', port: 88 },
    ]);
    expect(cfg.adminServers('ZONE.MIT.EDU')).toEqual([{ host: 'casio.mit.edu', port: 749 }]);
    expect(cfg.kdcs('CSAIL.MIT.EDU')).toEqual([]);
  });
  it('maps hosts to realms through [domain_realm], longest suffix first', () => {
    expect(cfg.hostRealm('www.media.mit.edu')).toBe('MEDIA-LAB.MIT.EDU');
    expect(cfg.hostRealm('mit.edu')).toBe('ATHENA.MIT.EDU');
    expect(cfg.hostRealm('foo.slac.stanford.edu')).toBe('SLAC.STANFORD.EDU');
    expect(cfg.hostRealm('FOO.UTORONTO.CA.')).toBe('UTORONTO.CA');
    expect(cfg.hostRealm('example.org')).toBeUndefined();
  });
  it("falls back to MIT's defaults for what the file does not set", () => {
    expect(cfg.ticketLifetime()).toBe(86400);
    expect(cfg.renewLifetime()).toBe(0);
    expect(cfg.udpPreferenceLimit).toBe(1465);
    expect(cfg.clockskew).toBe(300);
    expect(cfg.kdcTimeoutMs).toBe(1000);
    expect(cfg.maxRetries).toBe(3);
  });
});

describe('krb5.conf: MIT syntax details', () => {
  it('parses durations, booleans, quoted strings, unknown keys and per-realm overrides', () => {
    const cfg = parseKrb5Config(readFileSync(layered(), 'utf8'), layered());
    expect(cfg.ticketLifetime()).toBe(36000);
    expect(cfg.ticketLifetime('LAB.TEST')).toBe(3600); // [realms] LAB.TEST ticket_lifetime
    expect(cfg.renewLifetime()).toBe(7 * 86400);
    expect(cfg.forwardable()).toBe(true);
    expect(cfg.forwardable('LAB.TEST')).toBe(false); // [libdefaults] LAB.TEST = { … }
    expect(cfg.udpPreferenceLimit).toBe(1);
    expect(cfg.clockskew).toBe(300);
    expect(cfg.kdcTimeoutMs).toBe(2000);
    expect(cfg.permittedEnctypes).toBe('aes256-sha2 aes128-sha2');
    expect(cfg.libdefault('some_future_option')).toBe('kept');
    expect(cfg.libdefault('quoted tag')).toBe('a "quoted" value\twith tab');
    expect(cfg.profile.lookup(['realms', 'LAB.TEST', 'unknown_realm_key', 'nested'])).toEqual(['1']);
  });
  it('reads kdc entries with ports, transports and IPv6', () => {
    const cfg = parseKrb5Config(readFileSync(layered(), 'utf8'));
    expect(cfg.kdcs('LAB.TEST')).toEqual([
      { host: '127.0.0.1', port: 18888 },
      { host: 'kdc2.lab.test', port: 88, transport: 'tcp' },
      { host: '::1', port: 88 },
    ]);
    expect(cfg.primaryKdcs('LAB.TEST')).toEqual([{ host: '127.0.0.1', port: 18888 }]);
  });
  it('follows include and includedir (skipping backup names), first value winning', () => {
    const cfg = parseKrb5Config(readFileSync(layered(), 'utf8'));
    expect(cfg.defaultRealm).toBe('LAB.TEST'); // the include comes after, and [libdefaults] is final
    expect(cfg.kdcs('EXTRA.TEST')).toEqual([{ host: 'extra-kdc', port: 750 }]);
    expect(cfg.kdcs('DIR.TEST')).toEqual([{ host: 'dir-kdc', port: 88 }]);
    expect(cfg.kdcs('NOEXT.TEST')).toEqual([{ host: 'noext', port: 88 }]);
    expect(cfg.kdcs('SKIPPED.TEST')).toEqual([]);
  });
  it('KRB5_CONFIG: a colon list, later files add to non-final sections, missing files skipped', () => {
    const first = layered();
    const env = { KRB5_CONFIG: `${first}:/nonexistent/krb5.conf:${join(here, 'override.conf')}` };
    expect(configPaths(env)).toHaveLength(3);
    const cfg = loadKrb5Config(env);
    expect(cfg.files).toEqual([first, join(here, 'override.conf')]);
    expect(cfg.defaultRealm).toBe('LAB.TEST');
    expect(cfg.libdefault('new_in_second')).toBeUndefined(); // [libdefaults]* was final
    expect(cfg.kdcs('LAB.TEST').map((k) => k.host)).toEqual(['127.0.0.1', 'kdc2.lab.test', '::1', 'second-file-kdc']);
    expect(cfg.hostRealm('special.lab.test')).toBe('OTHER.TEST');
    expect(cfg.hostRealm('x.lab.test')).toBe('LAB.TEST');
  });
  it('defaults to /etc/krb5.conf and tolerates no file at all', () => {
    expect(configPaths({})).toEqual(['/etc/krb5.conf']);
    const cfg = loadKrb5Config({ KRB5_CONFIG: '/nonexistent/a:/nonexistent/b' });
    expect(cfg.defaultRealm).toBeUndefined();
    expect(cfg.files).toEqual([]);
  });
  it('treats ; and # only as whole-line comments, as MIT does', () => {
    const p = parseProfile('[a]\n  # c\n  ; c\n  x = 1 # not a comment\n');
    expect(p.lookup(['a', 'x'])).toEqual(['1 # not a comment']);
  });
  it('a final relation stops later files', () => {
    const a = parseProfile('[libdefaults]\n x* = 1\n');
    a.merge(parseProfile('[libdefaults]\n x = 2\n y = 3\n'));
    expect(a.lookup(['libdefaults', 'x'])).toEqual(['1']);
    expect(a.lookup(['libdefaults', 'y'])).toEqual(['3']);
  });
  it('rejects broken syntax with the file and line', () => {
    expect(() => parseProfile('x = 1\n', { fileName: 'f' })).toThrow(ProfileSyntaxError);
    expect(() => parseProfile('[a]\n b = {\n c = 1\n', { fileName: 'f' })).toThrow(/missing "}".*f, line 4/);
    expect(() => parseProfile('[a\n', { fileName: 'f' })).toThrow(/line 1/);
    expect(() => parseProfile('[a]\n just words\n', { fileName: 'f' })).toThrow(/line 2/);
    expect(() => parseProfile('[a]\n}\n')).toThrow(/without an open/);
    expect(() => parseProfile('include /nonexistent/x.conf\n')).toThrow(/cannot read included file/);
  });
  it('refuses include loops', () => {
    const dir = tempConfDir();
    writeFileSync(join(dir, 'a.conf'), `include ${join(dir, 'b.conf')}\n`);
    writeFileSync(join(dir, 'b.conf'), `include ${join(dir, 'a.conf')}\n`);
    expect(() => loadKrb5Config({ KRB5_CONFIG: join(dir, 'a.conf') })).toThrow(/include loop/);
  });
});

describe('durations (krb5_string_to_deltat forms)', () => {
  it.each([
    ['3600', 3600],
    ['10h', 36000],
    ['1d', 86400],
    ['30m', 1800],
    ['45s', 45],
    ['1d2h30m', 86400 + 7200 + 1800],
    ['1d 2h', 93600],
    ['1:30', 5400],
    ['1:30:15', 5415],
    ['2-12:00:00', 2 * 86400 + 12 * 3600],
    ['1d 2:00', 86400 + 7200],
    ['-5m', -300],
  ])('%s = %i s', (t, s) => expect(parseDuration(t)).toBe(s));
  it.each(['', 'abc', '10x', '1h1d', '1:70', 'h', '1h2h'])('rejects %j', (t) => expect(parseDuration(t)).toBeUndefined());
  it('reads absolute times for kinit -s', () => {
    expect(parseTimestamp('20261129061157Z')?.toISOString()).toBe('2026-11-29T06:11:57.000Z');
    expect(parseTimestamp('2026-11-29T06:11Z')?.toISOString()).toBe('2026-11-29T06:11:00.000Z');
    expect(parseTimestamp('tomorrow')).toBeUndefined();
  });
});

describe('small parsers', () => {
  it('booleans as MIT spells them', () => {
    for (const t of ['y', 'Yes', 'TRUE', 't', '1', 'on']) expect(parseBoolean(t)).toBe(true);
    for (const f of ['n', 'no', 'false', 'nil', '0', 'off']) expect(parseBoolean(f)).toBe(false);
    expect(parseBoolean('maybe')).toBeUndefined();
  });
  it('kdc addresses', () => {
    expect(parseKdcAddress('udp/10.0.0.1:750')).toEqual({ host: '10.0.0.1', port: 750, transport: 'udp' });
    expect(parseKdcAddress('fe80::1')).toEqual({ host: 'fe80::1', port: 88 });
    expect(parseKdcAddress('host:notaport')).toBeUndefined();
    expect(parseKdcAddress('https://kkdcp.example/KdcProxy')).toBeUndefined();
  });
});

describe('hostile krb5.conf text', () => {
  it('any text either parses or fails with a ProfileSyntaxError (never another exception)', () => {
    const piece = fc.constantFrom('[', ']', '{', '}', '=', '*', '"', '\\', '\n', ' ', '\t', ';', '#', 'a', 'kdc', 'include ', 'includedir ', 'module ', 'x = {', '}*', '[realms]');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (parts) => {
        try {
          parseProfile(parts.join(''), { readFile: () => '', readDir: () => [] });
        } catch (e) {
          if (!(e instanceof ProfileSyntaxError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
