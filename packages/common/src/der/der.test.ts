// The DER primitives, byte by byte (X.690 §8, §10, §11 examples worked out
// by hand), and what the strict reader refuses.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Bool,
  DerError,
  DerWriter,
  IA5String,
  Int32,
  KerberosFlagsSchema,
  KerberosStringSchema,
  KerberosTimeSchema,
  OctetString,
  SeqNumber,
  Nonce,
  UInt32,
  decodeAt,
  decodeWith,
  encodeWith,
  field,
  optional,
  readHeader,
  seq,
  seqOf,
  choice,
  dumpDer,
  parseDerTree,
  type IntSchema,
  type Schema,
} from './index.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const Wide: IntSchema = { kind: 'int', name: 'INTEGER', min: -(2 ** 47), max: 2 ** 47 };
const enc = (s: Schema, v: unknown) => toHex(encodeWith(s, v, 'T'));
const dec = (s: Schema, h: string) => decodeWith<unknown>(s, hex(h), 'T');
const ascii = (s: string) => Buffer.from(s).toString('hex');

describe('INTEGER', () => {
  const cases: Array<[number, string]> = [
    [0, '020100'],
    [1, '020101'],
    [127, '02017f'],
    [128, '02020080'],
    [255, '020200ff'],
    [256, '02020100'],
    [-1, '0201ff'],
    [-128, '020180'],
    [-129, '0202ff7f'],
    [-256, '0202ff00'],
    [2 ** 31 - 1, '02047fffffff'],
    [-(2 ** 31), '020480000000'],
    [2 ** 31, '02050080000000'],
    [2 ** 32 - 1, '020500ffffffff'],
    [1307434981, '02044deddfe5'], // the nonce of MIT capture 01
  ];
  for (const [v, h] of cases) {
    it(`${v} is ${h}`, () => {
      expect(enc(Wide, v)).toBe(h);
      expect(dec(Wide, h)).toBe(v);
    });
  }
  it('refuses non-minimal and empty encodings', () => {
    expect(() => dec(Wide, '02020001')).toThrow(/non-minimal INTEGER/);
    expect(() => dec(Wide, '0202ffff')).toThrow(/non-minimal INTEGER/);
    expect(() => dec(Wide, '0200')).toThrow(/empty INTEGER/);
    expect(() => dec(Wide, '02070100000000000000'.slice(0, 18))).toThrow(/too large/);
  });
  it('keeps UInt32 (nonce) in 0..2^32-1, where asn1js goes wrong', () => {
    expect(dec(UInt32, '020500ffffffff')).toBe(0xffffffff);
    expect(enc(UInt32, 0x80000000)).toBe('02050080000000');
    expect(() => dec(UInt32, '0201ff')).toThrow(/-1 is out of range for UInt32/);
    expect(() => dec(UInt32, '02050100000000')).toThrow(/out of range/);
    expect(() => enc(UInt32, -1)).toThrow(DerError);
    expect(() => enc(UInt32, 1.5)).toThrow(/expected an integer/);
  });
  it('reads signed sequence numbers as unsigned, as MIT does, and writes them unsigned', () => {
    expect(dec(SeqNumber, '0201ff')).toBe(0xffffffff);
    expect(dec(SeqNumber, '020480000001')).toBe(0x80000001);
    expect(enc(SeqNumber, -1)).toBe('020500ffffffff');
  });
  it('reads a nonce as sent, signed (Heimdal) or unsigned, and writes the same INTEGER back', () => {
    // Heimdal 7.8's kgetcred: its random 32-bit TGS nonce as krb5int32 (test/fixtures/heimdal).
    expect(dec(Nonce, '0204b7a8f601')).toBe(-1213663743);
    expect(enc(Nonce, -1213663743)).toBe('0204b7a8f601');
    expect(dec(Nonce, '020480000000')).toBe(-(2 ** 31));
    expect(dec(Nonce, '020500ffffffff')).toBe(0xffffffff);
    expect(enc(Nonce, 0xffffffff)).toBe('020500ffffffff');
    // Still 32 bits and still DER.
    expect(() => dec(Nonce, '0205ff7fffffff')).toThrow(/out of range for nonce/);
    expect(() => dec(Nonce, '02050100000000')).toThrow(/out of range for nonce/);
    expect(() => dec(Nonce, '0204ffffffff')).toThrow(/non-minimal INTEGER/);
    expect(() => enc(Nonce, -(2 ** 31) - 1)).toThrow(DerError);
  });
  it('keeps Int32 in range', () => {
    expect(() => dec(Int32, '02050080000000')).toThrow(/out of range for Int32/);
    expect(dec(Int32, '020480000000')).toBe(-(2 ** 31));
  });
});

