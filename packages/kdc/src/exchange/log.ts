/**
 * One JSON log record per request (MIT logs one syslog line per request:
 * "AS_REQ (etypes) addr: ISSUE: authtime N, etypes {rep=…, tkt=…, ses=…},
 * cname for sname"). Never a key, a password or any other secret: only
 * names, numbers and the status token.
 */
import { writeSync } from 'node:fs';
import { formatPrincipalName, jsonLine, jsonLineInto, type LogSink } from '@kpop/common';
import type { RequestInfo } from './context.js';

/** Characters formatPrincipalName leaves as they are. */
const PLAIN = /^[A-Za-z0-9._+=-]*$/;

export type KdcLogger = (record: Record<string, unknown>) => void;

// info.now is whole seconds, and a busy KDC logs many requests in each: format each second once.
let isoMs = NaN;
let isoText = '';
function isoTime(d: Date): string {
  const ms = d.getTime();
  if (ms !== isoMs) {
    isoText = d.toISOString();
    isoMs = ms;
  }
  return isoText;
}

export function logRecord(info: RequestInfo, micros: number, replyBytes: number): Record<string, unknown> {
  const r: Record<string, unknown> = {
    time: isoTime(info.now),
    from: info.origin.address !== undefined ? `${info.origin.address}:${info.origin.port ?? ''}` : info.origin.transport,
    transport: info.origin.transport,
    msg: info.msgType ?? 'UNKNOWN',
  };
  if (info.cname) r.cname = `${safeName(info.cname.nameString)}@${info.crealm ?? info.realm ?? ''}`;
  if (info.sname) r.sname = `${safeName(info.sname.nameString)}@${info.realm ?? ''}`;
  if (info.reqEtypes) r.reqEtypes = info.reqEtypes.slice(0, 16);
  if (info.replyEtype !== undefined) r.repEtype = info.replyEtype;
  if (info.ticketEtype !== undefined) r.tktEtype = info.ticketEtype;
  if (info.sessionEtype !== undefined) r.sesEtype = info.sessionEtype;
  if (info.authtime) r.authtime = Math.floor(info.authtime.getTime() / 1000);
  r.status = info.status ?? 'ISSUE';
  r.code = info.code ?? 0;
  if (info.detail) r.detail = info.detail;
  r.bytes = replyBytes;
  r.us = Math.round(micros);
  return r;
}

/** Names come from the wire: cap their length so a hostile name can't flood the log. */
function safeName(parts: readonly string[]): string {
  // The common case, plain short components, needs no escaping and no copies.
  if (parts.length <= 8) {
    let plain = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.length > 64 || !PLAIN.test(p)) {
        plain = '';
        break;
      }
      plain = i === 0 ? p : plain + '/' + p;
    }
    if (plain !== '' || parts.length === 0) return plain;
  }
  const s = formatPrincipalName({ nameType: 0, nameString: parts.slice(0, 8).map((p) => p.slice(0, 256)) });
  return s.length > 512 ? s.slice(0, 512) + '…' : s;
}

/**
 * A logger writing one JSON line per record to a file descriptor, in batches:
 * lines are gathered and written with one write(2) per 32 KiB or per 100 ms,
 * as a syscall per request costs more than the request's crypto on some VMs.
 * Whatever is pending is written synchronously when the process exits.
 * The target is a file descriptor or a sink such as a RotatingFile (a log
 * with a size cap and kept files, reopened on SIGHUP).
 *
 * maxWrite bounds one write(2), cut at a line's end: several processes
 * writing whole lines to one pipe (`kdc start --workers`) need writes of at
 * most PIPE_BUF (4096 bytes on Linux), which the kernel never interleaves.
 *
 * A pipe whose reader is slow fills, and a non-blocking one (stdout is, once
 * Node has opened it, for every process sharing it) then refuses writes
 * with EAGAIN: the lines stay in the buffer and are tried again every 10 ms,
 * never blocking a request. Only when the buffer (64 KiB) is full are new
 * lines dropped, and their number is logged in a LOG_DROPPED record as soon
 * as the log takes lines again: nothing is lost without a word.
 */
