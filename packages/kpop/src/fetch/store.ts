/**
 * Where fetched mail goes. Each store() is durable (fsync) before it
 * returns, because the caller deletes the message on the server right
 * after: a crash between the two may duplicate a message, never lose one.
 * - Maildir: the qmail maildir(5) tmp → new delivery of ../maildir.
 * - mbox: the "mboxrd" variant (From_ line; every line matching /^>*From /
 *   gets one more '>'), appended under an exclusive lock file.
 */
import { closeSync, existsSync, fsyncSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { deliver } from '../maildir/deliver.js';
import { FetchError } from './errors.js';

export type StoreFormat = 'maildir' | 'mbox';

export interface MailStore {
  readonly format: StoreFormat;
  readonly path: string;
  store(message: Buffer): Promise<void>;
}

/** An existing regular file or a name ending in .mbox means mbox; anything else a Maildir. */
export function guessFormat(path: string): StoreFormat {
  if (/\.mbox$/i.test(path)) return 'mbox';
  return existsSync(path) && statSync(path).isFile() ? 'mbox' : 'maildir';
}

export function openStore(path: string, format: StoreFormat = guessFormat(path)): MailStore {
  if (format === 'maildir') {
    if (existsSync(path) && !statSync(path).isDirectory()) throw new FetchError('storage', `${path} is a file, not a Maildir folder: use --format mbox or another --out`);
    return {
      format,
      path,
      async store(message) {
        try {
          await deliver(path, message);
        } catch (e) {
          throw new FetchError('storage', `cannot write to the Maildir ${path}: ${(e as Error).message}`, { cause: e });
        }
      },
    };
  }
  if (existsSync(path) && !statSync(path).isFile()) throw new FetchError('storage', `${path} is a folder, not an mbox file: use --format maildir or another --out`);
  return {
    format,
    path,
    async store(message) {
      try {
        appendMbox(path, message);
      } catch (e) {
        throw new FetchError('storage', `cannot append to the mbox ${path}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}

/** asctime() format, as From_ lines carry it: "Sun Nov 29 08:07:11 2026". */
function asctime(d: Date): string {
  const s = d.toUTCString(); // "Sun, 29 Nov 2026 08:07:11 GMT"
  const [wd, day, mon, year, time] = s.replace(',', '').split(' ');
  return `${wd} ${mon} ${String(Number(day)).padStart(2, ' ')} ${time} ${year}`;
}

/** mboxrd quoting: one more '>' before any ">*From " line, so readers can undo it exactly. */
export function mboxrdBody(message: Buffer): Buffer {
  const text = message.toString('latin1');
  const quoted = text.replace(/^(>*From )/gm, '>$1');
  const withEnd = quoted.endsWith('\n') ? quoted : `${quoted}\n`;
  return Buffer.from(`${withEnd}\n`, 'latin1');
}

export function mboxEntry(message: Buffer, when = new Date()): Buffer {
  return Buffer.concat([Buffer.from(`From MAILER-DAEMON ${asctime(when)}\n`, 'latin1'), mboxrdBody(message)]);
}

function appendMbox(path: string, message: Buffer): void {
  const lock = `${path}.lock`;
  let lockFd: number | undefined;
  // The dotlock convention (mbox(5)) that mail readers honour; a short wait, then give up loudly.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      lockFd = openSync(lock, 'wx', 0o600);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > deadline) throw new Error(`${lock} exists: another program is writing the mbox (remove the lock if it is stale)`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    const fd = openSync(path, 'a', 0o600);
    try {
      writeSync(fd, mboxEntry(message));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(lockFd);
    unlinkSync(lock);
  }
}
