import { describe, expect, it } from 'vitest';
import { FramingError, LengthPrefixedReader, frameMessage } from './framing.js';

const bytes = (...v: number[]) => Uint8Array.from(v);

describe('length-prefixed framing (RFC 4120 §7.2.2, sendauth)', () => {
  it('frames a message with its big-endian length', () => {
    expect(frameMessage(bytes(1, 2, 3))).toEqual(bytes(0, 0, 0, 3, 1, 2, 3));
  });
  it('reassembles frames split at every possible point, and several per chunk', () => {
    const wire = new Uint8Array([...frameMessage(bytes(9, 8, 7, 6)), ...frameMessage(bytes()), ...frameMessage(bytes(5))]);
    for (let cut1 = 0; cut1 <= wire.length; cut1++) {
      for (let cut2 = cut1; cut2 <= wire.length; cut2++) {
        const r = new LengthPrefixedReader({ maxFrame: 100 });
        const got = [...r.push(wire.subarray(0, cut1)), ...r.push(wire.subarray(cut1, cut2)), ...r.push(wire.subarray(cut2))];
        expect(got.map((f) => [...f])).toEqual([[9, 8, 7, 6], [], [5]]);
        expect(r.pending).toBe(0);
      }
    }
  });
  it('refuses an over-long declared length before buffering it', () => {
    const r = new LengthPrefixedReader({ maxFrame: 1000 });
    expect(() => r.push(bytes(0x00, 0x10, 0x00, 0x00))).toThrow(FramingError);
    const r2 = new LengthPrefixedReader({ maxFrame: 1000 });
    expect(() => r2.push(bytes(0x80, 0, 0, 1, 0))).toThrow(/reserved high bit/);
  });
  it('holds a partial frame until the rest arrives', () => {
    const r = new LengthPrefixedReader({ maxFrame: 10 });
    expect(r.push(bytes(0, 0, 0, 2, 0xaa))).toEqual([]);
    expect(r.pending).toBe(5);
    expect(r.push(bytes(0xbb))).toEqual([bytes(0xaa, 0xbb)]);
  });
});
