/**
 * Maildir delivery (the qmail maildir(5) protocol): write the message under a
 * unique name in tmp/, fsync it, then rename it into new/ and fsync the
 * directory. A reader never sees a half-written message, and a crash leaves
 * at worst a stale file in tmp/.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CrlfSizeCounter } from './crlf.js';
import { ensureMaildir, MaildirError } from './maildir.js';

let counter = 0;

/** Maildir's host part: '/' and ':' may not appear, so keep it to a safe alphabet. */
function safeHost(): string {
  return (hostname() || 'localhost').replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 40);
}

/** The last name's time in microseconds: names from one process never go back or repeat a time. */
let lastMicros = 0;

/**
 * `sec.MusecPpidQnRrand.host`: unique per process, per call and per host.
 * The time part orders deliveries (POP3 and IMAP number messages by it): the
 * clock has milliseconds, so deliveries in one millisecond get successive
 * microseconds rather than random ones, which put them out of order.
 */
export function uniqueName(now = Date.now()): string {
  let micros = now * 1000;
  if (micros <= lastMicros && lastMicros - micros < 1_000_000) micros = lastMicros + 1;
  lastMicros = micros;
  const sec = Math.floor(micros / 1_000_000);
  const usec = micros % 1_000_000;
  counter = (counter + 1) % 1_000_000;
  return `${sec}.M${usec}P${process.pid}Q${counter}R${randomBytes(4).toString('hex')}.${safeHost()}`;
}

/**
 * Deliver one message into the Maildir at dir. `source` is the message bytes
 * or any async iterable of chunks (stdin, a socket). Returns the file name in
 * new/.
 */
export async function deliver(dir: string, source: Uint8Array | AsyncIterable<Uint8Array>): Promise<string> {
  await ensureMaildir(dir);
  const base = uniqueName();
  const tmpPath = join(dir, 'tmp', base);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmpPath, 'wx', 0o600);
  } catch (e) {
    throw new MaildirError(`cannot create ${tmpPath}: ${(e as Error).message}`, true, e);
  }
  const counterW = new CrlfSizeCounter();
  let bytes = 0;
  try {
    const write = async (chunk: Uint8Array) => {
      counterW.push(chunk);
      bytes += chunk.length;
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await fh!.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
    };
    if (source instanceof Uint8Array) await write(source);
    else for await (const chunk of source) await write(chunk);
    await fh!.sync();
    await fh!.close();
    fh = undefined;
    const name = `${base},S=${bytes},W=${counterW.size}`;
    await rename(tmpPath, join(dir, 'new', name));
    await syncDir(join(dir, 'new'));
    return name;
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await unlink(tmpPath).catch(() => {});
    if (e instanceof MaildirError) throw e;
    // Every I/O failure is reported as temporary: the MTA keeps the message
    // and retries (EX_TEMPFAIL), which never loses mail; a bounce would.
    throw new MaildirError(`delivery into ${dir} failed: ${(e as Error).message}`, true, e);
  }
}

async function syncDir(path: string): Promise<void> {
  const d = await open(path, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
