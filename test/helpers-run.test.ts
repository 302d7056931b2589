/**
 * Issue 10 item 1: the helpers that run a program with input must not let an
 * EPIPE escape when the program exits before reading it (an unhandled
 * 'error' on the child's stdin failed a whole test file once).
 */
import { describe, expect, it } from 'vitest';
import { run as labRun } from './lab-helpers.js';
import { run as kpopRun } from './kpop-helpers.js';

// 8 MB: far more than a pipe buffer holds, so the write is still going when `true` exits.
const input = 'x'.repeat(8 << 20);

describe('run() with input the program never reads', () => {
  it('lab-helpers: resolves with the exit code', async () => {
    for (let i = 0; i < 5; i++) expect((await labRun('true', [], { input })).code).toBe(0);
    expect((await labRun('false', [], { input })).code).toBe(1);
  });
  it('kpop-helpers: resolves with the exit code', async () => {
    for (let i = 0; i < 5; i++) expect((await kpopRun('true', [], { input })).code).toBe(0);
  });
});
