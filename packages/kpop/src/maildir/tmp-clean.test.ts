/**
 * Maildir tmp/ clean-up with a pinned clock: files untouched for more than
 * 36 hours go, younger ones (a delivery still writing) stay, new/ and cur/
 * are never touched; the server does it at start.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPopServer } from '../server.js';
import { cleanMaildirTmp, TMP_MAX_AGE_MS } from './tmp-clean.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000);
let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** alice and bob with tmp/ files of the given ages (hours), and one old file each in new/ and cur/. */
function mailboxes(ages: Record<string, number>): void {
  root = mkdtempSync(join(tmpdir(), 'maildir-tmp-'));
  for (const user of ['alice', 'bob']) {
    for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(root, user, sub), { recursive: true });
    for (const [name, h] of Object.entries(ages)) {
      const p = join(root, user, 'tmp', name);
      writeFileSync(p, 'Subject: half a message\n');
      utimesSync(p, hoursAgo(h), hoursAgo(h));
    }
    for (const sub of ['new', 'cur']) {
      const p = join(root, user, sub, `old-${sub}`);
      writeFileSync(p, 'Subject: kept\n\nbody\n');
      utimesSync(p, hoursAgo(1000), hoursAgo(1000));
    }
  }
  mkdirSync(join(root, 'alice', 'tmp', 'a-folder'));
  utimesSync(join(root, 'alice', 'tmp', 'a-folder'), hoursAgo(100), hoursAgo(100));
}

describe('Maildir tmp/ clean-up', () => {
  it('removes tmp/ files older than 36 h by mtime, keeps younger ones, never touches new/, cur/ or folders', async () => {
    mailboxes({ killed: 37, 'just-over': 36.01, 'just-under': 35.99, writing: 0 });
    const log: Record<string, unknown>[] = [];
    const removed = await cleanMaildirTmp(root, { now: () => NOW, log: (r) => log.push(r) });
    expect(removed.map((p) => p.slice(root.length + 1)).sort()).toEqual(['alice/tmp/just-over', 'alice/tmp/killed', 'bob/tmp/just-over', 'bob/tmp/killed']);
    for (const user of ['alice', 'bob']) {
      expect(readdirSync(join(root, user, 'tmp')).sort()).toEqual(user === 'alice' ? ['a-folder', 'just-under', 'writing'] : ['just-under', 'writing']);
      expect(readdirSync(join(root, user, 'new'))).toEqual(['old-new']);
      expect(readdirSync(join(root, user, 'cur'))).toEqual(['old-cur']);
    }
    expect(log.filter((r) => r.event === 'maildir-tmp-removed')).toHaveLength(4);
    expect(TMP_MAX_AGE_MS).toBe(36 * 3600_000);
  });

  it('a missing root or a mailbox without tmp/ is no error', async () => {
    root = mkdtempSync(join(tmpdir(), 'maildir-tmp-'));
    expect(await cleanMaildirTmp(join(root, 'none'), { now: () => NOW })).toEqual([]);
    mkdirSync(join(root, 'carol'));
    writeFileSync(join(root, 'stray-file'), 'x');
    expect(await cleanMaildirTmp(root, { now: () => NOW })).toEqual([]);
  });

  it('the server cleans at start with its clock; tmpMaxAgeMs 0 turns it off', async () => {
    mailboxes({ killed: 40, writing: 1 });
    const off = await startPopServer({ maildirRoot: root, realm: 'LAB.TEST', pop3: { host: '127.0.0.1', port: 0 }, now: () => NOW, tmpMaxAgeMs: 0, log: () => {} });
    await new Promise((r) => setTimeout(r, 100));
    await off.close();
    expect(readdirSync(join(root, 'alice', 'tmp')).sort()).toEqual(['a-folder', 'killed', 'writing']);
    const log: Record<string, unknown>[] = [];
    const server = await startPopServer({ maildirRoot: root, realm: 'LAB.TEST', pop3: { host: '127.0.0.1', port: 0 }, now: () => NOW, log: (r) => log.push(r) });
    for (let i = 0; i < 50 && log.filter((r) => r.event === 'maildir-tmp-removed').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await server.close();
    expect(readdirSync(join(root, 'alice', 'tmp')).sort()).toEqual(['a-folder', 'writing']);
    expect(readdirSync(join(root, 'bob', 'tmp'))).toEqual(['writing']);
    expect(log.filter((r) => r.event === 'maildir-tmp-removed').map((r) => `${String(r.user)}/${String(r.file)}`).sort()).toEqual(['alice/killed', 'bob/killed']);
  });
});
