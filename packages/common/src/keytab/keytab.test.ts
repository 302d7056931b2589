import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { FileFormatError, KEYTAB_V1, KEYTAB_V2, findKeytabKey, parseKeytab, serializeKeytab, type Keytab } from './index.js';
import { assertCorruptionGivesFileFormatError } from './testing/corruption.js';

const FIX = new URL('../../../../test/fixtures/mit/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIX)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('MIT keytab fixtures', () => {
  it('reads pop.keytab as the fixtures README lays it out', () => {
    const kt = parseKeytab(fixture('pop.keytab'));
    expect(kt.version).toBe(KEYTAB_V2);
    expect(kt.entries).toHaveLength(2);
    const [a, b] = kt.entries;
    expect(a!.principal).toEqual({ realm: 'LAB.TEST', name: { nameType: 1, nameString: ['pop', 'localhost'] } });
    expect(a!.timestamp.toISOString()).toBe('2026-11-29T06:09:11.000Z');
    expect(a!.kvno).toBe(2);
    expect(a!.key.keytype).toBe(18);
    expect(hex(a!.key.keyvalue)).toBe('38e50ca48425ab5454c4f3a3e6f18f0362576e2600627e4a421136e46ea6d66e');
    expect(b!.key.keytype).toBe(17);
    expect(hex(b!.key.keyvalue)).toBe('bc80859d5f1c2ce7654c87d839259088');
    expect(b!.kvno).toBe(2);
  });

  it('pop.keytab.hex is the same file', () => {
    const text = readFileSync(new URL('pop.keytab.hex', FIX), 'utf8').trim();
    expect(text).toBe(hex(fixture('pop.keytab')));
  });

  it('reads bench.keytab', () => {
    const kt = parseKeytab(fixture('bench.keytab'));
    expect(kt.entries.map((e) => [e.principal.name.nameString.join('/'), e.principal.realm, e.kvno, e.key.keytype, hex(e.key.keyvalue)])).toEqual([
      ['bench', 'LAB.TEST', 2, 18, '0e79bc36888285f25325d9f4ae4967113fe759d1463635d64dc70b88995496ab'],
      ['bench', 'LAB.TEST', 2, 17, '8c7557e53413229f2fbffe8eabc9ff43'],
    ]);
  });

  it.each(['pop.keytab', 'bench.keytab'])('writes %s back byte for byte', (name) => {
    const bytes = fixture(name);
    expect(hex(serializeKeytab(parseKeytab(bytes)))).toBe(hex(bytes));
  });
});

/** Build a record by hand: [len][entry bytes][extra] with the given length field. */
function record(entry: Uint8Array, lengthField = entry.length): Uint8Array {
  const out = new Uint8Array(4 + entry.length);
  new DataView(out.buffer).setInt32(0, lengthField);
  out.set(entry, 4);
  return out;
}
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

describe('keytab records', () => {
  const pop = fixture('pop.keytab');
  const first = pop.subarray(6, 6 + 77); // entry 1 body (record length 77)
  const second = pop.subarray(6 + 77 + 4); // entry 2 body

  it('skips deleted slots (negative record length, zero-filled hole)', () => {
    const hole = cat(record(new Uint8Array(40), -40));
    const bytes = cat(pop.subarray(0, 2), hole, record(first), record(new Uint8Array(12), -12), record(second));
    const kt = parseKeytab(bytes);
    expect(kt.entries.map((e) => e.key.keytype)).toEqual([18, 17]);
  });

  it('stops at a zero record length', () => {
    const bytes = cat(pop.subarray(0, 2), record(first), new Uint8Array(4), record(second));
    expect(parseKeytab(bytes).entries).toHaveLength(1);
  });

  it('ignores slack after an entry written into a larger hole (zero 32-bit kvno → 8-bit kvno)', () => {
    const noKvno32 = first.subarray(0, first.length - 4);
    const bytes = cat(pop.subarray(0, 2), record(cat(noKvno32, new Uint8Array(20))));
    const kt = parseKeytab(bytes);
    expect(kt.entries[0]!.kvno).toBe(2);
    expect(hex(kt.entries[0]!.key.keyvalue)).toBe('38e50ca48425ab5454c4f3a3e6f18f0362576e2600627e4a421136e46ea6d66e');
  });

  it('reads records without the 32-bit kvno (pre-1.14 writers)', () => {
    const noKvno32 = first.subarray(0, first.length - 4);
    expect(parseKeytab(cat(pop.subarray(0, 2), record(noKvno32))).entries[0]!.kvno).toBe(2);
  });

  it('kvno above 255 travels in the 32-bit field, low byte in the 8-bit one', () => {
    const kt = parseKeytab(pop);
    kt.entries[0]!.kvno = 300;
    kt.entries[1]!.kvno = 0x12345678;
    const bytes = serializeKeytab(kt);
    // first entry: kvno8 sits right after the timestamp at record offset 4+2+10+5+11+4+4
    const kvno8At = 2 + 4 + 2 + 10 + 5 + 11 + 4 + 4;
    expect(bytes[kvno8At]).toBe(300 & 0xff);
    expect(parseKeytab(bytes).entries.map((e) => e.kvno)).toEqual([300, 0x12345678]);
  });

  it('reads version 0x0501 (native byte order, realm counted, no name type)', () => {
    const le = endianness() === 'LE';
    const kt = parseKeytab(pop);
    const v1 = serializeKeytab({ version: KEYTAB_V1, entries: kt.entries });
    expect([v1[0], v1[1]]).toEqual([5, 1]);
    const dv = new DataView(v1.buffer);
    expect(dv.getUint16(6, le)).toBe(3); // pop, localhost + realm
    const back = parseKeytab(v1);
    expect(back.version).toBe(KEYTAB_V1);
    expect(back.entries.map((e) => [e.principal.realm, e.principal.name, e.kvno, e.key.keytype, hex(e.key.keyvalue)])).toEqual(
      kt.entries.map((e) => [e.principal.realm, { nameType: 0, nameString: e.principal.name.nameString }, e.kvno, e.key.keytype, hex(e.key.keyvalue)]),
    );
  });
});