export function batchedFdLogger(fd: number | LogSink, flushMs = 100, maxWrite = 65536): KdcLogger & { flush(): void } {
  // Lines go into one byte buffer at once, not into an array of strings: a
  // string waiting up to flushMs outlives a young-generation collection or
  // two and gets copied and promoted, for every request.
  const CAPACITY = 65536;
  const pending = Buffer.allocUnsafe(CAPACITY);
  let size = 0;
  /** Lines dropped since the last LOG_DROPPED record (the buffer was full while the log refused writes). */
  let dropped = 0;
  /** The log refused the last write (EAGAIN): retry on a timer, not on every record. */
  let blocked = false;
  let timer: NodeJS.Timeout | undefined;

  /**
   * Writes buf[from, to) as far as the target takes it, at most maxWrite
   * bytes a write(2) cut at line ends (a single longer line goes whole);
   * returns where it stopped. EAGAIN stops it (blocked); any other error
   * (EPIPE, EBADF, a full disk) must not take the KDC down: the bytes count
   * as written, i.e. dropped.
   */
  const writeOut = (buf: Buffer, from: number, to: number): number => {
    if (typeof fd !== 'number') {
      if (to > from) fd.write(buf.subarray(from, to));
      return to;
    }
    let off = from;
    try {
      while (off < to) {
        let end = to;
        if (end - off > maxWrite) {
          const nl = buf.lastIndexOf(0x0a, off + maxWrite - 1);
          end = nl >= off ? nl + 1 : to;
        }
        off += writeSync(fd, buf, off, end - off);
      }
      blocked = false;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      blocked = code === 'EAGAIN' || code === 'EWOULDBLOCK';
      if (!blocked) off = to;
    }
    return off;
  };
  /** Writes what is pending as far as the target takes it; keeps the rest, in order. */
  const drain = (): void => {
    const off = writeOut(pending, 0, size);
    if (off >= size) size = 0;
    else if (off > 0) {
      pending.copyWithin(0, off, size);
      size -= off;
    }
  };
  const schedule = (ms: number): void => {
    if (timer) return;
    timer = setTimeout(flush, ms);
    timer.unref();
  };
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    drain();
    if (dropped > 0 && !blocked && CAPACITY - size >= 256) {
      size = jsonLineInto({ time: new Date().toISOString(), msg: 'LOG_DROPPED', status: 'LOG_DROPPED', lines: dropped }, pending, size, CAPACITY);
      dropped = 0;
      drain();
    }
    if (size > 0 || dropped > 0) schedule(blocked ? RETRY_MS : flushMs);
  };
  process.once('exit', () => {
    // The last lines: a reader that is only slow gets a few seconds to take them.
    const until = Date.now() + 2000;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    flush();
    while ((size > 0 || dropped > 0) && blocked && Date.now() < until) {
      Atomics.wait(nap, 0, 0, RETRY_MS);
      flush();
    }
  });
  /** Room for `n` more bytes, writing what is pending if need be; false when the log refuses them. */
  const room = (n: number): boolean => {
    if (CAPACITY - size >= n) return true;
    if (!blocked) flush();
    return CAPACITY - size >= n;
  };
  const added = (): void => {
    if (size >= CAPACITY / 2 && !blocked) flush();
    else schedule(blocked ? RETRY_MS : flushMs);
  };
  const log = ((record: Record<string, unknown>) => {
    // The usual record (plain ASCII names, numbers) goes straight into the buffer as bytes.
    if (!room(FAST_ROOM)) {
      dropped++;
      return;
    }
    const end = jsonLineInto(record, pending, size, CAPACITY);
    if (end >= 0) {
      size = end;
      added();
      return;
    }
    // jsonLine: JSON.stringify leaves DEL, C1 and bidi controls raw; a terminal tailing the log must not act on them.
    const line = jsonLine(record) + '\n';
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const worst = line.length * 3;
    if (worst > CAPACITY) {
      // Larger than the buffer: written on its own, after what is pending.
      flush();
      if (size > 0 || blocked) {
        dropped++;
        return;
      }
      const bytes = Buffer.from(line);
      if (writeOut(bytes, 0, bytes.length) < bytes.length) dropped++;
      return;
    }
    if (!room(worst)) {
      dropped++;
      return;
    }
    size += pending.write(line, size);
    added();
  }) as KdcLogger & { flush(): void };
  log.flush = flush;
  return log;
}

/** How soon a write the log refused (EAGAIN) is tried again, in ms. */
const RETRY_MS = 10;

/** Room kept free for a request record written in place (one is 300-600 bytes). */
const FAST_ROOM = 2048;

/** The default logger: one JSON line per request on stdout (batched writes). */
export const stdoutLogger: KdcLogger & { flush(): void } = batchedFdLogger(1);
