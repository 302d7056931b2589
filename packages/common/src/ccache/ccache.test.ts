import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { tgsPrincipal } from '../krb5/principal.js';
import { FileFormatError } from '../keytab/binary.js';
import { assertCorruptionGivesFileFormatError } from '../keytab/testing/corruption.js';
import { getConfig, isConfigEntry, makeConfigEntry, parseCcache, serializeCcache, setConfig, type Ccache } from './index.js';

const FIX = new URL('../../../../test/fixtures/mit/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIX)));
const fixtureHex = (name: string): string => readFileSync(new URL(name, FIX), 'utf8').trim();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const alice = { realm: 'LAB.TEST', name: { nameType: 1, nameString: ['alice'] } };
const krbtgt = { realm: 'LAB.TEST', name: { nameType: 2, nameString: ['krbtgt', 'LAB.TEST'] } };
const T0 = new Date('2026-11-29T06:11:57Z');
const T1 = new Date('2026-11-29T16:11:57Z');

describe('ccache-alice-tgt-and-pop.bin (MIT kinit + kvno)', () => {
  const bytes = fixture('ccache-alice-tgt-and-pop.bin');
  const c = parseCcache(bytes);

  it('has the v4 header with a zero KDC offset and alice as default principal', () => {
    expect(c.version).toBe(4);
    expect(c.kdcOffset).toEqual({ seconds: 0, microseconds: 0 });
    expect(c.headerFields).toBeUndefined();
    expect(c.defaultPrincipal).toEqual(alice);
    expect(c.credentials).toHaveLength(4);
  });

  it('credentials start at offsets 45, 211, 372 and 918 as the README lays out', () => {
    const ends = [0, 1, 2, 3, 4].map((n) => serializeCcache({ ...c, credentials: c.credentials.slice(0, n) }).length);
    expect(ends).toEqual([45, 211, 372, 918, 1497]);
  });

  it('reads the fast_avail and pa_type configuration entries', () => {
    const [fast, pa] = c.credentials;
    for (const e of [fast!, pa!]) {
      expect(isConfigEntry(e)).toBe(true);
      expect(e.client).toEqual(alice);
      expect(e.server.realm).toBe('X-CACHECONF:');
      expect(e.server.name.nameType).toBe(1);
      expect(e.key).toEqual({ keytype: 0, keyvalue: new Uint8Array(0) });
      for (const t of [e.authtime, e.starttime, e.endtime, e.renewTill]) expect(t.getTime()).toBe(0);
      expect([e.isSkey, e.ticketFlags, e.addresses, e.authdata, e.secondTicket.length]).toEqual([false, 0, [], [], 0]);
    }
    expect(fast!.server.name.nameString).toEqual(['krb5_ccache_conf_data', 'fast_avail', 'krbtgt/LAB.TEST@LAB.TEST']);
    expect(pa!.server.name.nameString).toEqual(['krb5_ccache_conf_data', 'pa_type', 'krbtgt/LAB.TEST@LAB.TEST']);
    expect(new TextDecoder().decode(getConfig(c, 'fast_avail', krbtgt))).toBe('yes');
    expect(new TextDecoder().decode(getConfig(c, 'pa_type', krbtgt))).toBe('2');
    expect(getConfig(c, 'fast_avail')).toBeUndefined();
  });

  it('reads the TGT with every field', () => {
    const tgt = c.credentials[2]!;
    expect(isConfigEntry(tgt)).toBe(false);
    expect(tgt.client).toEqual(alice);
    expect(tgt.server).toEqual(krbtgt);
    expect(tgt.key.keytype).toBe(18);
    expect(hex(tgt.key.keyvalue)).toBe('699ecb3a9af9416c5c4e3f40afb04bb367bdceacf8163aa72c51723e437b065a');
    expect([tgt.authtime, tgt.starttime, tgt.endtime, tgt.renewTill]).toEqual([T0, T0, T1, new Date(0)]);
    expect(tgt.isSkey).toBe(false);
    expect(tgt.ticketFlags).toBe(0x40610000);
    expect([tgt.addresses, tgt.authdata, tgt.secondTicket.length]).toEqual([[], [], 0]);
    expect(tgt.ticket.length).toBe(400);
    expect(hex(tgt.ticket)).toBe(hex(bytes.subarray(514, 914)));
    expect(fixtureHex('04-alice-AS-REP.hex')).toContain(hex(tgt.ticket)); // the Ticket of the AS-REP
  });

  it('reads the pop/localhost service ticket', () => {
    const pop = c.credentials[3]!;
    expect(pop.server).toEqual({ realm: 'LAB.TEST', name: { nameType: 1, nameString: ['pop', 'localhost'] } });
    expect(hex(pop.key.keyvalue)).toBe('d3d6109819ca7bb974172b00fb0a1e8339b59543c2891f71738e3b2b8b4b255f');
    expect(pop.ticketFlags).toBe(0x40290000);
    expect([pop.authtime, pop.starttime, pop.endtime, pop.renewTill]).toEqual([T0, T0, T1, new Date(0)]);
    expect(pop.ticket.length).toBe(435);
    expect(hex(pop.ticket)).toBe(hex(bytes.subarray(1058, 1493)));
    expect(fixtureHex('06-alice-TGS-REP.hex')).toContain(hex(pop.ticket));
  });

  it('the .hex copy and ccache.bin are the same file', () => {
    expect(fixtureHex('ccache-alice-tgt-and-pop.hex')).toBe(hex(bytes));
    expect(hex(fixture('ccache.bin'))).toBe(hex(bytes));
  });
});

describe('ccache-bench.bin (MIT kinit -k)', () => {
  it('holds two config entries and the TGT from 10-bench-AS-REP', () => {
    const bytes = fixture('ccache-bench.bin');
    const c = parseCcache(bytes);
    expect(bytes.length).toBe(918);
    expect(c.defaultPrincipal.name.nameString).toEqual(['bench']);
    expect(c.credentials.map(isConfigEntry)).toEqual([true, true, false]);
    const tgt = c.credentials[2]!;
    expect(hex(tgt.key.keyvalue)).toBe('54ad197f738e6e13c1bb44b06d698a6e66f322ee100db57d00837c77e44d134e');
    expect(hex(tgt.ticket)).toBe(hex(bytes.subarray(514, 914)));
    expect(fixtureHex('10-bench-AS-REP.hex')).toContain(hex(tgt.ticket));
  });
});

describe('writing', () => {
  it.each(['ccache-alice-tgt-and-pop.bin', 'ccache-bench.bin'])('writes %s back byte for byte', (name) => {
    const bytes = fixture(name);
    expect(hex(serializeCcache(parseCcache(bytes)))).toBe(hex(bytes));
  });

  it('builds the same config entry bytes MIT wrote', () => {
    const bytes = fixture('ccache.bin');
    const c = parseCcache(bytes);
    // Without a client, the default principal fills it in, as MIT requires for lookups.
    const rebuilt: Ccache = { ...c, credentials: [makeConfigEntry('fast_avail', ascii('yes'), krbtgt), ...c.credentials.slice(1)] };
    expect(hex(serializeCcache(rebuilt))).toBe(hex(bytes));
    const viaSet = setConfig(setConfig({ ...c, credentials: [] }, 'fast_avail', ascii('yes'), krbtgt), 'pa_type', ascii('2'), tgsPrincipal('LAB.TEST'));
    expect(hex(serializeCcache(viaSet))).toBe(hex(bytes.subarray(0, 372)));
    const replaced = setConfig(viaSet, 'pa_type', ascii('138'), krbtgt);
    expect(replaced.credentials).toHaveLength(2);
    expect(new TextDecoder().decode(getConfig(replaced, 'pa_type', krbtgt))).toBe('138');
    expect(setConfig(replaced, 'pa_type', undefined, krbtgt).credentials).toHaveLength(1);
  });

  it('keeps a negative KDC offset and unknown header fields', () => {
    const c = parseCcache(fixture('ccache.bin'));
    c.kdcOffset = { seconds: -75, microseconds: -123456 };
    c.headerFields = [{ tag: 0x7777, value: new Uint8Array([1, 2, 3]) }];
    const bytes = serializeCcache(c);
    expect(hex(bytes.subarray(0, 4))).toBe('05040013');
    const back = parseCcache(bytes);
    expect(back.kdcOffset).toEqual({ seconds: -75, microseconds: -123456 });
    expect(back.headerFields).toEqual([{ tag: 0x7777, value: new Uint8Array([1, 2, 3]) }]);
    expect(back.credentials).toEqual(c.credentials);
  });

  it('writes an empty header when there is no KDC offset', () => {
    const c = parseCcache(fixture('ccache.bin'));
    delete c.kdcOffset;
    const bytes = serializeCcache(c);
    expect(hex(bytes.subarray(0, 8))).toBe('0504000000000001');
    expect(parseCcache(bytes).kdcOffset).toBeUndefined();
  });

  it('keeps addresses, authdata, is_skey and the second ticket', () => {
    const c = parseCcache(fixture('ccache.bin'));
    const cred = c.credentials[3]!;
    cred.addresses = [
      { addrType: 2, address: new Uint8Array([127, 0, 0, 1]) },
      { addrType: 24, address: new Uint8Array(16).fill(1) },
    ];
    cred.authdata = [{ adType: 1, adData: new Uint8Array([0x30, 0x00]) }];
    cred.isSkey = true;
    cred.secondTicket = c.credentials[2]!.ticket;
    cred.renewTill = new Date('2026-12-06T06:11:57Z');
    expect(parseCcache(serializeCcache(c))).toEqual(c);
  });

  it('refuses times outside the unsigned 32-bit range and bad dates', () => {
    const c = parseCcache(fixture('ccache.bin'));
    c.credentials[2]!.endtime = new Date(Date.UTC(2107, 0, 1));
    expect(() => serializeCcache(c)).toThrow(/endtime .* does not fit in 32 bits/);
    c.credentials[2]!.endtime = new Date(NaN);
    expect(() => serializeCcache(c)).toThrow(/endtime is an invalid Date/);
  });
});

describe('older versions', () => {
  const c = parseCcache(fixture('ccache.bin'));

  it('version 3: big-endian, no header, enctype written twice', () => {
    const v3 = serializeCcache({ ...c, version: 3 });
    expect(hex(v3.subarray(0, 6))).toBe('050300000001'); // version, then name type 1 straight away
    const back = parseCcache(v3);
    expect(back.version).toBe(3);
    expect(back.kdcOffset).toBeUndefined();
    expect(back.credentials).toEqual(c.credentials);
    // The TGT keyblock: 0x0012 0x0012 then the 32-byte key length.
    const tgtKey = hex(c.credentials[2]!.key.keyvalue);
    expect(hex(v3)).toContain('00120012' + '00000020' + tgtKey);
  });

  it.each([1, 2])('version %i: native byte order', (version) => {
    const bytes = serializeCcache({ ...c, version });
    const back = parseCcache(bytes);
    const le = endianness() === 'LE';
    const dv = new DataView(bytes.buffer);
    if (version === 2) {
      expect(dv.getUint32(2, le)).toBe(1); // name type
      expect(dv.getUint32(6, le)).toBe(1); // one component
      expect(back.credentials).toEqual(c.credentials);
    } else {
      expect(dv.getUint32(2, le)).toBe(2); // v1: the realm counts as a component, no name type
      const untyped = (p: { realm: string; name: { nameString: string[] } }) => ({ realm: p.realm, name: { nameType: 0, nameString: p.name.nameString } });
      expect(back.defaultPrincipal).toEqual(untyped(c.defaultPrincipal));
      expect(back.credentials.map((x) => [x.client, x.server])).toEqual(c.credentials.map((x) => [untyped(x.client), untyped(x.server)]));
      expect(back.credentials.map((x) => x.ticket)).toEqual(c.credentials.map((x) => x.ticket));
    }
  });
});

describe('malformed ccaches', () => {
  const bytes = fixture('ccache.bin');

  it('rejects files that are not ccaches', () => {
    expect(() => parseCcache(new Uint8Array([5, 2 + 3]), 'f')).toThrow(/f: unsupported credentials cache version 5/);
    expect(() => parseCcache(fixture('pop.keytab'), 'pop.keytab')).toThrow(/unsupported credentials cache version 2|truncated|more than the file holds/);
    expect(() => parseCcache(new Uint8Array([4, 4]), 'f')).toThrow(/first byte is 0x4/);
    expect(() => parseCcache(new Uint8Array([5]), 'f')).toThrow(FileFormatError);
  });

  it('a file cut inside a credential is truncated, with file name and offset', () => {
    for (const cut of [1, 3, 20, 44, 46, 300, 600, 1496]) {
      try {
        parseCcache(bytes.subarray(0, cut), 'cc');
        expect.unreachable(`cut at ${cut}`);
      } catch (e) {
        expect(e).toBeInstanceOf(FileFormatError);
        expect((e as FileFormatError).truncated).toBe(true);
        expect((e as FileFormatError).offset).toBeLessThanOrEqual(cut);
        expect((e as Error).message).toMatch(/^cc: (truncated: .*|not a credentials cache: file is shorter than its 2-byte version) \(at byte offset \d+\)$/);
      }
    }
  });

  it('huge counts are refused before anything is allocated', () => {
    const bad = new Uint8Array(bytes);
    new DataView(bad.buffer).setUint32(20, 0xffffffff); // default principal component count
    expect(() => parseCcache(bad, 'cc')).toThrow(/cc: default principal claims 4294967295 components, more than the file holds \(at byte offset 16\)/);
  });

  it('a header field overrunning the header is malformed, not truncated', () => {
    const bad = new Uint8Array(bytes);
    new DataView(bad.buffer).setUint16(6, 9); // tag 1 claims 9 bytes inside a 12-byte header
    try {
      parseCcache(bad, 'cc');
      expect.unreachable();
    } catch (e) {
      expect((e as FileFormatError).truncated).toBe(false);
      expect((e as Error).message).toMatch(/ccache header at offset 2 too short: header field needs 9 bytes, 8 left \(at byte offset 8\)/);
    }
  });

  it('any corruption gives a FileFormatError or a parse, never another exception', () => {
    assertCorruptionGivesFileFormatError(bytes, (b) => parseCcache(b), 8, 1500);
  });
});
