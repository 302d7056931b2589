// decodeStringContent's intern table must be invisible: every string read
// back is the one written, whatever the order, lengths and table collisions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStringContent } from './reader.js';

const utf8 = new TextEncoder();

describe('decodeStringContent', () => {
  it('returns exactly the string encoded, for interleaved short, long, ASCII and UTF-8 strings', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('LAB.TEST', 'alice', 'krbtgt', 'pop', 'localhost', '')), { maxLength: 400 }), (words) => {
        for (const w of words) {
          // Padding around the content: only [start, end) is read.
          const bytes = utf8.encode(`#${w}#`);
          expect(decodeStringContent(bytes, 1, bytes.length - 1)).toBe(w);
        }
      }),
      { numRuns: 200 },
    );
  });
  it('tells apart strings of the same length that share a table slot', () => {
    // 4096 distinct two-letter strings over a 256-slot table: collisions are certain.
    const all: string[] = [];
    for (let a = 0x21; a < 0x61; a++) for (let b = 0x21; b < 0x61; b++) all.push(String.fromCharCode(a, b));
    for (let round = 0; round < 2; round++) for (const w of all) expect(decodeStringContent(utf8.encode(w), 0, 2)).toBe(w);
  });
});
