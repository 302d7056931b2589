import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DotStuffer } from './dot-stuff.js';
import { LineReader, TOO_LONG } from './line-reader.js';
import { crlfSize } from '../maildir/crlf.js';

/** What a client does with a multi-line response (RFC 1939 §3). */
function unstuff(wire: Buffer): Buffer {
  const text = wire.toString('latin1');
  expect(text.endsWith('.\r\n')).toBe(true);
  const body = text.slice(0, -3);
  const lines = body === '' ? [] : body.slice(0, -2).split('\r\n');
  return Buffer.from(lines.map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n') + (lines.length ? '\r\n' : ''), 'latin1');
}

function stuffInChunks(data: Buffer, cuts: number[], limit?: number): Buffer {
  const s = new DotStuffer(limit);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts.filter((c) => c <= data.length).sort((a, b) => a - b), data.length]) {
    out.push(s.push(data.subarray(prev, c)));
    prev = c;
  }
  out.push(s.end());
  return Buffer.concat(out);
}

describe('dot-stuffing (RFC 1939 §3)', () => {
  it('stuffs leading dots, turns LF into CRLF and terminates', () => {
    const wire = stuffInChunks(Buffer.from('Subject: x\n\n.leading\n..two\nend'), []);
    expect(wire.toString()).toBe('Subject: x\r\n\r\n..leading\r\n...two\r\nend\r\n.\r\n');
  });
  it('an empty message is just the terminator', () => {
    expect(stuffInChunks(Buffer.alloc(0), []).toString()).toBe('.\r\n');
  });
  it('round-trips any bytes split anywhere, and sizes match RFC 1939 §11 counting', () => {
    const alphabet = fc.constantFrom(...'.\r\na b'.split('').map((c) => c.charCodeAt(0)));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 5 }), (arr, cuts) => {
        const data = Buffer.from(arr);
        const wire = stuffInChunks(data, cuts);
        const back = unstuff(wire);
        // Unstuffed = the message with CRLF line ends: its length is the RFC size.
        expect(back.length).toBe(crlfSize(data));
        // Same output whatever the chunking, and in one piece after a status line.
        expect(wire.equals(stuffInChunks(data, []))).toBe(true);
        expect(new DotStuffer().whole('+OK 1 octets\r\n', data).toString('latin1')).toBe('+OK 1 octets\r\n' + wire.toString('latin1'));
        // Content preserved: each LF-separated line, one trailing CR dropped, ended by CRLF.
        const lines = data.toString('latin1').split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        expect(back.toString('latin1')).toBe(lines.map((l) => l.replace(/\r$/, '') + '\r\n').join(''));
      }),
      { numRuns: 400 },
    );
  });
  it('TOP: headers, blank line, then n body lines', () => {
    const msg = Buffer.from('A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n');
    expect(stuffInChunks(msg, [], 0).toString()).toBe('A: 1\r\nB: 2\r\n\r\n.\r\n');
    expect(stuffInChunks(msg, [3, 14], 2).toString()).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n');
    expect(stuffInChunks(msg, [], Number.MAX_SAFE_INTEGER).toString()).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n');
  });
});

describe('command line reader', () => {
  it('splits on CRLF or LF across chunks', () => {
    const r = new LineReader(100);
    expect(r.push(Buffer.from('US'))).toEqual([]);
    expect(r.push(Buffer.from('ER a\r\nPASS b\nST'))).toEqual(['USER a', 'PASS b']);
    expect(r.push(Buffer.from('AT\r\n'))).toEqual(['STAT']);
  });
  it('drops an over-long line without buffering it and recovers', () => {
    const r = new LineReader(10);
    expect(r.push(Buffer.from('x'.repeat(50)))).toEqual([]);
    expect(r.pending).toBe(0);
    expect(r.push(Buffer.from('yyy\r\nNOOP\r\n'))).toEqual([TOO_LONG, 'NOOP']);
  });
});
