import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guessFormat, mboxEntry, mboxrdBody, openStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'kpop-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mboxrd', () => {
  it('adds one ">" to every line matching /^>*From /, and nothing else', () => {
    const body = mboxrdBody(Buffer.from('Subject: x\n\nFrom here\n>From there\n>>From afar\n From not\nFromage\n'));
    expect(body.toString()).toBe('Subject: x\n\n>From here\n>>From there\n>>>From afar\n From not\nFromage\n\n');
  });

  it('ends every entry with a blank line, even without a final newline', () => {
    expect(mboxrdBody(Buffer.from('a\nb')).toString()).toBe('a\nb\n\n');
  });

  it('starts with an asctime From_ line', () => {
    const e = mboxEntry(Buffer.from('x\n'), new Date('2026-03-05T07:08:09Z')).toString();
    expect(e).toBe('From MAILER-DAEMON Thu Mar  5 07:08:09 2026\nx\n\n');
  });

  it('keeps 8-bit bytes untouched', () => {
    const raw = Buffer.from([0x53, 0x3a, 0x20, 0xe9, 0xff, 0x0a]);
    expect([...mboxrdBody(raw).subarray(0, 6)]).toEqual([...raw]);
  });
});

describe('stores', () => {
  it('guesses mbox for .mbox names and existing files, Maildir otherwise', () => {
    const f = join(dir, 'existing');
    writeFileSync(f, '');
    expect(guessFormat(join(dir, 'x.mbox'))).toBe('mbox');
    expect(guessFormat(f)).toBe('mbox');
    expect(guessFormat(join(dir, 'Maildir'))).toBe('maildir');
    expect(guessFormat(dir)).toBe('maildir');
  });

  it('appends to an mbox and removes its lock', async () => {
    const f = join(dir, 'a.mbox');
    const s = openStore(f);
    await s.store(Buffer.from('one\n'));
    await s.store(Buffer.from('two\n'));
    expect(readFileSync(f, 'utf8').match(/^From /gm)).toHaveLength(2);
    expect(readdirSync(dir)).not.toContain('a.mbox.lock');
  });

  it('delivers into Maildir new/', async () => {
    const m = join(dir, 'md');
    await openStore(m, 'maildir').store(Buffer.from('hello\n'));
    const files = readdirSync(join(m, 'new'));
    expect(files).toHaveLength(1);
    expect(readFileSync(join(m, 'new', files[0]!), 'utf8')).toBe('hello\n');
  });

  it('refuses a file as a Maildir and a folder as an mbox, in one line', () => {
    const f = join(dir, 'plain');
    writeFileSync(f, '');
    expect(() => openStore(f, 'maildir')).toThrow(/is a file, not a Maildir folder/);
    expect(() => openStore(dir, 'mbox')).toThrow(/is a folder, not an mbox file/);
  });
});