describe('lengths', () => {
  it('writes the minimal definite form', () => {
    const w = new DerWriter(4);
    for (const [len, h] of [
      [0, '0400'],
      [127, '047f'],
      [128, '048180'],
      [255, '0481ff'],
      [256, '04820100'],
      [65536, '0483010000'],
    ] as const) {
      w.reset();
      w.header(0x04, len);
      expect(toHex(w.toBytes())).toBe(h);
    }
  });
  it('grows its buffer and keeps what was written', () => {
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const out = encodeWith(OctetString, big, 'T');
    expect(toHex(out.subarray(0, 5))).toBe('04830186a0');
    expect(decodeWith<Uint8Array>(OctetString, out, 'T')).toEqual(big);
  });
  it('refuses BER and impossible lengths', () => {
    expect(() => dec(OctetString, '0481020102')).toThrow(/non-minimal length \(long form for 2\)/);
    expect(() => dec(OctetString, '048200810000')).toThrow(/non-minimal length \(leading zero\)/);
    expect(() => dec(OctetString, '0480010200')).toThrow(/indefinite length/);
    expect(() => dec(OctetString, '0485010000000001')).toThrow(/5-byte length field/);
    expect(() => dec(OctetString, '04848000000000')).toThrow(/declares 2147483648 bytes but 1 remain/);
    expect(() => dec(OctetString, '0403aabb')).toThrow(/truncated/);
    expect(() => dec(OctetString, '04')).toThrow(/truncated/);
    expect(() => dec(OctetString, '')).toThrow(/truncated/);
    expect(() => dec(OctetString, '0401aa00')).toThrow(/1 trailing bytes after the T/);
    expect(() => dec(OctetString, '2403040100')).toThrow(/expected OCTET STRING, found tag 0x24/);
    expect(() => dec(OctetString, '1f0100')).toThrow(DerError);
  });
  it('reads a header alone', () => {
    expect(readHeader(hex('3003020105'))).toEqual({ tag: 0x30, start: 2, end: 5 });
    expect(readHeader(hex('ff3003020105'), 1)).toEqual({ tag: 0x30, start: 3, end: 6 });
  });
});

describe('KerberosTime', () => {
  const t = (s: string) => '180f' + ascii(s);
  it('is YYYYMMDDHHMMSSZ both ways', () => {
    expect(dec(KerberosTimeSchema, t('20261129061157Z'))).toEqual(new Date('2026-11-29T06:11:57Z'));
    expect(enc(KerberosTimeSchema, new Date('2026-11-29T06:11:57Z'))).toBe(t('20261129061157Z'));
    expect(enc(KerberosTimeSchema, new Date(0))).toBe(t('19700101000000Z'));
  });
  it('drops milliseconds (they travel in the usec fields)', () => {
    expect(enc(KerberosTimeSchema, new Date('2026-11-29T06:11:57.999Z'))).toBe(t('20261129061157Z'));
  });
  it('handles years before 100 and leap days', () => {
    const d = dec(KerberosTimeSchema, t('00000229000000Z')) as Date;
    expect(d.getUTCFullYear()).toBe(0);
    expect(enc(KerberosTimeSchema, d)).toBe(t('00000229000000Z'));
    expect(enc(KerberosTimeSchema, dec(KerberosTimeSchema, t('99991231235959Z')))).toBe(t('99991231235959Z'));
  });
  it('refuses everything else', () => {
    for (const bad of ['20261129061157.5Z', '20261129061157', '2026112906115Z', '20261329061157Z', '20260230061157Z', '20261129241157Z', '20261129061160Z', '2026112906115xZ', '20261129061157+']) {
      const h = '18' + bad.length.toString(16).padStart(2, '0') + ascii(bad);
      expect(() => dec(KerberosTimeSchema, h), bad).toThrow(/bad GeneralizedTime/);
    }
    expect(() => enc(KerberosTimeSchema, new Date(NaN))).toThrow(/valid Date/);
    expect(() => enc(KerberosTimeSchema, new Date('+010000-01-01T00:00:00Z'))).toThrow(/year 10000/);
    expect(() => enc(KerberosTimeSchema, '2026')).toThrow(/valid Date/);
  });
});

