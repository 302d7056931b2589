// Hostile input: every failure is a DerError (never a TypeError, RangeError
// or stack overflow, never a hang), and whatever does decode re-encodes to
// exactly the bytes it came from.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DerError, parseDerTree, readHeader } from '../der/index.js';
import {
  decodeApReq,
  decodeAsReq,
  decodeAuthorizationData,
  decodeEncKdcRepPart,
  decodeMessage,
  decodeMethodData,
  decodeTicket,
} from './index.js';
import type { KrbMessage } from './types.js';
import type { Schema } from '../der/index.js';
import { applyEdits, arb, byteEdits, codecTable } from './testing/arbitraries.js';
import { mitCaptureNames, mitFixture, reencode } from './testing/mit-captures.js';
import { encodeEncAsRepPart, encodeEncTgsRepPart } from './index.js';

const captures = mitCaptureNames.map((f) => ({ name: f, bytes: mitFixture(f) }));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Decodes; a success must re-encode to the same bytes; a failure must be a DerError. */
function decodeOrDerError(bytes: Uint8Array): 'ok' | 'error' {
  let m: KrbMessage;
  try {
    m = decodeMessage(bytes);
  } catch (e) {
    if (!(e instanceof DerError)) throw new Error(`not a DerError for ${toHex(bytes)}: ${String(e)}`);
    return 'error';
  }
  // Only message types the captures contain can come out of a mutation of them.
  const again = reencode(m);
  if (!Buffer.from(again).equals(Buffer.from(bytes))) expect(toHex(again)).toBe(toHex(bytes));
  return 'ok';
}

describe('hostile input', () => {
  it('every truncation of every capture is a DerError', () => {
    for (const { name, bytes } of captures) {
      for (let n = 0; n < bytes.length; n++) {
        expect(() => decodeMessage(bytes.subarray(0, n)), `${name}[0..${n}]`).toThrow(DerError);
      }
    }
  });

  it('every single-bit flip of every capture is a DerError or decodes to a message that re-encodes to it', () => {
    let ok = 0;
    let errors = 0;
    // 01-06 and 16 cover every message shape; 07-15 repeat them.
    for (const { bytes } of captures.filter((c) => /^(0[1-6]|16)-/.test(c.name))) {
      const copy = bytes.slice();
      for (let i = 0; i < copy.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          copy[i]! ^= 1 << bit;
          if (decodeOrDerError(copy) === 'ok') ok++;
          else errors++;
          copy[i]! ^= 1 << bit;
        }
      }
    }
    // Flips inside OCTET STRINGs (ciphertext) stay valid DER; flips in headers do not.
    expect(ok).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(1000);
  });

  it('random byte edits of captures never give anything but a DerError or a faithful message', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...captures),
        byteEdits(4),
        ({ bytes }, edits) => {
          decodeOrDerError(applyEdits(bytes, edits));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('random bytes are DerErrors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        decodeOrDerError(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses an indefinite length', () => {
    const b = captures[0]!.bytes; // 6a 81 ad 30 81 aa ...
    expect(toHex(b.subarray(0, 3))).toBe('6a81ad');
    const indefinite = Uint8Array.from([0x6a, 0x80, ...b.subarray(3), 0, 0]);
    expect(() => decodeMessage(indefinite)).toThrow(/indefinite length/);
  });

  it('refuses a non-minimal length', () => {
    const b = captures[0]!.bytes;
    const longer = Uint8Array.from([0x6a, 0x82, 0x00, 0xad, ...b.subarray(3)]);
    expect(() => decodeMessage(longer)).toThrow(/non-minimal length/);
    // The inner SEQUENCE header (30 81 aa) rewritten as 30 82 00 aa, outer length adjusted.
    const inner = Uint8Array.from([0x6a, 0x81, 0xae, 0x30, 0x82, 0x00, 0xaa, ...b.subarray(6)]);
    expect(() => decodeMessage(inner)).toThrow(/AS-REQ: SEQUENCE has a non-minimal length/);
  });

  it('refuses wrong and unknown tags, naming them', () => {
    const b = captures[0]!.bytes.slice();
    b[0] = 0x70;
    expect(() => decodeMessage(b)).toThrow(/not a Kerberos message: \[APPLICATION 16\]/);
    b[0] = 0x30;
    expect(() => decodeMessage(b)).toThrow(/not a Kerberos message: SEQUENCE/);
    b[0] = 0x7f;
    expect(() => decodeMessage(b)).toThrow(DerError);
    expect(() => decodeMessage(new Uint8Array(0))).toThrow(/empty input/);
    expect(() => decodeEncKdcRepPart(captures[0]!.bytes)).toThrow(/expected \[APPLICATION 25\] or \[APPLICATION 26\], found \[APPLICATION 10\]/);
    // msg-type must agree with the APPLICATION tag.
    const tgs = captures[0]!.bytes.slice();
    const at = toHex(tgs).indexOf('a20302010a') / 2;
    tgs[at + 4] = 12;
    expect(() => decodeAsReq(tgs)).toThrow(/^AS-REQ\.msg-type: is 12, must be 10 here$/);
  });

  it('names the field of a bad time: AS-REQ.req-body.till', () => {
    const b = captures[0]!.bytes.slice();
    const at = toHex(b).indexOf(Buffer.from('20261129161157Z').toString('hex')) / 2;
    b[at + 13] = 0x3a; // '7' → ':'
    try {
      decodeAsReq(b);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DerError);
      expect((e as DerError).path).toBe('AS-REQ.req-body.till');
      expect((e as DerError).message).toMatch(/^AS-REQ\.req-body\.till: bad GeneralizedTime "2026112916115:Z"/);
    }
  });

  it('refuses declared lengths of 2^31 and more', () => {
    for (const h of ['6a8480000000', '6a84ffffffff30', '6a8580000000000000', '30848000000002010a']) {
      expect(() => decodeMessage(new Uint8Array(Buffer.from(h, 'hex'))), h).toThrow(DerError);
    }
    expect(() => decodeTicket(new Uint8Array(Buffer.from('618480000000', 'hex')))).toThrow(/declares 2147483648 bytes but 0 remain/);
  });

  it('gives a DerError, not a stack overflow, for nesting 100,000 deep', () => {
    const depth = 100_000;
    // Sizes from the inside out (an INTEGER at the bottom), each level a
    // SEQUENCE or [0] with a minimal length, then written from the outside in.
    const headerSize = (len: number) => (len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5);
    const contentLen: number[] = [];
    let len = 3;
    for (let i = 0; i < depth; i++) {
      contentLen.push(len);
      len += headerSize(len);
    }
    const out = new Uint8Array(len);
    let pos = 0;
    for (let i = depth - 1; i >= 0; i--) {
      const l = contentLen[i]!;
      out[pos++] = i % 2 ? 0xa0 : 0x30;
      const n = headerSize(l) - 2;
      if (n === 0) out[pos++] = l;
      else {
        out[pos++] = 0x80 | n;
        for (let k = n - 1; k >= 0; k--) out[pos++] = Math.floor(l / 256 ** k) & 0xff;
      }
    }
    out.set([0x02, 0x01, 0x05], pos);
    expect(pos + 3).toBe(out.length);
    // Well-formed, just deep: following the headers reaches the INTEGER at the bottom.
    let p = 0;
    let levels = 0;
    while (out[p] !== 0x02) {
      const h = readHeader(out, p);
      if (h.end !== out.length) throw new Error(`level ${levels} ends at ${h.end}`);
      p = h.start;
      levels++;
    }
    expect(levels).toBe(depth);
    expect(() => parseDerTree(out)).toThrow(/nesting deeper than 64/);
    for (const decode of [decodeMessage, decodeAuthorizationData, decodeMethodData, decodeApReq, decodeTicket]) {
      expect(() => decode(out)).toThrow(DerError);
    }
    const app = new Uint8Array(out.length + 5);
    app.set([0x6a, 0x83, out.length >>> 16, (out.length >>> 8) & 0xff, out.length & 0xff]);
    app.set(out, 5);
    expect(() => decodeMessage(app)).toThrow(DerError);
  });
});