describe('malformed keytabs', () => {
  const pop = fixture('pop.keytab');

  it('rejects other file types with a clear error', () => {
    expect(() => parseKeytab(new Uint8Array([5, 4, 0, 0]), 'x.keytab')).toThrow(/x\.keytab: not a keytab: unsupported version 0x0504/);
    expect(() => parseKeytab(new Uint8Array([]), 'e')).toThrow(FileFormatError);
  });

  it('names file and offset when a record is cut short', () => {
    const err = (() => {
      try {
        parseKeytab(pop.subarray(0, 100), 'pop.keytab');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as FileFormatError).truncated).toBe(true);
    expect((err as FileFormatError).offset).toBe(87);
    expect((err as FileFormatError).code).toBe(60);
    expect((err as Error).message).toMatch(/^pop\.keytab: truncated: keytab record needs 61 bytes, 13 left \(at byte offset 87\)$/);
  });

  it('an entry overrunning its own record is malformed, not truncated', () => {
    const bad = new Uint8Array(pop);
    new DataView(bad.buffer).setUint16(6 + 2 + 2 + 8, 0x4000); // first component length far too large
    try {
      parseKeytab(bad, 'k');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FileFormatError);
      expect((e as FileFormatError).truncated).toBe(false);
      expect((e as Error).message).toMatch(/keytab record at offset 2 too short/);
    }
  });

  it('any corruption gives a FileFormatError or a parse, never another exception', () => {
    assertCorruptionGivesFileFormatError(pop, (b) => parseKeytab(b), 6, 2000);
  });

  it('refuses values that do not fit the format instead of wrapping them', () => {
    const kt: Keytab = parseKeytab(pop);
    kt.entries[0]!.timestamp = new Date(-1000);
    expect(() => serializeKeytab(kt)).toThrow(/timestamp -1 does not fit/);
    const kt2 = parseKeytab(pop);
    kt2.entries[0]!.key.keyvalue = new Uint8Array(70000);
    expect(() => serializeKeytab(kt2)).toThrow(/key length/);
  });
});

describe('findKeytabKey', () => {
  const kt = parseKeytab(fixture('pop.keytab'));
  kt.entries.push({ ...kt.entries[0]!, kvno: 3, key: { keytype: 18, keyvalue: new Uint8Array(32).fill(3) } });
  const fetchmailName = { realm: 'LAB.TEST', name: { nameType: 0, nameString: ['pop', 'localhost'] } };

  it('ignores the name type and picks the highest kvno when none is asked', () => {
    expect(findKeytabKey(kt, fetchmailName, 18)?.kvno).toBe(3);
    expect(findKeytabKey(kt, fetchmailName, 18, 2)?.kvno).toBe(2);
    expect(hex(findKeytabKey(kt, fetchmailName, 17)!.key.keyvalue)).toBe('bc80859d5f1c2ce7654c87d839259088');
  });

  it('returns undefined for a missing enctype, kvno, realm or name', () => {
    expect(findKeytabKey(kt, fetchmailName, 20)).toBeUndefined();
    expect(findKeytabKey(kt, fetchmailName, 17, 3)).toBeUndefined();
    expect(findKeytabKey(kt, { ...fetchmailName, realm: 'OTHER' }, 18)).toBeUndefined();
    expect(findKeytabKey(kt, { realm: 'LAB.TEST', name: { nameType: 1, nameString: ['pop'] } }, 18)).toBeUndefined();
  });
});
