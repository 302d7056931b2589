/**
 * File plumbing shared by keytabs and ccaches: atomic replacement with mode
 * 0600, reads that turn "no such file" into a typed error, and reads retried
 * while another program is still writing the file.
 *
 * Why rename: MIT serialises writers with fcntl() locks, which Node cannot
 * take. Writing a temporary file in the same directory and renaming it over
 * the target means a reader (ours or MIT's) sees either the old file or the
 * new one, never a half-written one (rename(2) is atomic within a file system).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KrbError, ErrorCode } from '../krb5/errors.js';
import { FileFormatError, FileNotFoundError } from './binary.js';

/** Read a whole file; ENOENT becomes FileNotFoundError naming `what`. */
export function readWholeFile(file: string, what: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileNotFoundError(file, what, e);
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Cannot read ${what} '${file}': ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Read and parse a file another program may be writing at this moment (an
 * MIT tool appends to keytabs and ccaches in place): a parse that ends
 * mid-record (FileFormatError.truncated) is read again up to three times,
 * 10, 20 and 30 ms later; any other error, or a fourth truncation, is thrown.
 */
export function readParsed<T>(file: string, what: string, parse: (bytes: Uint8Array, file: string) => T): T {
  for (let attempt = 0; ; attempt++) {
    const bytes = readWholeFile(file, what);
    try {
      return parse(bytes, file);
    } catch (e) {
      if (!(e instanceof FileFormatError && e.truncated) || attempt >= 3) throw e;
      sleepSync(10 * (attempt + 1));
    }
  }
}

/**
 * Write `data` to `file` atomically with mode 0600 (keys and tickets are
 * secrets). A symbolic link at `file` is followed, so the link survives and
 * its target is what gets replaced, as with MIT's in-place writes.
 *
 * `fsync: false` skips flushing the data to disk before the rename: the
 * rename still makes the write atomic for readers, and only a machine crash
 * can leave an empty file. Credential caches are written that way, as MIT's
 * kinit writes them (temporary file and rename, no fsync: a lost cache costs
 * one kinit), since an fsync can take longer than the whole kinit on a busy
 * disk; keytabs (long-lived keys) keep the default.
 */
export function writeFileAtomic(file: string, data: Uint8Array, what: string, opts: { fsync?: boolean } = {}): void {
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch {
    // Not there yet (or a dangling link): create the name as given.
  }
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    // 'wx': never reuse a file someone planted at the temporary name.
    fd = fs.openSync(tmp, 'wx', 0o600);
    fs.fchmodSync(fd, 0o600); // the umask may have cleared bits we want; 0600 exactly
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    if (opts.fsync !== false) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Cannot write ${what} '${file}': ${(e as Error).message}`, { cause: e });
  }
}

/** Block the thread briefly (used between retries of a read that raced a writer). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
