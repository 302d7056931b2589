/**
 * UIDs that last (RFC 3501 §2.3.1.1): UIDVALIDITY and one UID per message
 * kept in the Maildir in the layout of Dovecot's dovecot-uidlist, version 3:
 *
 *   3 V<uidvalidity> N<nextuid>
 *   <uid> :<base name>
 *
 * keyed by the Maildir base name (before `,S=` and `:2,`), which neither a
 * flag change nor POP3's move to cur/ alters, so a message keeps its UID
 * across restarts and across POP3 and IMAP sessions. Writes go to a temp
 * file renamed over the list, under a lock file (several server processes).
 */
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const UIDLIST_FILE = 'kpop-uidlist';
export const LOCK_FILE = 'kpop-uidlist.lock';
const STALE_LOCK_MS = 3_000;

export interface UidList {
  uidValidity: number;
  nextUid: number;
  /** The highest UID some session has seen as \Recent (RFC 3501 §2.3.2); our own header field R. */
  recentUid: number;
  /** base name → uid */
  uids: Map<string, number>;
  mtimeMs: number;
}

export function parseUidList(text: string): Omit<UidList, 'mtimeMs'> | undefined {
  const lines = text.split('\n');
  const head = /^3 (.*)$/.exec(lines[0] ?? '');
  if (!head) return undefined;
  let uidValidity = 0;
  let nextUid = 1;
  let recentUid = 0;
  for (const f of head[1]!.split(' ')) {
    if (f[0] === 'V') uidValidity = Number(f.slice(1));
    else if (f[0] === 'N') nextUid = Number(f.slice(1));
    else if (f[0] === 'R') recentUid = Number(f.slice(1)) || 0;
  }
  if (!Number.isInteger(uidValidity) || uidValidity <= 0 || uidValidity > 0xffffffff) return undefined;
  if (!Number.isInteger(nextUid) || nextUid < 1) return undefined;
  const uids = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const m = /^(\d+)(?: [^:]*)? :(.+)$/.exec(line);
    if (!m) continue;
    const uid = Number(m[1]);
    if (uid < 1 || uid > 0xffffffff) continue;
    uids.set(m[2]!, uid);
    if (uid >= nextUid) nextUid = uid + 1;
  }
  return { uidValidity, nextUid, recentUid, uids };
}

export function formatUidList(l: Omit<UidList, 'mtimeMs'>): string {
  const rows = [...l.uids].sort((a, b) => a[1] - b[1]);
  let out = `3 V${l.uidValidity} N${l.nextUid}${l.recentUid ? ` R${l.recentUid}` : ''}\n`;
  for (const [base, uid] of rows) out += `${uid} :${base}\n`;
  return out;
}

export async function readUidList(dir: string): Promise<UidList | undefined> {
  const path = join(dir, UIDLIST_FILE);
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const l = parseUidList(text);
    return l && { ...l, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function uidListMtime(dir: string): Promise<number> {
  try {
    return (await stat(join(dir, UIDLIST_FILE))).mtimeMs;
  } catch {
    return 0;
  }
}

export async function writeUidList(dir: string, l: Omit<UidList, 'mtimeMs'>): Promise<number> {
  const path = join(dir, UIDLIST_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, formatUidList(l), { mode: 0o600 });
  await rename(tmp, path);
  return (await stat(path)).mtimeMs;
}

/**
 * Runs fn holding the folder's uidlist lock (O_EXCL lock file; a stale one
 * is broken). fn may move the folder (RENAME): it returns where the lock
 * file is then, by `movedTo`, so the lock is released there and does not
 * travel on as a stale lock that the next writer must wait out.
 */
export async function withUidListLock<T>(dir: string, fn: (movedTo: (newDir: string) => void) => Promise<T>): Promise<T> {
  const path = join(dir, LOCK_FILE);
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = await stat(path).catch(() => undefined);
      if (!st || Date.now() - st.mtimeMs > STALE_LOCK_MS) {
        await unlink(path).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new Error('uidlist lock busy');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  let held = path;
  try {
    return await fn((newDir) => (held = join(newDir, LOCK_FILE)));
  } finally {
    await unlink(held).catch(() => {});
  }
}
