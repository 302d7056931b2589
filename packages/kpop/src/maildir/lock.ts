/**
 * The exclusive maildrop lock of RFC 1939 §4 ("-ERR [IN-USE]", RFC 2449
 * §8.1.2), in two layers:
 * - in this process, a set of held mailboxes (no file system round trip);
 * - across processes, a lock file `kpop.lock` created with O_EXCL holding
 *   "PID HOST". A lock whose PID no longer runs on this host is stale and is
 *   taken over, so a crashed server never leaves a mailbox locked forever.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

const held = new Set<string>();
const LOCK_FILE = 'kpop.lock';
/** A lock from another host cannot be checked for liveness; trust it this long. */
const FOREIGN_LOCK_TTL_MS = 30 * 60 * 1000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
  const [pidText, host] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) {
    // Half-written by a process that died between create and write.
    const st = await stat(path).catch(() => undefined);
    return !st || Date.now() - st.mtimeMs > 10_000;
  }
  if (host !== hostname()) {
    const st = await stat(path).catch(() => undefined);
    return !st || Date.now() - st.mtimeMs > FOREIGN_LOCK_TTL_MS;
  }
  // Our own PID but not in `held`: left behind by an earlier server in this process.
  if (pid === process.pid) return true;
  return !pidAlive(pid);
}

export class MailboxLock {
  private released = false;
  private constructor(private readonly key: string, private readonly path: string) {}

  /** Take the lock on the Maildir at dir, or return undefined if someone holds it. */
  static async acquire(dir: string): Promise<MailboxLock | undefined> {
    const key = resolve(dir);
    if (held.has(key)) return undefined;
    held.add(key);
    const path = join(key, LOCK_FILE);
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const fh = await open(path, 'wx', 0o600);
          await fh.writeFile(`${process.pid} ${hostname()}\n`);
          await fh.close();
          return new MailboxLock(key, path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          if (!(await isStale(path))) break;
          await unlink(path).catch(() => {});
        }
      }
    } catch (e) {
      held.delete(key);
      throw e;
    }
    held.delete(key);
    return undefined;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await unlink(this.path).catch(() => {});
    held.delete(this.key);
  }
}