describe('KerberosFlags', () => {
  it('writes 32 bits with no unused bits, as MIT does', () => {
    expect(enc(KerberosFlagsSchema, 0x40000010)).toBe('030500' + '40000010');
    expect(enc(KerberosFlagsSchema, 0)).toBe('030500' + '00000000');
    expect(enc(KerberosFlagsSchema, 0x80000000 | 0x40000000)).toBe('030500' + 'c0000000');
    expect(() => enc(KerberosFlagsSchema, 2 ** 32)).toThrow(/32-bit/);
  });
  it('reads longer strings (their first 32 bits), refuses shorter ones (SIZE (32..MAX))', () => {
    expect(dec(KerberosFlagsSchema, '0306004000001080')).toBe(0x40000010);
    expect(dec(KerberosFlagsSchema, '030607400000108000'.slice(0, 16))).toBe(0x40000010);
    expect(() => dec(KerberosFlagsSchema, '0303064040')).toThrow(/KerberosFlags of 10 bits/);
    expect(() => dec(KerberosFlagsSchema, '030100')).toThrow(/KerberosFlags of 0 bits/);
    expect(() => dec(KerberosFlagsSchema, '03050440000010')).toThrow(/KerberosFlags of 28 bits/);
  });
  it('refuses non-DER bit strings', () => {
    expect(() => dec(KerberosFlagsSchema, '030201ff')).toThrow(/unused bits are not zero/);
    expect(() => dec(KerberosFlagsSchema, '030101')).toThrow(/empty BIT STRING/);
    expect(() => dec(KerberosFlagsSchema, '030208ff')).toThrow(/8 unused bits/);
    expect(() => dec(KerberosFlagsSchema, '0300')).toThrow(/unused-bits byte/);
  });
});

describe('strings, OCTET STRING, BOOLEAN', () => {
  it('keeps UTF-8 in GeneralString and IA5String', () => {
    for (const s of ['alice', '', 'Größe/ünïcødé', '名前', '😀']) {
      const h = enc(KerberosStringSchema, s);
      expect(h.startsWith('1b')).toBe(true);
      expect(Buffer.from(h.slice(4), 'hex').toString('utf8')).toBe(s);
      expect(dec(KerberosStringSchema, h)).toBe(s);
      expect(dec(IA5String, '16' + h.slice(2))).toBe(s);
    }
  });
  it('refuses invalid UTF-8 and lone surrogates rather than lose bytes', () => {
    expect(() => dec(KerberosStringSchema, '1b02c328')).toThrow(/not valid UTF-8/);
    expect(() => enc(KerberosStringSchema, 'a\ud800b')).toThrow(/lone surrogate/);
    expect(() => enc(KerberosStringSchema, 5)).toThrow(/expected a string/);
  });
  it('copies OCTET STRING contents out of the input, Buffer or not', () => {
    for (const input of [hex('0403010203'), Buffer.from('0403010203', 'hex')]) {
      const v = decodeWith<Uint8Array>(OctetString, input, 'T');
      input[2] = 0xff;
      expect(toHex(v)).toBe('010203');
      expect(Object.getPrototypeOf(v)).toBe(Uint8Array.prototype);
    }
  });
  it('BOOLEAN is 00 or ff only', () => {
    expect(enc(Bool, true)).toBe('0101ff');
    expect(dec(Bool, '010100')).toBe(false);
    expect(() => dec(Bool, '010101')).toThrow(/not DER/);
    expect(() => enc(Bool, 1)).toThrow(/expected a boolean/);
  });
});

