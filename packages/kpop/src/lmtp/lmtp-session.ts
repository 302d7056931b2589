/**
 * LMTP (RFC 2033) so that a real MTA (Postfix `lmtp:`, Exim, …) can deliver
 * into our Maildirs: LHLO, MAIL, RCPT (the local part names the mailbox),
 * DATA streamed to a spool file and then delivered to each recipient with
 * the Maildir protocol, and one reply per recipient (§4.2). A state machine:
 * GREETED → READY (after LHLO) → MAIL → RCPT → DATA → READY.
 */
import { createReadStream, createWriteStream, mkdirSync, unlink, type WriteStream } from 'node:fs';
import type { Socket } from 'node:net';
import type { AdmitHooks, ConnectionGuard } from '@kpop/common';
import { join } from 'node:path';
import { deliver, uniqueName } from '../maildir/deliver.js';
import { isValidUserName, maildirPath } from '../maildir/maildir.js';
import type { LogRecord } from '../pop3/session.js';
import { DotUnstuffer } from './unstuff.js';

export interface LmtpConfig {
  maildirRoot: string;
  hostname: string;
  maxMessageSize?: number;
  maxRecipients?: number;
  log: (r: LogRecord) => void;
}

type State = 'GREETED' | 'READY' | 'MAIL' | 'RCPT' | 'DATA';

/** RFC 5321 §4.5.3.1.4: a command line is at most 512 octets; be a little lenient. */
const MAX_LINE = 1000;

/**
 * `guard` and `hooks` come from the shared admission layer: LMTP has no
 * login, so only the command-line and idle deadlines apply (a message under
 * DATA counts a line at a time).
 */
