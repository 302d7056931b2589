/**
 * One POP3 session's view of a maildrop (RFC 1939 §5): a snapshot of the
 * messages taken when the session enters TRANSACTION, numbered from 1, with
 * deletion marks that only QUIT (the UPDATE state, §6) turns into unlinks.
 */
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { DotStuffer } from './dot-stuff.js';
import { ensureMaildir, listMessages, markSeen, relocate, removeMessage, type MaildirMessage } from '../maildir/maildir.js';
import { MailboxLock } from '../maildir/lock.js';

export interface MailboxEntry extends MaildirMessage {
  deleted: boolean;
}

/**
 * Files up to this size are read in one synchronous call: a page-cached
 * 10 KiB read takes microseconds, while fs.promises.readFile needs four
 * thread-pool round trips (open, fstat, read, close) that cost a millisecond
 * on a busy machine. Larger files are streamed, so a 100 MB message never
 * sits in memory.
 */
const SMALL_FILE = 256 * 1024;

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * One read buffer for every synchronous small read: the data is stuffed into
 * a new buffer before anything else runs, so reuse is safe, and a fresh
 * 10 KiB ArrayBuffer per RETR is not free.
 */
let readBuffer = Buffer.allocUnsafe(16 * 1024);

/** Read a small file whose size the Maildir name told us: open, read, close. */
function readSmall(m: MailboxEntry): Buffer {
  const fd = openSync(m.path, O_READ);
  try {
    // One byte more than expected: a short read of a regular file is EOF.
    const want = m.fileSize + 1;
    if (readBuffer.length < want) readBuffer = Buffer.allocUnsafe(Math.max(want, 2 * readBuffer.length));
    const n = readSync(fd, readBuffer, 0, want, null);
    // Bigger than its name says (edited by hand): read it all the slow way.
    return n <= m.fileSize ? readBuffer.subarray(0, n) : readFileSync(m.path);
  } finally {
    closeSync(fd);
  }
}

export class Mailbox {
  private constructor(
    readonly dir: string,
    private readonly lock: MailboxLock,
    readonly messages: MailboxEntry[],
  ) {}

  /** Lock and scan; undefined when another session holds the lock ([IN-USE]). */
  static async open(dir: string): Promise<Mailbox | undefined> {
    await ensureMaildir(dir);
    const lock = await MailboxLock.acquire(dir);
    if (!lock) return undefined;
    try {
      const list = await listMessages(dir);
      return new Mailbox(dir, lock, list.map((m) => ({ ...m, deleted: false })));
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  /** Message n (1-based) if it exists and is not marked deleted. */
  get(n: number): MailboxEntry | undefined {
    const m = this.messages[n - 1];
    return m && !m.deleted ? m : undefined;
  }

  /** STAT: count and octets of the messages not marked deleted. */
  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    for (const m of this.messages) {
      if (m.deleted) continue;
      count++;
      octets += m.size;
    }
    return { count, octets };
  }

  rset(): void {
    for (const m of this.messages) m.deleted = false;
  }

  /**
   * Send message n dot-stuffed through `write` (which applies backpressure),
   * after `head` (the +OK line): one write for a small message, so the
   * status line and body share a segment. bodyLines limits the body for TOP.
   */
  async send(m: MailboxEntry, head: string, write: (b: Buffer) => Promise<void>, bodyLines?: number): Promise<void> {
    try {
      return await this.sendOnce(m, head, write, bodyLines);
    } catch (e) {
      // Renamed by an IMAP session since the scan (nothing was sent yet): find it by its base name.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !(await relocate(m))) throw e;
      return this.sendOnce(m, head, write, bodyLines);
    }
  }

  private async sendOnce(m: MailboxEntry, head: string, write: (b: Buffer) => Promise<void>, bodyLines: number | undefined): Promise<void> {
    const stuffer = new DotStuffer(bodyLines);
    if (m.fileSize <= SMALL_FILE) {
      await write(stuffer.whole(head, readSmall(m)));
      return;
    }
    const fh = await open(m.path, O_READ);
    const stream = fh.createReadStream({ highWaterMark: 1 << 18 });
    await write(Buffer.from(head));
    try {
      for await (const chunk of stream) {
        const out = stuffer.push(chunk as Buffer);
        if (out.length) await write(out);
        if (stuffer.done) break;
      }
    } finally {
      stream.destroy();
    }
    await write(stuffer.end());
  }

  private readonly retrieved = new Set<MailboxEntry>();

  /**
   * After a complete RETR the message is seen. Like Dovecot, which updates
   * flags when the session ends, the move new/ → cur/ with the S flag happens
   * in flushSeen(): off the RETR path, and never for a message the session
   * deletes anyway. UIDLs don't change (they come from the base name).
   */
  seen(m: MailboxEntry): void {
    this.retrieved.add(m);
  }

  /** Apply the S flags; failures are reported, never fatal (the mail is intact). */
  async flushSeen(onError: (e: Error) => void): Promise<void> {
    for (const m of this.retrieved) {
      if (m.deleted) continue;
      await markSeen(this.dir, m).catch(onError);
    }
    this.retrieved.clear();
  }

  /** The UPDATE state (§6): remove what was marked. Returns how many could not be removed. */
  async commit(): Promise<{ removed: number; failed: number }> {
    let removed = 0;
    let failed = 0;
    for (const m of this.messages) {
      if (!m.deleted) continue;
      try {
        await removeMessage(m);
        removed++;
      } catch {
        failed++;
      }
    }
    return { removed, failed };
  }

  async close(): Promise<void> {
    await this.lock.release();
  }
}
