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

/**
 * A child process logging to its stdout, a pipe that Node has made non-blocking
 * (as `kdc start` and its workers have it), while this process leaves the pipe
 * unread for a while: what arrives, once read.
 */
async function throughSlowPipe(lines: number, pauseMs: number): Promise<{ n: number[]; dropped: number }> {
  const { spawn } = await import('node:child_process');
  dir = mkdtempSync(join(tmpdir(), 'kdc-log-'));
  const script = join(dir, 'child.ts');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(script, [
    `import { batchedFdLogger } from ${JSON.stringify(join(import.meta.dirname, 'log.ts'))};`,
    // Opening process.stdout makes fd 1 non-blocking, as in `kdc start`.
    `if (!process.stdout.writable) process.exit(2);`,
    `const log = batchedFdLogger(1, 100, 4096);`,
    `for (let n = 0; n < ${lines}; n++) log({ n, from: '127.0.0.1:88', msg: 'AS_REQ', status: 'ISSUE', pad: 'x'.repeat(40) });`,
  ].join('\n'));
  const root = join(import.meta.dirname, '..', '..', '..', '..');
  // A real pipe (a shell's `|`; Node gives a child a socket pair instead), read only after pauseMs.
  const child = spawn('sh', ['-c', `"$0" --conditions=kpop-source --import tsx "$1" | (sleep ${pauseMs / 1000}; cat)`, process.execPath, script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  expect(code).toBe(0);
  const records = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { n?: number; msg: string; lines?: number });
  return { n: records.filter((r) => r.n !== undefined).map((r) => r.n!), dropped: records.filter((r) => r.msg === 'LOG_DROPPED').reduce((a, r) => a + r.lines!, 0) };
}

describe('batchedFdLogger on a pipe whose reader is slow', () => {
  it('keeps what the full pipe refuses (EAGAIN) and writes it later: every line, in order, none dropped', async () => {
    // About 100 KiB: more than the pipe holds (64 KiB), less than the pipe and the logger's buffer together.
    const got = await throughSlowPipe(1000, 1000);
    expect(got.dropped).toBe(0);
    expect(got.n).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  }, 30_000);

  it('past its buffer, drops lines and says how many (LOG_DROPPED): each line arrives or is counted', async () => {
    const got = await throughSlowPipe(10_000, 1000);
    expect(got.dropped).toBeGreaterThan(0);
    expect(got.n.length + got.dropped).toBe(10_000);
    // What arrives is in order and whole (JSON.parse above read every line).
    for (let i = 1; i < got.n.length; i++) expect(got.n[i]!).toBeGreaterThan(got.n[i - 1]!);
  }, 30_000);
});
