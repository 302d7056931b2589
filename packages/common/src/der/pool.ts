/**
 * Copies for the codec's own use (decodeWith's private copy of its input,
 * DerWriter.toBytes' result), cut from 8 KiB slabs as Node cuts small
 * Buffers from its pool: a fresh ArrayBuffer per message was the largest
 * single cost of the codec (its backing store allocation and accounting).
 * Each copy is a plain Uint8Array view of its own bytes; memory is never
 * handed out twice (a full slab is left to the views into it, and a new one
 * started). As with Node's pool, a small view kept for long keeps its slab
 * alive; callers that cache decoded values for long copy out their bytes.
 */
import { copyBytes } from './reader.js';

const SLAB = 8192;
/** Larger copies get their own buffer (Node's rule: half the pool). */
const MAX_POOLED = SLAB / 2;

let slab = new ArrayBuffer(SLAB);
let used = 0;

export function pooledCopy(buf: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > MAX_POOLED) return copyBytes(buf, start, end);
  if (used + n > SLAB) {
    slab = new ArrayBuffer(SLAB);
    used = 0;
  }
  const out = new Uint8Array(slab, used, n);
  out.set(buf.subarray(start, end));
  // 8-byte alignment, as Node's pool keeps.
  used += (n + 7) & ~7;
  return out;
}