export function handleLmtpConnection(socket: Socket, config: LmtpConfig, guard?: ConnectionGuard, hooks?: AdmitHooks): void {
  const maxSize = config.maxMessageSize ?? 100 * 1024 * 1024;
  let state: State = 'GREETED';
  let recipients: string[] = [];
  let unstuffer: DotUnstuffer | undefined;
  let spool: { path: string; stream: WriteStream; size: number } | undefined;
  const reply = (s: string): void => void socket.write(s + '\r\n');
  if (guard) {
    guard.authenticated();
    if (hooks) {
      hooks.expire = (status) => {
        // RFC 5321 §4.2.2 / 3.8: 421 before closing the channel.
        socket.end(`421 4.4.2 ${config.hostname} ${status === 'IDLE_TIMEOUT' ? 'idle too long' : 'command not finished in time'}, closing\r\n`);
      };
    }
  } else socket.setTimeout(10 * 60 * 1000, () => socket.destroy());
  socket.on('error', () => {});
  socket.on('close', () => {
    if (spool) {
      spool.stream.destroy();
      unlink(spool.path, () => {});
    }
  });

  const commands = (text: string): void => {
    const [verb = '', ...rest] = text.split(' ');
    const arg = rest.join(' ');
    switch (verb.toUpperCase()) {
      case 'LHLO':
        state = 'READY';
        recipients = [];
        return void socket.write(`250-${config.hostname}\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE ${maxSize}\r\n`);
      case 'MAIL':
        if (state !== 'READY') return reply('503 5.5.1 LHLO first, or MAIL already given');
        if (!/^FROM:\s*<[^>]*>/i.test(arg)) return reply('501 5.5.4 Syntax: MAIL FROM:<address>');
        state = 'MAIL';
        return reply('250 2.1.0 OK');
      case 'RCPT': {
        if (state !== 'MAIL' && state !== 'RCPT') return reply('503 5.5.1 MAIL first');
        const m = /^TO:\s*<([^>@]+)(?:@[^>]*)?>/i.exec(arg);
        if (!m) return reply('501 5.5.4 Syntax: RCPT TO:<user@domain>');
        const user = m[1]!;
        if (!isValidUserName(user)) return reply(`550 5.1.1 <${user}> no such mailbox`);
        if (recipients.length >= (config.maxRecipients ?? 100)) return reply('452 4.5.3 Too many recipients');
        recipients.push(user);
        state = 'RCPT';
        return reply('250 2.1.5 OK');
      }
      case 'DATA': {
        if (state !== 'RCPT') return reply('503 5.5.1 RCPT first');
        const dir = join(config.maildirRoot, '.lmtp-spool');
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const path = join(dir, uniqueName());
        spool = { path, stream: createWriteStream(path, { mode: 0o600 }), size: 0 };
        unstuffer = new DotUnstuffer();
        state = 'DATA';
        return reply('354 End data with <CR><LF>.<CR><LF>');
      }
      case 'RSET':
        if (state !== 'GREETED') state = 'READY';
        recipients = [];
        return reply('250 2.0.0 OK');
      case 'NOOP':
        return reply('250 2.0.0 OK');
      case 'QUIT':
        reply('221 2.0.0 Bye');
        return void socket.end();
      default:
        return reply('500 5.5.1 Unknown command');
    }
  };

  /** End of DATA: deliver the spool file to each recipient, one reply each. */
  const finishData = async (): Promise<void> => {
    const s = spool!;
    spool = undefined;
    await new Promise<void>((r) => s.stream.end(r));
    const tooBig = s.size > maxSize;
    for (const user of recipients) {
      if (tooBig) {
        reply(`552 5.3.4 <${user}> message too big`);
        continue;
      }
      try {
        const name = await deliver(maildirPath(config.maildirRoot, user), createReadStream(s.path));
        config.log({ event: 'lmtp-delivery', user, size: s.size, file: name });
        reply(`250 2.0.0 <${user}> delivered`);
      } catch (e) {
        config.log({ event: 'lmtp-delivery', user, ok: false, reason: (e as Error).message });
        reply(`451 4.3.0 <${user}> temporary failure, try again later`);
      }
    }
    unlink(s.path, () => {});
    recipients = [];
    state = 'READY';
  };

  let partial = Buffer.alloc(0);
  const onBytes = async (chunk: Buffer): Promise<void> => {
    if (state === 'DATA') {
      const { data, rest } = unstuffer!.push(chunk);
      spool!.size += data.length;
      if (data.length && spool!.size <= maxSize && !spool!.stream.write(data)) {
        socket.pause();
        await new Promise<void>((r) => spool!.stream.once('drain', () => r()));
        socket.resume();
      }
      if (!rest) return;
      unstuffer = undefined;
      await finishData();
      if (rest.length) await onBytes(rest);
      return;
    }
    const buf = partial.length ? Buffer.concat([partial, chunk]) : chunk;
    partial = Buffer.alloc(0);
    let pos = 0;
    while ((state as State) !== 'DATA') {
      const nl = buf.indexOf(0x0a, pos);
      if (nl === -1) {
        if (buf.length - pos > MAX_LINE) {
          reply('500 5.5.2 Line too long');
          socket.end();
          return;
        }
        partial = Buffer.from(buf.subarray(pos));
        return;
      }
      const line = buf.toString('utf8', pos, nl).replace(/\r$/, '');
      pos = nl + 1;
      if (line.length > MAX_LINE) reply('500 5.5.2 Line too long');
      else commands(line);
    }
    // Whatever followed "DATA" in this chunk is message text.
    if (pos < buf.length) await onBytes(buf.subarray(pos));
  };
  // One chunk at a time, in order, waiting for deliveries (RFC 2920 pipelining).
  const queue: Buffer[] = [];
  let running = false;
  const pump = async () => {
    if (running) return;
    running = true;
    try {
      while (queue.length) await onBytes(queue.shift()!);
    } catch (e) {
      config.log({ event: 'error', listener: 'lmtp', error: (e as Error).message });
      reply('421 4.3.0 Internal error');
      socket.destroy();
    } finally {
      running = false;
    }
  };
  socket.on('data', (c: Buffer) => {
    if (guard) {
      // A complete line is activity; bytes of an unfinished one arm the command deadline.
      const nl = c.lastIndexOf(0x0a);
      if (nl !== -1) guard.activity();
      guard.partial(nl !== c.length - 1 || (nl === -1 && c.length > 0));
    }
    queue.push(c);
    void pump();
  });
  reply(`220 ${config.hostname} LMTP kpop ready`);
}
