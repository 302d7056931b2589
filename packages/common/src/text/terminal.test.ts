/** jsonLineInto: the bytes of jsonLine(record) + "\n", or -1 for the general path. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLine, jsonLineInto } from './terminal.js';

// What every record became before the in-place path: JSON.stringify, then DEL, C1 and bidi controls as \u escapes.
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const reference = (r: unknown): string => JSON.stringify(r).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';

function into(r: unknown, room = 4096, at = 3): string | undefined {
  const out = new Uint8Array(at + room);
  const end = jsonLineInto(r, out, at, at + room);
  return end < 0 ? undefined : Buffer.from(out.subarray(at, end)).toString('utf8');
}

describe('jsonLineInto', () => {
  it('writes a KDC request record as JSON.stringify does', () => {
    const rec = { time: '2026-12-05T06:33:51.000Z', from: '127.0.0.1:5555', transport: 'udp', msg: 'TGS_REQ', cname: 'alice@IN.TEST', sname: 'pop/localhost@IN.TEST', reqEtypes: [18, 17, 20, 19, 16, 23, 25, 26], repEtype: 18, authtime: 1796452431, status: 'ISSUE', code: 0, bytes: 557, us: 51, gone: undefined };
    expect(into(rec)).toBe(reference(rec));
    expect(into(rec)).toBe(jsonLine(rec) + '\n');
  });
  it('any record: the same bytes as the general path, or -1 (then the general path writes it)', () => {
    const value = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.maxSafeInteger(), fc.boolean(), fc.constant(undefined), fc.constant(null), fc.array(fc.oneof(fc.double(), fc.integer())), fc.array(fc.oneof(fc.integer(), fc.string())), fc.dictionary(fc.string(), fc.integer()));
    let fast = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('1', '0', '42', 'us')), value), fc.integer({ min: 0, max: 300 }), (rec, room) => {
        const got = into(rec, room);
        if (got !== undefined) {
          fast++;
          expect(got).toBe(reference(rec));
          expect(Buffer.byteLength(got)).toBeLessThanOrEqual(room);
        }
        // With room to spare, a plain object of plain ASCII text and numbers always takes the in-place path.
        const plain = Object.values(rec).every((v) => v === undefined || typeof v === 'boolean' || (typeof v === 'number') || (typeof v === 'string' && /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(v)) || (Array.isArray(v) && v.every((n) => typeof n === 'number')));
        if (plain && Object.getPrototypeOf(rec) === Object.prototype && Object.keys(rec).every((k) => /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(k))) expect(into(rec, 1 << 16)).toBe(reference(rec));
      }),
      { numRuns: 3000 },
    );
    expect(fast).toBeGreaterThan(100);
  });
  it('leaves toJSON, Dates, nested objects, class instances and escapes to the general path; -0, NaN, Infinity as JSON writes them', () => {
    for (const rec of [{ d: new Date(0) }, { toJSON: () => 'x' }, new (class { a = 1 })(), { o: { a: 1 } }, { s: 'q"uote' }, { s: 'back\\slash' }, { s: 'bidi\u2066' }, { s: 'nl\n' }, { s: 'ü' }, null, 'text', [1]]) {
      expect(into(rec)).toBeUndefined();
    }
    const nums = { z: -0, a: [-0, NaN, Infinity, -Infinity, 1.5, -7, 2 ** 53, 1e21, 5e-7], n: -12, big: 9007199254740991 };
    expect(into(nums)).toBe(reference(nums));
  });
  it('never writes past end', () => {
    const rec = { msg: 'TGS_REQ', reqEtypes: [18, 17, 20, 19], us: 123456 };
    const full = reference(rec).length;
    for (let room = 0; room < full; room++) {
      const out = new Uint8Array(room + 8).fill(0xee);
      expect(jsonLineInto(rec, out, 4, 4 + room)).toBe(-1);
      expect([...out.subarray(4 + room)]).toEqual([0xee, 0xee, 0xee, 0xee]);
    }
    expect(into(rec, full)).toBe(reference(rec));
  });
});
