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
 * with a size cap and kept files, reopened on SIGHUP). capacity bounds one
 * write(2): several processes writing whole lines to one pipe (`kdc start
 * --workers`) need writes of at most PIPE_BUF (4096 bytes on Linux), which
 * the kernel never interleaves.
 */
export function batchedFdLogger(fd: number | LogSink, flushMs = 100, capacity = 65536): KdcLogger & { flush(): void } {
  // Lines go into one byte buffer at once, not into an array of strings: a
  // string waiting up to flushMs outlives a young-generation collection or
  // two and gets copied and promoted, for every request.
  const CAPACITY = capacity;
  const pending = Buffer.allocUnsafe(CAPACITY);
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const write = (bytes: Uint8Array): void => {
    if (typeof fd !== 'number') return fd.write(bytes);
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch {
      // A closed or full log must not take the KDC down: the lines are dropped.
    }
  };
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (size === 0) return;
    const n = size;
    size = 0;
    write(pending.subarray(0, n));
  };
  process.once('exit', flush);
  const log = ((record: Record<string, unknown>) => {
    // The usual record (plain ASCII names, numbers) goes straight into the buffer as bytes.
    if (CAPACITY - size < FAST_ROOM) flush();
    const end = jsonLineInto(record, pending, size, CAPACITY);
    if (end >= 0) {
      size = end;
      if (size >= CAPACITY / 2) flush();
      else if (!timer) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
      return;
    }
    // jsonLine: JSON.stringify leaves DEL, C1 and bidi controls raw; a terminal tailing the log must not act on them.
    const line = jsonLine(record) + '\n';
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const worst = line.length * 3;
    if (size + worst > CAPACITY) flush();
    if (worst > CAPACITY) {
      write(Buffer.from(line));
      return;
    }
    size += pending.write(line, size);
    if (size >= CAPACITY / 2) flush();
    else if (!timer) {
      timer = setTimeout(flush, flushMs);
      timer.unref();
    }
  }) as KdcLogger & { flush(): void };
  log.flush = flush;
  return log;
}

/** Room kept free for a request record written in place (one is 300-600 bytes). */
const FAST_ROOM = 2048;

/** The default logger: one JSON line per request on stdout (batched writes). */
export const stdoutLogger: KdcLogger & { flush(): void } = batchedFdLogger(1);
