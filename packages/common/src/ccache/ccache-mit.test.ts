/**
 * Interop with MIT krb5 1.20: klist lists the caches we write (principals,
 * times, flags, enctypes, addresses) and reads our DIR collections; kswitch's
 * primary file is what we resolve.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeTicket, encodeTicket } from '../krb5/index.js';
import { formatPrincipal } from '../krb5/principal.js';
import type { Principal } from '../krb5/types.js';
import { atClock, hasFaketime } from '../../../../test/helpers/mit-clock.js';
import {
  isConfigEntry,
  makeConfigEntry,
  newCcacheInCollection,
  parseCcache,
  readCcache,
  resolveCcacheName,
  setPrimaryCcache,
  writeCcache,
  type Ccache,
  type Credential,
} from './index.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const hasKlist = has('klist');
const hasKswitch = has('kswitch');
const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C', KRB5_CONFIG: '/dev/null' };

const FIX = new URL('../../../../test/fixtures/mit/', import.meta.url);
const mit = parseCcache(new Uint8Array(fs.readFileSync(new URL('ccache.bin', FIX))));
const bench = parseCcache(new Uint8Array(fs.readFileSync(new URL('ccache-bench.bin', FIX))));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-mit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MIT_ETYPE: Record<number, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
};
/** klist's flag letters, in the order it prints them (RFC 4120 §5.3 bit → letter). */
const FLAG_LETTERS: [number, string][] = [
  [0x40000000, 'F'], [0x20000000, 'f'], [0x10000000, 'P'], [0x08000000, 'p'], [0x04000000, 'D'], [0x02000000, 'd'],
  [0x01000000, 'i'], [0x00800000, 'R'], [0x00400000, 'I'], [0x00100000, 'H'], [0x00200000, 'A'], [0x00080000, 'T'],
  [0x00040000, 'O'], [0x00008000, 'a'],
];
const flagString = (f: number): string => FLAG_LETTERS.filter(([bit]) => (f & bit) !== 0).map(([, l]) => l).join('');

function mitTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

const P = (text: string, nameType = 1): Principal => {
  const [name, realm] = text.split('@') as [string, string];
  return { realm, name: { nameType, nameString: name.split('/') } };
};

/** A fixture ticket re-encoded for another service and enctype (klist reads tkt etype and sname from it). */
function ticketFor(server: Principal, etype: number): Uint8Array {
  const t = decodeTicket(mit.credentials[2]!.ticket);
  return encodeTicket({ ...t, realm: server.realm, sname: server.name, encPart: { ...t.encPart, etype } });
}

const T = Date.UTC(2027, 0, 15, 9, 30, 5);
const at = (secondsFromT: number) => new Date(T + secondsFromT * 1000);
const key = (etype: number) => ({ keytype: etype, keyvalue: new Uint8Array(etype === 17 || etype === 19 ? 16 : 32).fill(etype) });
const alice = P('alice@LAB.TEST');

function cred(client: Principal, server: Principal, o: Partial<Credential> & { skey: number; tkt: number }): Credential {
  const { skey, tkt, ...rest } = o;
  return {
    client,
    server,
    key: key(skey),
    authtime: at(0),
    starttime: at(0),
    endtime: at(36000),
    renewTill: new Date(0),
    isSkey: false,
    ticketFlags: 0x40610000,
    addresses: [],
    authdata: [],
    ticket: ticketFor(server, tkt),
    secondTicket: new Uint8Array(0),
    ...rest,
  };
}

function buildCache(): Ccache {
  const tgs = P('krbtgt/LAB.TEST@LAB.TEST', 2);
  return {
    version: 4,
    kdcOffset: { seconds: 3, microseconds: 250 },
    defaultPrincipal: alice,
    credentials: [
      makeConfigEntry('fast_avail', new TextEncoder().encode('yes'), tgs),
      makeConfigEntry('pa_type', new TextEncoder().encode('2'), tgs),
      cred(alice, tgs, { skey: 18, tkt: 18, starttime: at(60), renewTill: at(7 * 86400), ticketFlags: 0x40e10000 /* F R I A + enc-pa-rep */ }),
      cred(alice, P('pop/mail.lab.test@LAB.TEST', 3), {
        skey: 17,
        tkt: 19,
        authtime: at(0),
        starttime: at(125),
        endtime: at(3600),
        ticketFlags: 0x5c2c0000 /* F P p D A T O */,
        addresses: [
          { addrType: 2, address: new Uint8Array([192, 0, 2, 7]) },
          { addrType: 24, address: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]) },
        ],
      }),
      cred(P('bob@OTHER.TEST'), P('HTTP/web.other.test@OTHER.TEST'), { skey: 20, tkt: 20, starttime: new Date(0), authtime: at(-600), endtime: at(1800), ticketFlags: 0x2b508000 /* f p d i I H a */ }),
      cred(alice, P('host/db.lab.test@LAB.TEST'), { skey: 19, tkt: 17, ticketFlags: 0x00a00000 /* R A */, renewTill: at(86400) }),
    ],
  };
}

interface KlistEntry {
  start: string;
  end: string;
  server: string;
  extra: string;
}

function parseKlist(out: string): { cache: string; principal: string; entries: KlistEntry[] } {
  const lines = out.split('\n');
  const cache = /^Ticket cache: (.*)$/.exec(lines[0]!)![1]!;
  const principal = /^Default principal: (.*)$/.exec(lines[1]!)![1]!;
  const entries: KlistEntry[] = [];
  for (const line of lines.slice(4)) {
    const m = /^(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d) {2}(\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d) {2}(\S+)$/.exec(line);
    if (m) entries.push({ start: m[1]!, end: m[2]!, server: m[3]!, extra: '' });
    else if (line.startsWith('\t')) entries.at(-1)!.extra += line.slice(1) + '\n';
  }
  return { cache, principal, entries };
}

