// asn1js as an independent oracle. For random valid values of every RFC 4120
// type (fast-check, generated from the same schemas the codec uses):
// - asn1js, building the structure itself, produces exactly our bytes;
// - asn1js, reading our bytes, finds the same structure and values;
// - our decoder gives back the value.
// asn1js reads INTEGERs above 2^31 wrongly through valueDec, so integers are
// read with its toBigInt(); its GeneralString is Latin-1, so strings are
// compared as UTF-8 bytes.
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Schema } from '../der/index.js';
import * as k from './index.js';
import { arb, codecTable } from './testing/arbitraries.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

const utf8 = new TextEncoder();

/** The same value as an asn1js structure, built by asn1js's own constructors. */
function toAsn1(s: Schema, v: any): asn1js.BaseBlock {
  switch (s.kind) {
    case 'int':
      return asn1js.Integer.fromBigInt(BigInt(v));
    case 'bool':
      return new asn1js.Boolean({ value: v });
    case 'octets':
      return new asn1js.OctetString({ valueHex: v });
    case 'string':
      return new asn1js.Primitive({ idBlock: { tagClass: 1, tagNumber: s.tag }, valueHex: utf8.encode(v) });
    case 'time':
      return new asn1js.GeneralizedTime({ valueDate: v });
    case 'flags': {
      const bits = new Uint8Array(4);
      new DataView(bits.buffer).setUint32(0, v);
      return new asn1js.BitString({ valueHex: bits, unusedBits: 0 });
    }
    case 'seqOf':
      return new asn1js.Sequence({ value: v.map((e: any) => toAsn1(s.of, e)) });
    case 'seq': {
      const fields = s.fields
        .filter((f) => v[f.key] !== undefined)
        .map((f) => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: f.tag }, value: [toAsn1(f.schema, v[f.key])] }));
      const sequence = new asn1js.Sequence({ value: fields });
      return s.app === undefined ? sequence : new asn1js.Constructed({ idBlock: { tagClass: 2, tagNumber: s.app }, value: [sequence] });
    }
    case 'choice': {
      const f = s.alternatives.find((a) => v[a.key] !== undefined)!;
      return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: f.tag }, value: [toAsn1(f.schema, v[f.key])] });
    }
  }
}

// Plain checks rather than expect(): they run for every element of every value.
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`asn1js disagrees: ${what}`);
}
function is(b: any, tagClass: number, tagNumber: number, constructed: boolean): void {
  const id = b.idBlock;
  check(id.tagClass === tagClass && id.tagNumber === tagNumber && id.isConstructed === constructed, `tag ${id.tagClass}/${id.tagNumber}, expected ${tagClass}/${tagNumber}`);
}

/** What asn1js reads in a parsed structure, interpreted by the schema. */
function fromAsn1(s: Schema, b: any): any {
  switch (s.kind) {
    case 'int':
      is(b, 1, 2, false);
      return Number(b.toBigInt());
    case 'bool':
      is(b, 1, 1, false);
      return b.valueBlock.value;
    case 'octets':
      is(b, 1, 4, false);
      return new Uint8Array(b.valueBlock.valueHexView);
    case 'string':
      is(b, 1, s.tag, false);
      return Buffer.from(b.valueBlock.valueHexView).toString('utf8');
    case 'time':
      is(b, 1, 24, false);
      check(/^\d{14}Z$/.test(String.fromCharCode(...b.valueBeforeDecodeView.subarray(2))), 'KerberosTime form');
      return b.toDate();
    case 'flags':
      is(b, 1, 3, false);
      check(b.valueBlock.unusedBits === 0 && b.valueBlock.valueHexView.length === 4, 'KerberosFlags is 32 bits');
      return new DataView(b.valueBlock.valueHexView.buffer, b.valueBlock.valueHexView.byteOffset).getUint32(0);
    case 'seqOf':
      is(b, 1, 16, true);
      return b.valueBlock.value.map((e: any) => fromAsn1(s.of, e));
    case 'seq': {
      if (s.app !== undefined) {
        is(b, 2, s.app, true);
        check(b.valueBlock.value.length === 1, 'one SEQUENCE in the APPLICATION tag');
        b = b.valueBlock.value[0];
      }
      is(b, 1, 16, true);
      const out: any = {};
      const children: any[] = b.valueBlock.value;
      let i = 0;
      for (const f of s.fields) {
        const c = children[i];
        if (c && c.idBlock.tagClass === 3 && c.idBlock.tagNumber === f.tag) {
          check(c.valueBlock.value.length === 1, `one element in [${f.tag}]`);
          out[f.key] = fromAsn1(f.schema, c.valueBlock.value[0]);
          i++;
        }
      }
      check(i === children.length, `${children.length - i} unexpected fields`);
      return out;
    }
    case 'choice': {
      const f = s.alternatives.find((a) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === a.tag);
      check(f !== undefined && b.valueBlock.value.length === 1, `an alternative of ${s.name}`);
      return { [f!.key]: fromAsn1(f!.schema, b.valueBlock.value[0]) };
    }
  }
}

const messages = new Set(['AS-REQ', 'TGS-REQ', 'AS-REP', 'TGS-REP', 'AP-REQ', 'AP-REP', 'KRB-SAFE', 'KRB-PRIV', 'KRB-CRED', 'KRB-ERROR']);

describe('asn1js agrees with our codec on random values', () => {
  for (const [name, schema, encode, decode] of codecTable) {
    it(name, () => {
      fc.assert(
        fc.property(arb(schema), (value) => {
          const ours = encode(value);
          // asn1js builds the same bytes...
          expect(Buffer.from(toAsn1(schema, value).toBER()).toString('hex')).toBe(Buffer.from(ours).toString('hex'));
          // ...reads our bytes whole, into the same structure...
          const parsed = asn1js.fromBER(ours);
          expect(parsed.offset).toBe(ours.length);
          expect(parsed.result.error ?? '').toBe('');
          expect(fromAsn1(schema, parsed.result)).toEqual(value);
          // ...and so do we.
          const back = decode(ours);
          if (name === 'AS-REQ' || name === 'TGS-REQ') {
            expect(back.reqBodyBytes).toEqual(k.encodeKdcReqBody(value.reqBody));
            delete back.reqBodyBytes;
          }
          expect(back).toEqual(value);
          if (messages.has(name)) expect(k.decodeMessage(ours)).toMatchObject({ msgType: value.msgType });
        }),
        { numRuns: 40 },
      );
    });
  }
});
