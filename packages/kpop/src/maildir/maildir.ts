/**
 * Maildir storage (the qmail/Courier layout, also Dovecot's): tmp/, new/,
 * cur/. Names are `time.unique.host`, optionally followed by `,S=size`,
 * `,W=crlf-size` (Courier/Dovecot size hints) and, in cur/, `:2,FLAGS`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CrlfSizeCounter } from './crlf.js';

export interface MaildirMessage {
  /** Current path of the file (changes when the message moves to cur/). */
  path: string;
  /** 'new' or 'cur' */
  folder: 'new' | 'cur';
  /** File name (in its folder). */
  name: string;
  /** RFC 1939 §7 unique-id: stable across sessions, 1-70 chars in 0x21-0x7E. */
  uid: string;
  /** RFC 1939 size: octets with CRLF line ends. */
  size: number;
  /** Raw file size in bytes. */
  fileSize: number;
}

export class MaildirError extends Error {
  /** true when retrying later may succeed (I/O, space): [SYS/TEMP], exit 75. */
  readonly temporary: boolean;
  constructor(message: string, temporary: boolean, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'MaildirError';
    this.temporary = temporary;
  }
}

/** Mailbox names map to directories: no separators, dots or control chars. */
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}$/;

export function isValidUserName(user: string): boolean {
  return USER_RE.test(user) && !user.includes('..');
}

/** The Maildir of USER under the root: ROOT/USER/{tmp,new,cur}. */
export function maildirPath(root: string, user: string): string {
  if (!isValidUserName(user)) throw new MaildirError(`invalid mailbox name "${user}"`, false);
  return join(root, user);
}

export async function ensureMaildir(dir: string): Promise<void> {
  try {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new MaildirError(`cannot create Maildir ${dir}: ${(e as Error).message}`, true, e);
  }
}

/** The base name: everything before the flags (`:2,...`) and size hints (`,S=`). */
export function baseName(name: string): string {
  const colon = name.indexOf(':');
  const b = colon === -1 ? name : name.slice(0, colon);
  const comma = b.indexOf(',');
  return comma === -1 ? b : b.slice(0, comma);
}

const UID_OK = /^[\x21-\x7e]{1,70}$/;

/**
 * RFC 1939 §7 UIDL: the unique part of the file name, which Maildir already
 * makes unique forever. Names that don't fit the UIDL alphabet or length get
 * a stable hash of the base name instead.
 */
export function uidFromName(name: string): string {
  const b = baseName(name);
  if (UID_OK.test(b)) return b;
  return 'H' + createHash('sha256').update(b).digest('hex').slice(0, 40);
}

/** A size hint in a name: `S=` (file size) or `W=` (CRLF size), if present. */
export function sizeHint(name: string, key: 'S' | 'W'): number | undefined {
  const colon = name.indexOf(':');
  const b = colon === -1 ? name : name.slice(0, colon);
  const m = (key === 'S' ? /,S=(\d+)(?:,|$)/ : /,W=(\d+)(?:,|$)/).exec(b);
  return m ? Number(m[1]) : undefined;
}

/** Delivery order: the leading seconds, then the microseconds (`M…`), then the name. */
function orderKey(name: string): [number, number] {
  const m = /^(\d+)\.(?:M(\d+))?/.exec(name);
  return m ? [Number(m[1]), m[2] ? Number(m[2]) : 0] : [Number.MAX_SAFE_INTEGER, 0];
}

/**
 * Compare two Maildir file names in delivery order. Names do not sort by
 * themselves: the `M<usec>` part has no fixed width.
 */
export function compareDelivery(a: string, b: string): number {
  const ka = orderKey(a);
  const kb = orderKey(b);
  return ka[0] - kb[0] || ka[1] - kb[1] || (a < b ? -1 : a > b ? 1 : 0);
}

// Sizes of files without a W= hint, by path, size and mtime: scanning a big
// message once per process is enough.
const sizeCache = new Map<string, { fileSize: number; mtimeMs: number; size: number }>();

async function countCrlfSize(path: string): Promise<number> {
  const c = new CrlfSizeCounter();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 18 })) c.push(chunk as Buffer);
  return c.size;
}