describe('MIT klist reads the ccaches we write', () => {
  it.skipIf(!hasKlist)('klist -e -f -a -n shows every principal, time, flag, enctype and address (skipped when MIT klist is not installed)', () => {
    const c = buildCache();
    const file = path.join(dir, 'ours.cc');
    writeCcache(file, c);
    const out = execFileSync('klist', ['-e', '-f', '-a', '-n', '-c', `FILE:${file}`], { env, encoding: 'utf8' });
    const got = parseKlist(out);
    expect(got.cache).toBe(`FILE:${file}`);
    expect(got.principal).toBe('alice@LAB.TEST');
    const real = c.credentials.filter((x) => !isConfigEntry(x));
    expect(got.entries).toHaveLength(real.length); // configuration entries are hidden, as MIT hides its own
    real.forEach((want, i) => {
      const e = got.entries[i]!;
      expect(e.server).toBe(formatPrincipal(want.server));
      expect(e.start).toBe(mitTime(want.starttime.getTime() ? want.starttime : want.authtime));
      expect(e.end).toBe(mitTime(want.endtime));
      const client = /for client (\S+?)(,|\n)/.exec(e.extra)?.[1];
      expect(client).toBe(want.client === alice ? undefined : formatPrincipal(want.client));
      const renew = /renew until (\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d)/.exec(e.extra)?.[1];
      expect(renew).toBe(want.renewTill.getTime() ? mitTime(want.renewTill) : undefined);
      expect(/Flags: ([A-Za-z]+)/.exec(e.extra)?.[1]).toBe(flagString(want.ticketFlags));
      const etypes = /Etype \(skey, tkt\): ([\w-]+), ([\w-]+)/.exec(e.extra);
      expect([etypes?.[1], etypes?.[2]]).toEqual([MIT_ETYPE[want.key.keytype], MIT_ETYPE[decodeTicket(want.ticket).encPart.etype]]);
      const addrs = /Addresses: (.*)\n/.exec(e.extra)?.[1];
      expect(addrs).toBe(want.addresses.length ? want.addresses.map((a) => (a.addrType === 2 ? [...a.address].join('.') : '2001:db8::42')).join(', ') : '(none)');
      expect(e.extra).not.toMatch(/Ticket server/); // the ticket's sname matches the entry's server
    });
  });

  it.skipIf(!hasKlist || !hasFaketime)('klist -s accepts a cache of ours with a live TGT and rejects one whose tickets expired (skipped when MIT klist or faketime is not installed)', () => {
    const now = T; // klist's clock is pinned here too
    const klistS = (file: string) => {
      const [cmd, argv] = atClock(new Date(now), 'klist', ['-s', '-c', file]);
      return spawnSync(cmd, argv, { env }).status;
    };
    const live: Ccache = { ...mit, credentials: mit.credentials.map((x) => (isConfigEntry(x) ? x : { ...x, authtime: new Date(now - 60_000), starttime: new Date(now - 60_000), endtime: new Date(now + 3_600_000) })) };
    const file = path.join(dir, 'live.cc');
    writeCcache(file, live);
    expect(klistS(file)).toBe(0);
    writeCcache(file, { ...live, credentials: live.credentials.map((x) => (isConfigEntry(x) ? x : { ...x, endtime: new Date(now - 1000) })) });
    expect(klistS(file)).toBe(1);
  });
});

describe('DIR collections shared with MIT', () => {
  // klist -l marks a cache whose TGT has ended "(Expired)": MIT's programs run
  // with their clock pinned inside the fixture tickets' lifetime.
  const clock = new Date(mit.credentials.filter((x) => !isConfigEntry(x))[0]!.authtime.getTime() + 60_000);
  const mitAt = (program: string, args: string[], e: NodeJS.ProcessEnv): string => {
    const [cmd, argv] = atClock(clock, program, args);
    return execFileSync(cmd, argv, { env: e, encoding: 'utf8' });
  };
  it.skipIf(!hasKlist || !hasKswitch || !hasFaketime)('klist -l lists our collection, kswitch moves the primary we resolve (skipped when MIT klist/kswitch or faketime are not installed)', () => {
    const coll = path.join(dir, 'coll');
    const a = newCcacheInCollection(coll);
    writeCcache(a, mit);
    const b = newCcacheInCollection(coll);
    writeCcache(b, bench);
    setPrimaryCcache(coll, b);
    const denv = { ...env, KRB5CCNAME: `DIR:${coll}` };
    const list = mitAt('klist', ['-l'], denv).split('\n').slice(2).filter(Boolean).map((l) => l.split(/\s+/));
    expect(list).toEqual([
      ['bench@LAB.TEST', `DIR::${b}`],
      ['alice@LAB.TEST', `DIR::${a}`],
    ]);
    expect(mitAt('klist', [], denv)).toMatch(/^Ticket cache: DIR::.*\nDefault principal: bench@LAB.TEST\n/);
    mitAt('kswitch', ['-c', `DIR::${a}`], denv);
    const loc = resolveCcacheName(undefined, denv);
    expect(loc.path).toBe(a);
    expect(formatPrincipal(readCcache(loc.path).defaultPrincipal)).toBe('alice@LAB.TEST');
  });
});
