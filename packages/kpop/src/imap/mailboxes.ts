/**
 * The user's mailbox names on Maildir++ (Courier's and Dovecot's layout):
 * INBOX is the Maildir itself, "Work.2026" is ROOT/user/.Work.2026/ with "."
 * as the hierarchy delimiter (RFC 3501 §5.1.1). Names are stored as the
 * client sends them (modified UTF-7, §5.1.3), as Dovecot does. Subscriptions
 * live in a `subscriptions` file, one name per line.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureMaildir } from '../maildir/maildir.js';
import { Folder } from './folder.js';
import { withUidListLock } from './uidlist.js';

export const DELIMITER = '.';
const SUBSCRIPTIONS = 'subscriptions';
const MAX_NAME = 255;

export class MailboxNameError extends Error {}

/** "inbox" in any case is INBOX (§5.1). */
export function normalizeName(name: string): string {
  if (name.toUpperCase() === 'INBOX') return 'INBOX';
  if (name.toUpperCase().startsWith('INBOX' + DELIMITER)) return 'INBOX' + name.slice(5);
  return name;
}

/** A name we can map to a directory: no "/", no empty levels, no leading dot tricks, printable. */
export function validName(name: string): boolean {
  if (!name || name.length > MAX_NAME) return false;
  if (name === 'INBOX') return true;
  // No wildcards (LIST patterns), no path separators, no control characters.
  if (/[\x00-\x1f\x7f/\\*%]/.test(name) || name.includes('~')) return false;
  const parts = name.split(DELIMITER);
  return parts.every((p) => p.length > 0 && p !== '.' && p !== '..');
}

export function folderDir(root: string, name: string): string {
  const n = normalizeName(name);
  if (n === 'INBOX') return root;
  if (!validName(n)) throw new MailboxNameError(`invalid mailbox name`);
  return join(root, DELIMITER + n);
}

/** The names of the existing mailboxes (INBOX first). */
export async function listNames(root: string): Promise<string[]> {
  const names = ['INBOX'];
  let entries: string[] = [];
  try {
    entries = await readdir(root);
  } catch {
    return names;
  }
  for (const e of entries.sort()) {
    if (!e.startsWith('.') || e === '.' || e === '..' || e.length < 2) continue;
    const name = e.slice(1);
    if (!validName(name)) continue;
    const st = await stat(join(root, e, 'cur')).catch(() => undefined);
    if (st?.isDirectory()) names.push(name);
  }
  return names;
}

export async function exists(root: string, name: string): Promise<boolean> {
  const n = normalizeName(name);
  if (n === 'INBOX') return true;
  if (!validName(n)) return false;
  const st = await stat(join(folderDir(root, n), 'cur')).catch(() => undefined);
  return !!st?.isDirectory();
}

export async function createMailbox(root: string, name: string): Promise<void> {
  const dir = folderDir(root, name);
  await mkdir(dir, { mode: 0o700 });
  await ensureMaildir(dir);
  // Maildir++: a subfolder carries a maildirfolder marker file.
  await writeFile(join(dir, 'maildirfolder'), '', { mode: 0o600 });
}

export async function deleteMailbox(root: string, name: string): Promise<void> {
  await rm(folderDir(root, name), { recursive: true, force: false });
  Folder.forget(folderDir(root, name));
}

/**
 * RENAME: the folder and every child ("A" → "B" moves "A.x" to "B.x"). Each
 * moves under its uidlist lock, so that no writer (another session or
 * process assigning UIDs) is midway through the list as it goes, and the
 * lock is released at the new place: a lock file carried along would stall
 * the renamed folder's next writer until it is old enough to break. The
 * process-wide Folder of the old name is forgotten (a new folder may take it).
 */
export async function renameMailbox(root: string, from: string, to: string): Promise<void> {
  const names = await listNames(root);
  const moves: [string, string][] = [[from, to]];
  for (const n of names) if (n.startsWith(from + DELIMITER)) moves.push([n, to + n.slice(from.length)]);
  for (const [a, b] of moves) {
    const src = folderDir(root, a);
    const dst = folderDir(root, b);
    await withUidListLock(src, async (movedTo) => {
      await rename(src, dst);
      movedTo(dst);
    });
    Folder.forget(src);
  }
}

/**
 * LIST/LSUB pattern matching (§6.3.8): "*" matches anything, "%" anything
 * but the delimiter; INBOX matches case-insensitively.
 */
export function patternMatcher(reference: string, pattern: string): (name: string) => boolean {
  const full = reference + pattern;
  let re = '^';
  for (const c of full) {
    if (c === '*') re += '.*';
    else if (c === '%') re += '[^.]*';
    else re += c.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
  }
  const rx = new RegExp(re + '$', 's');
  const rxi = new RegExp(re + '$', 'is');
  return (name) => rx.test(name) || ((name === 'INBOX' || name.startsWith('INBOX' + DELIMITER)) && rxi.test(name));
}

export async function readSubscriptions(root: string): Promise<string[]> {
  try {
    const text = await readFile(join(root, SUBSCRIPTIONS), 'utf8');
    return text.split('\n').filter((l) => l && validName(l));
  } catch {
    return [];
  }
}

export async function writeSubscriptions(root: string, names: string[]): Promise<void> {
  const tmp = join(root, `${SUBSCRIPTIONS}.${process.pid}.tmp`);
  await writeFile(tmp, [...new Set(names)].map((n) => n + '\n').join(''), { mode: 0o600 });
  await rename(tmp, join(root, SUBSCRIPTIONS));
}
