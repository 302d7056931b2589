import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DotStuffer } from './dot-stuff.js';
import { Mailbox } from './mailbox.js';
import { deliver } from '../maildir/deliver.js';

const root = mkdtempSync(join(tmpdir(), 'kpop-mailbox-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What RETR must send for a file's bytes (the streaming stuffer, one chunk). */
function expected(data: Buffer, head: string): Buffer {
  const s = new DotStuffer();
  return Buffer.concat([Buffer.from(head), s.push(data), s.end()]);
}

const turn = () => new Promise((r) => setImmediate(r));

async function retr(mb: Mailbox, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  await mb.send(mb.get(n)!, '+OK\r\n', async (b) => void parts.push(Buffer.from(b)), undefined);
  return Buffer.concat(parts);
}

describe('Mailbox.send (RETR of small messages)', () => {
  it('serves every message its own bytes, in and out of order (one read buffer is shared)', async () => {
    const dir = join(root, 'ahead');
    const bodies = Array.from({ length: 12 }, (_, i) => Buffer.from(`Subject: ${i}\n\n${'.dot line\n'.repeat(i)}${String(i).repeat(100 * i + 1)}\r\nend`));
    for (const b of bodies) await deliver(dir, b);
    const mb = (await Mailbox.open(dir))!;
    try {
      const byNumber = mb.messages.map((m) => readFileSync(m.path));
      // In order, then out of order; the event loop turns between some of them.
      const order = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3, 2, 12, 1, 1, 7];
      for (const [k, n] of order.entries()) {
        if (k % 2 === 0) for (let i = 0; i < 20; i++) await turn();
        expect((await retr(mb, n)).equals(expected(byNumber[n - 1]!, '+OK\r\n'))).toBe(true);
      }
    } finally {
      await mb.close();
    }
  });

  it('a message removed under the session fails with an error, and the next one is still served', async () => {
    const dir = join(root, 'gone');
    for (let i = 0; i < 3; i++) await deliver(dir, Buffer.from(`Subject: ${i}\n\nbody ${i}\n`));
    const mb = (await Mailbox.open(dir))!;
    try {
      unlinkSync(mb.messages[0]!.path);
      await expect(retr(mb, 1)).rejects.toThrow(/ENOENT/);
      expect((await retr(mb, 2)).toString()).toBe('+OK\r\nSubject: 1\r\n\r\nbody 1\r\n.\r\n');
    } finally {
      await mb.close();
    }
  });

  it('a file longer than its name says is still sent whole', async () => {
    const dir = join(root, 'grown');
    for (let i = 0; i < 2; i++) await deliver(dir, Buffer.from(`Subject: ${i}\n\nshort\n`));
    const mb = (await Mailbox.open(dir))!;
    try {
      const grown = Buffer.from('Subject: 1\n\n' + 'longer than the name says\n'.repeat(50));
      writeFileSync(mb.messages[1]!.path, grown);
      await retr(mb, 1);
      for (let i = 0; i < 20; i++) await turn();
      expect((await retr(mb, 2)).equals(expected(grown, '+OK\r\n'))).toBe(true);
    } finally {
      await mb.close();
    }
  });
});

describe('DotStuffer.whole output buffers (shared slab)', () => {
  it('a later reply never overwrites an earlier one still being sent', () => {
    const kept: { out: Buffer; copy: Buffer }[] = [];
    for (let i = 0; i < 300; i++) {
      const data = Buffer.from(`Subject: ${i}\n\n${String.fromCharCode(65 + (i % 26)).repeat(i * 97)}\n`);
      const out = new DotStuffer().whole(`+OK ${i}\r\n`, data);
      kept.push({ out, copy: Buffer.from(out) });
    }
    for (const { out, copy } of kept) expect(out.equals(copy)).toBe(true);
  });
});