/** Every message in new/ and cur/, numbered in delivery order. */
export async function listMessages(dir: string): Promise<MaildirMessage[]> {
  const out: MaildirMessage[] = [];
  const seenUids = new Set<string>();
  try {
    for (const folder of ['new', 'cur'] as const) {
      const entries = await readdir(join(dir, folder), { withFileTypes: true });
      for (const entry of entries) {
        const name = entry.name;
        // Regular files only: a symlink planted in a Maildir must not make the
        // server (often root) read some other file for the user.
        if (name.startsWith('.') || !entry.isFile()) continue;
        const path = join(dir, folder, name);
        let size = sizeHint(name, 'W');
        let fileSize = sizeHint(name, 'S');
        // With both hints (our deliveries, Dovecot's, Courier's) no stat is needed.
        if (size === undefined || fileSize === undefined) {
          let st;
          try {
            st = await stat(path);
          } catch {
            continue; // removed meanwhile by someone else
          }
          if (!st.isFile()) continue;
          fileSize = st.size;
          if (size === undefined) {
            const cached = sizeCache.get(path);
            if (cached && cached.fileSize === st.size && cached.mtimeMs === st.mtimeMs) size = cached.size;
            else {
              size = await countCrlfSize(path);
              if (sizeCache.size > 100_000) sizeCache.clear();
              sizeCache.set(path, { fileSize: st.size, mtimeMs: st.mtimeMs, size });
            }
          }
        }
        let uid = uidFromName(name);
        // Two files with one base name (a broken copy) must still get distinct UIDLs.
        if (seenUids.has(uid)) uid = 'H' + createHash('sha256').update(folder + '/' + name).digest('hex').slice(0, 40);
        seenUids.add(uid);
        out.push({ path, folder, name, uid, size, fileSize });
      }
    }
  } catch (e) {
    throw new MaildirError(`cannot read Maildir ${dir}: ${(e as Error).message}`, true, e);
  }
  return out.sort((a, b) => compareDelivery(a.name, b.name));
}

/** Flags of a cur/ name (`:2,FS`), sorted as Maildir requires. */
function withFlag(name: string, flag: string): string {
  const i = name.indexOf(':2,');
  if (i === -1) {
    const colon = name.indexOf(':');
    const b = colon === -1 ? name : name.slice(0, colon);
    return `${b}:2,${flag}`;
  }
  const flags = new Set(name.slice(i + 3).split(''));
  flags.add(flag);
  return name.slice(0, i + 3) + [...flags].sort().join('');
}

/**
 * Another reader (IMAP) may have renamed the file since the scan (a flag
 * change, new/ → cur/): find it again by its base name, which never
 * changes. Updates msg in place; false when the message is gone.
 */
export async function relocate(msg: MaildirMessage): Promise<boolean> {
  const dir = join(msg.path, '..', '..');
  const base = baseName(msg.name);
  for (const folder of ['cur', 'new'] as const) {
    let names: string[];
    try {
      names = await readdir(join(dir, folder));
    } catch {
      continue;
    }
    const name = names.find((n) => baseName(n) === base);
    if (name) {
      msg.path = join(dir, folder, name);
      msg.name = name;
      msg.folder = folder;
      return true;
    }
  }
  return false;
}

/** Move a retrieved message to cur/ with the S (seen) flag. Updates msg in place. */
export async function markSeen(dir: string, msg: MaildirMessage): Promise<void> {
  let name = withFlag(msg.name, 'S');
  if (msg.folder === 'cur' && name === msg.name) return;
  try {
    await rename(msg.path, join(dir, 'cur', name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !(await relocate(msg))) throw e;
    name = withFlag(msg.name, 'S');
    if (msg.folder === 'cur' && name === msg.name) return;
    await rename(msg.path, join(dir, 'cur', name));
  }
  const path = join(dir, 'cur', name);
  msg.path = path;
  msg.name = name;
  msg.folder = 'cur';
}

/** Remove a message file; a file already gone counts as removed. */
export async function removeMessage(msg: MaildirMessage): Promise<void> {
  try {
    await unlink(msg.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // Renamed by an IMAP flag change since the scan: remove it under its new name.
    if (await relocate(msg)) await unlink(msg.path).catch(() => {});
  }
}
