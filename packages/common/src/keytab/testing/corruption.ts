/**
 * Test support shared by the keytab and ccache parsers (both binary formats
 * led by a 2-byte version, both failing with FileFormatError from binary.ts).
 */
import fc from 'fast-check';
import { FileFormatError } from '../binary.js';

/**
 * Property: `bytes` cut at a random length (never inside the 2-byte version)
 * and with 1 to maxEdits bytes after the version overwritten either parse or
 * throw a FileFormatError, never another exception.
 */
export function assertCorruptionGivesFileFormatError(bytes: Uint8Array, parse: (b: Uint8Array) => unknown, maxEdits: number, numRuns: number): void {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: maxEdits }), fc.nat(bytes.length), (edits, cut) => {
      const b = new Uint8Array(bytes.subarray(0, Math.max(2, cut)));
      for (const [i, v] of edits) if (i < b.length && i >= 2) b[i] = v;
      try {
        parse(b);
      } catch (e) {
        if (!(e instanceof FileFormatError)) throw e;
      }
    }),
    { numRuns },
  );
}
