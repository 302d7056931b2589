/** RotatingFile: the size cap, the kept count, reopen after a move (logrotate), the flag parsers. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLogKeep, parseLogSize, RotatingFile } from './rotating-file.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const line = (i: number) => Buffer.from(`{"n":${String(i + 10000)}}\n`); // 12 bytes

describe('RotatingFile', () => {
  it('never lets a file pass the cap, keeps `keep` rotated files, newest in FILE.1, and loses no line of the last ones', () => {
    dir = mkdtempSync(join(tmpdir(), 'rotlog-'));
    const path = join(dir, 'kdc.log');
    const f = new RotatingFile(path, { maxBytes: 130, keep: 3 });
    for (let i = 0; i < 1000; i++) f.write(line(i));
    f.close();
    expect(readdirSync(dir).sort()).toEqual(['kdc.log', 'kdc.log.1', 'kdc.log.2', 'kdc.log.3']);
    for (const n of readdirSync(dir)) expect(statSync(join(dir, n)).size).toBeLessThanOrEqual(130);
    // Oldest to newest, the lines run on without a gap up to the last one written.
    const text = ['kdc.log.3', 'kdc.log.2', 'kdc.log.1', 'kdc.log'].map((n) => readFileSync(join(dir, n), 'utf8')).join('');
    const ns = text.trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n - 10000);
    expect(ns.at(-1)).toBe(999);
    expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => 1000 - ns.length + i));
    expect(ns.length).toBe(40);
    expect(f.rotations).toBe(Math.ceil(1000 / 10) - 1);
    expect(f.dropped).toBe(0);
  });

  it('splits a batch larger than the cap at line ends; only a single line longer than the cap passes it', () => {
    dir = mkdtempSync(join(tmpdir(), 'rotlog-'));
    const path = join(dir, 'pop.log');
    const f = new RotatingFile(path, { maxBytes: 50, keep: 9 });
    f.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => line(i)))); // 240 bytes in one write
    f.write(Buffer.from(`${'y'.repeat(80)}\n`));
    f.write(line(20));
    f.close();
    const names = readdirSync(dir).sort((a, b) => Number(b.split('.')[2] ?? 0) - Number(a.split('.')[2] ?? 0));
    const contents = names.map((n) => readFileSync(join(dir, n), 'utf8'));
    for (const c of contents) expect(c.endsWith('\n')).toBe(true);
    expect(contents.filter((c) => c.length > 50)).toEqual([`${'y'.repeat(80)}\n`]);
    expect(contents.join('')).toBe(Array.from({ length: 20 }, (_, i) => line(i).toString()).join('') + `${'y'.repeat(80)}\n` + line(20).toString());
  });

  it('keep 0: the file starts again empty at the cap; maxBytes 0: never rotates', () => {
    dir = mkdtempSync(join(tmpdir(), 'rotlog-'));
    const a = new RotatingFile(join(dir, 'a.log'), { maxBytes: 100, keep: 0 });
    const b = new RotatingFile(join(dir, 'b.log'), { maxBytes: 0, keep: 3 });
    for (let i = 0; i < 100; i++) {
      a.write(line(i));
      b.write(line(i));
    }
    a.close();
    b.close();
    expect(readdirSync(dir).sort()).toEqual(['a.log', 'b.log']);
    expect(statSync(join(dir, 'a.log')).size).toBeLessThanOrEqual(100);
    expect(statSync(join(dir, "b.log")).size).toBe(100 * line(0).length);
  });

  it('appends to an existing file and counts its size; reopen() starts a new file after logrotate moved it', () => {
    dir = mkdtempSync(join(tmpdir(), 'rotlog-'));
    const path = join(dir, 'pop.log');
    let f = new RotatingFile(path, { maxBytes: 1000, keep: 2 });
    f.write(line(1));
    f.close();
    f = new RotatingFile(path, { maxBytes: 30, keep: 2 });
    f.write(line(2));
    f.write(line(3)); // 12 × 3 > 30: rotates first
    expect(readFileSync(`${path}.1`, 'utf8')).toBe(`${line(1)}${line(2)}`);
    renameSync(path, `${path}-20260301`);
    f.write(line(4)); // still the moved file (the fd)
    f.reopen();
    f.write(line(5));
    f.close();
    expect(readFileSync(`${path}-20260301`, 'utf8')).toBe(`${line(3)}${line(4)}`);
    expect(readFileSync(path, 'utf8')).toBe(`${line(5)}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('a write that fails (folder removed) is dropped and counted, and a later one works again', () => {
    dir = mkdtempSync(join(tmpdir(), 'rotlog-'));
    const sub = join(dir, 'logs');
    mkdirSync(sub);
    const f = new RotatingFile(join(sub, 'x.log'), { maxBytes: 20, keep: 1 });
    f.write(line(1));
    rmSync(sub, { recursive: true });
    f.write(line(2)); // the rotation's rename finds no file: dropped, not thrown
    expect(f.dropped).toBe(line(2).length);
    mkdirSync(sub);
    f.write(line(3));
    f.close();
    expect(readFileSync(join(sub, 'x.log'), 'utf8')).toBe(`${line(3)}`);
  });

  it('parses sizes and counts, with one-line errors', () => {
    expect(parseLogSize('64M')).toBe(64 * 1024 * 1024);
    expect(parseLogSize('512k')).toBe(512 * 1024);
    expect(parseLogSize('1G')).toBe(1024 ** 3);
    expect(parseLogSize('1000')).toBe(1000);
    expect(parseLogSize('0')).toBe(0);
    expect(() => parseLogSize('lots')).toThrow(/--log-max-size must be a size such as 64M/);
    expect(() => parseLogSize('-1M')).toThrow(RangeError);
    expect(parseLogKeep('5')).toBe(5);
    expect(() => parseLogKeep('x')).toThrow(/--log-keep must be a count from 0 to 1000/);
    expect(() => parseLogKeep('1001')).toThrow(RangeError);
  });
});
