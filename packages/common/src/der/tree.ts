/**
 * A schema-less view of DER: the tree of elements, for dumps, debugging and
 * for opening types the suite keeps opaque (FAST, PAC wrappers). Recursion
 * is bounded by `maxDepth`, so hostile nesting gives a DerError, never a
 * stack overflow.
 */
import { DerError, rethrowWithin } from './errors.js';
import { header, readHeaderInto, tagName } from './reader.js';

export interface DerNode {
  tag: number;
  /** Offset of the tag byte in the input. */
  offset: number;
  /** Offsets of the content. */
  start: number;
  end: number;
  /** Present for constructed elements (bit 0x20 of the tag). */
  children?: DerNode[];
}

function parseNode(buf: Uint8Array, pos: number, limit: number, depth: number, maxDepth: number): DerNode {
  const tag = readHeaderInto(buf, pos, limit);
  const node: DerNode = { tag, offset: pos, start: header.start, end: header.end };
  if (tag & 0x20) {
    if (depth >= maxDepth) throw new DerError(`nesting deeper than ${maxDepth}`);
    const children: DerNode[] = [];
    let p = node.start;
    try {
      while (p < node.end) {
        const child = parseNode(buf, p, node.end, depth + 1, maxDepth);
        children.push(child);
        p = child.end;
      }
    } catch (e) {
      rethrowWithin(e, `${tagName(tag)}[${children.length}]`);
    }
    node.children = children;
  }
  return node;
}

/** Parses one DER element filling `bytes`, nested at most `maxDepth` deep. */
export function parseDerTree(bytes: Uint8Array, maxDepth = 64): DerNode {
  const node = parseNode(bytes, 0, bytes.length, 0, maxDepth);
  if (node.end !== bytes.length) throw new DerError(`${bytes.length - node.end} trailing bytes`);
  return node;
}

/** An indented dump of a DER tree, one element a line, for debugging. */
export function dumpDer(bytes: Uint8Array, maxDepth = 64): string {
  const lines: string[] = [];
  const walk = (n: DerNode, indent: string) => {
    const content = bytes.subarray(n.start, n.end);
    const shown = n.children ? '' : ` ${Buffer.from(content.subarray(0, 32)).toString('hex')}${content.length > 32 ? '…' : ''}`;
    lines.push(`${indent}${tagName(n.tag)} (${n.end - n.start})${shown}`);
    for (const c of n.children ?? []) walk(c, indent + '  ');
  };
  walk(parseDerTree(bytes, maxDepth), '');
  return lines.join('\n');
}