/**
 * The two places where decoding is deliberately more lenient than encoding:
 * KerberosFlags longer than 32 bits (RFC 4120 §5.2.8 lets peers send more)
 * and sequence numbers encoded as negative (old peers; MIT accepts them).
 */
function hasLenientField(s: Schema): boolean {
  switch (s.kind) {
    case 'flags':
      return true;
    case 'int':
      return s.wrapNegative === true;
    case 'seq':
      return s.fields.some((f) => hasLenientField(f.schema));
    case 'seqOf':
      return hasLenientField(s.of);
    case 'choice':
      return s.alternatives.some((f) => hasLenientField(f.schema));
    default:
      return false;
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
describe('hostile edits of random valid values of every type', () => {
  for (const [name, schema, encode, decode] of codecTable) {
    it(name, () => {
      fc.assert(
        fc.property(arb(schema), byteEdits(3), (value, edits) => {
          const bytes = applyEdits(encode(value), edits);
          let decoded: any;
          try {
            decoded = decode(bytes);
          } catch (e) {
            if (e instanceof DerError) return;
            throw e;
          }
          // EncKDCRepPart decodes under either tag; re-encode under the one it had.
          const reencode: (v: any) => Uint8Array = name === 'EncASRepPart' || name === 'EncTGSRepPart' ? (bytes[0] === 0x79 ? encodeEncAsRepPart : encodeEncTgsRepPart) : encode;
          const again = reencode(decoded);
          if (!hasLenientField(schema)) expect(toHex(again)).toBe(toHex(bytes));
          // Either way re-encoding is a fixpoint that keeps the value.
          const back = decode(again);
          if (back && typeof back === 'object' && 'reqBodyBytes' in back) {
            delete back.reqBodyBytes;
            delete decoded.reqBodyBytes;
          }
          expect(back).toEqual(decoded);
          expect(toHex(reencode(back))).toBe(toHex(again));
        }),
        { numRuns: 60 },
      );
    });
  }
});