describe('SEQUENCE, EXPLICIT tags, OPTIONAL, paths', () => {
  const Inner = seq('Inner', [field('a-b', 0, Int32), optional('c', 1, KerberosStringSchema)]);
  const Outer = seq('Outer', [field('x', 1, Int32, { equals: 7 }), optional('list', 2, seqOf(Inner)), field('inner', 3, Inner, { capture: 'innerBytes' })], 5);
  const value = { x: 7, list: [{ aB: 1 }, { aB: 2, c: 'z' }], inner: { aB: 3 } };
  const bytes = '65 27 30 25 a1 03 020107 a2 15 30 13 30 05 a0 03 020101 30 0a a0 03 020102 a1 03 1b017a a3 07 30 05 a0 03 020103';
  it('encodes [APPLICATION n] SEQUENCE { [n] EXPLICIT ... } and reads it back', () => {
    expect(enc(Outer, value)).toBe(toHex(hex(bytes)));
    const back = decodeWith<Record<string, unknown>>(Outer, hex(bytes), 'Outer');
    expect(back).toMatchObject(value);
    expect(toHex(back.innerBytes as Uint8Array)).toBe('3005a003020103');
  });
  it('omits absent OPTIONAL fields and requires the others', () => {
    expect(enc(Inner, { aB: 1, c: undefined })).toBe('3005a003020101');
    expect(() => enc(Outer, { x: 7 })).toThrow(/^T\.inner: missing$/);
    expect(() => enc(Outer, { ...value, x: 8 })).toThrow(/T\.x: is 8, must be 7 here/);
    expect(() => enc(Outer, { ...value, list: [{ aB: 1 }, { aB: 'two' }] })).toThrow(/^T\.list\[1\]\.a-b: expected an integer/);
  });
  it('names the failing field in the path', () => {
    const broken = hex(bytes);
    broken[broken.length - 1] = 0x00; // inner.a-b = 0: fine
    expect(() => decodeWith(Outer, broken, 'Outer')).not.toThrow();
    const b2 = hex(bytes);
    b2[25] = 0x05; // list[1].a-b: an INTEGER declaring 5 bytes inside its 3-byte [0]
    try {
      decodeWith(Outer, b2, 'Outer');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DerError);
      expect((e as DerError).path).toBe('Outer.list[1].a-b');
    }
  });
  it('refuses unknown, out-of-order and missing fields', () => {
    // x is [1]; a [0] first is unknown/out of order.
    expect(() => dec(Outer, '6507 3005 a003020107')).toThrow(/T\.x: missing \(found \[0\] instead\)/);
    expect(() => dec(Inner, '300a a003020101 a203020101')).toThrow(/unexpected \[2\] in Inner/);
    expect(() => dec(Inner, '300a a103 1b017a a003020101')).toThrow(/T\.a-b: missing/);
    expect(() => dec(Inner, '3006 a004 02010100')).toThrow(/T\.a-b: trailing bytes inside \[0\]/);
  });
  it('decodes one element in the middle of a buffer', () => {
    const buf = hex('ff 020105 ee');
    expect(decodeAt<number>(Int32, buf, 1, 4, 'n')).toEqual({ value: 5, end: 4 });
  });
});

describe('CHOICE', () => {
  const C = choice('C', [field('num', 0, Int32), field('text', 2, KerberosStringSchema)]);
  it('encodes the one alternative present, in its EXPLICIT tag', () => {
    expect(enc(C, { num: 5 })).toBe('a003020105');
    expect(enc(C, { text: 'z' })).toBe('a2031b017a');
    expect(dec(C, 'a2031b017a')).toEqual({ text: 'z' });
  });
  it('refuses no alternative, two, unknown ones and trailing bytes', () => {
    expect(() => enc(C, {})).toThrow(/expected one of num, text \(C\)/);
    expect(() => enc(C, { num: 1, text: 'a' })).toThrow(/expected one of/);
    expect(() => dec(C, 'a103020105')).toThrow(/\[1\] is not an alternative of C/);
    expect(() => dec(C, 'a00402010500')).toThrow(/T\.num: trailing bytes inside \[0\]/);
    expect(() => dec(C, '')).toThrow(/truncated: expected C/);
  });
});

describe('parseDerTree and dumpDer', () => {
  it('show the element tree of MIT capture 16 (KRB-ERROR)', () => {
    const bytes = new Uint8Array(Buffer.from(readFileSync(new URL('../../../../test/fixtures/mit/16-nosuchuser-KRB-ERROR-e6.hex', import.meta.url), 'utf8').trim(), 'hex'));
    const tree = parseDerTree(bytes);
    expect(tree.tag).toBe(0x7e);
    expect(tree.children![0]!.children!.map((c) => c.tag)).toEqual([0xa0, 0xa1, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab]);
    const dump = dumpDer(bytes);
    expect(dump.split('\n')[0]).toBe('[APPLICATION 30] (144)');
    expect(dump).toContain('      GeneralString (16) ' + Buffer.from('CLIENT_NOT_FOUND').toString('hex'));
  });
  it('refuse trailing bytes and too deep trees', () => {
    expect(() => parseDerTree(hex('300000'))).toThrow(/1 trailing bytes/);
    expect(() => parseDerTree(hex('3004 3002 3000'), 1)).toThrow(/nesting deeper than 1/);
  });
});
