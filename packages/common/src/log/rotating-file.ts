/**
 * A log file with a bound: when the next write would take it past maxBytes,
 * FILE becomes FILE.1 (FILE.1 → FILE.2 …, the oldest beyond `keep` goes)
 * and a new FILE starts, so a busy server holds at most (keep + 1) × maxBytes
 * of log. reopen() closes and opens FILE again, for logrotate's default
 * "move, then SIGHUP" (its copytruncate mode needs nothing from us).
 *
 * Why rotation and not rate-limiting: a log that drops lines under load
 * drops the ones an operator needs most (the burst); rotation keeps every
 * recent line and bounds the disk. The writes are synchronous (the callers
 * batch lines), and an error (full disk, removed folder) drops the batch
 * rather than stop the server; `dropped` counts those bytes.
 */
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Where batched log lines go. */
export interface LogSink {
  write(bytes: Uint8Array): void;
}

export interface RotatingFileOptions {
  /** Rotate before a write would pass this many bytes; 0: never rotate. */
  maxBytes: number;
  /** Rotated files kept (FILE.1 … FILE.keep); 0 keeps none (FILE starts again empty). */
  keep: number;
  /** Mode of a new file (default 0600: logs name users and addresses). */
  mode?: number;
}

export class RotatingFile implements LogSink {
  private fd: number;
  private size: number;
  /** Files rotated so far. */
  rotations = 0;
  /** Bytes that could not be written. */
  dropped = 0;

  constructor(readonly path: string, private readonly opts: RotatingFileOptions) {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0) throw new RangeError(`log size cap must be a whole number of bytes, got ${opts.maxBytes}`);
    if (!Number.isSafeInteger(opts.keep) || opts.keep < 0 || opts.keep > 1000) throw new RangeError(`log keep count must be 0 to 1000, got ${opts.keep}`);
    this.fd = this.open();
    this.size = fstatSync(this.fd).size;
  }

  /**
   * Writes whole lines: a batch that would pass the cap is split after the
   * last newline that fits, the file rotates, and the rest goes on in the
   * new file. Only a single line longer than the cap makes a file pass it.
   */
  write(bytes: Uint8Array): void {
    const max = this.opts.maxBytes;
    let off = 0;
    try {
      if (this.fd < 0 && bytes.length > 0) this.reopen();
      while (off < bytes.length) {
        let end = bytes.length;
        if (max > 0 && this.size + (end - off) > max) {
          const room = max - this.size;
          const nl = room > 0 ? bytes.lastIndexOf(0x0a, off + room - 1) : -1;
          if (nl >= off) end = nl + 1;
          else if (this.size > 0) {
            this.rotate();
            continue;
          } else {
            // One line longer than the cap, in an empty file: it goes whole.
            const first = bytes.indexOf(0x0a, off);
            end = first < 0 ? bytes.length : first + 1;
          }
        }
        this.writeAll(bytes, off, end);
        off = end;
      }
    } catch {
      this.dropped += bytes.length - off;
    }
  }

  private writeAll(bytes: Uint8Array, from: number, to: number): void {
    for (let at = from; at < to; ) at += writeSync(this.fd, bytes, at, to - at);
    this.size += to - from;
  }

  /** Close and open FILE again (after logrotate moved it away). */
  reopen(): void {
    this.closeFd();
    this.fd = this.open();
    this.size = fstatSync(this.fd).size;
  }

  close(): void {
    this.closeFd();
  }

  /** FILE → FILE.1 → … → FILE.keep; the one past keep is removed. */
  private rotate(): void {
    this.closeFd();
    const { keep } = this.opts;
    if (keep === 0) rmSync(this.path, { force: true });
    else {
      for (let i = keep - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      renameSync(this.path, `${this.path}.1`);
    }
    this.rotations++;
    this.fd = this.open();
    this.size = 0;
  }

  private open(): number {
    return openSync(this.path, 'a', this.opts.mode ?? 0o600);
  }

  private closeFd(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // Already gone.
      }
    }
    this.fd = -1;
  }
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "64M", "512K", "1G", "1000000" (bytes); 0 turns rotation off. Throws a one-line RangeError. */
export function parseLogSize(text: string, flag = '--log-max-size'): number {
  const m = /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new RangeError(`${flag} must be a size such as 64M, 512K or 1G, got "${text}"`);
  const n = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(n)) throw new RangeError(`${flag} ${text} is too large`);
  return n;
}

/** A kept-file count, 0 to 1000. */
export function parseLogKeep(text: string, flag = '--log-keep'): number {
  if (!/^\d{1,4}$/.test(text.trim()) || Number(text) > 1000) throw new RangeError(`${flag} must be a count from 0 to 1000, got "${text}"`);
  return Number(text);
}
