/** batchedFdLogger: every line arrives, whole and in order, in batches; flush() and large or non-ASCII lines. */
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { batchedFdLogger } from './log.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function logFile(): { path: string; fd: number } {
  dir = mkdtempSync(join(tmpdir(), 'kdc-log-'));
  const path = join(dir, 'kdc.log');
  return { path, fd: openSync(path, 'a', 0o600) };
}

describe('batchedFdLogger', () => {
  it('writes nothing until a batch fills or flush(), then every line in order', () => {
    const { path, fd } = logFile();
    const log = batchedFdLogger(fd, 60_000);
    log({ n: 0, name: 'alice@LAB.TEST' });
    expect(readFileSync(path, 'utf8')).toBe('');
    for (let i = 1; i < 2000; i++) log({ n: i, name: i % 3 ? 'pop/localhost@LAB.TEST' : 'jörg/ℝ@LAB.TEST' });
    // 2000 lines of ~40 bytes passed 32 KiB: some batches are out already.
    expect(readFileSync(path, 'utf8').length).toBeGreaterThan(0);
    log({ n: 2000, big: 'x'.repeat(70_000) });
    log.flush();
    closeSync(fd);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { n: number; name?: string; big?: string });
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: 2001 }, (_, i) => i));
    expect(lines[3]!.name).toBe('jörg/ℝ@LAB.TEST');
    expect(lines[2000]!.big!.length).toBe(70_000);
  });
});
