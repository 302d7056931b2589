/**
 * What every CLI shares: its streams and environment (injectable, so tests
 * can run a program in-process), reading a password as MIT's
 * krb5_prompter_posix does (from the terminal without echo, else a line of
 * standard input), and the outer wrapper that turns any failure into one
 * line on stderr and an exit status — never a stack trace.
 */
import { fstatSync, readSync, writeSync } from 'node:fs';
import { UsageError } from './getopt.js';
import { errorText } from './messages.js';

export interface CliIo {
  argv: string[];
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
  /** Prints the prompt and reads one line without echo. */
  readPassword(prompt: string): Promise<string>;
}

/** Ends a program with a status; the message (if any) is printed as "prog: message". */
export class CliExit extends Error {
  constructor(
    readonly status: number,
    message = '',
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** Longest password line accepted from a non-terminal stdin (MIT's prompter reads into a fixed buffer too). */
const MAX_PASSWORD_LINE = 64 * 1024;

/**
 * Read one line from a non-terminal stdin, a byte at a time with read(2) on
 * fd 0, stopping at the newline: the rest stays unread for whoever reads
 * next, and node's stdin stream (fs.ReadStream or net.Socket, with the
 * modules behind them: several ms at start-up) is never created. A
 * non-blocking fd (EAGAIN) falls back to the stream, keeping what was read.
 */
function readLineFromStdin(): Promise<string> {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, one, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return readLineFromStdinStream(Buffer.from(bytes));
      return Promise.reject(new CliExit(1, 'Cannot read password'));
    }
    if (n === 0) break;
    if (one[0] === 0x0a) return Promise.resolve(lineText(bytes));
    if (bytes.length >= MAX_PASSWORD_LINE) return Promise.reject(new CliExit(1, 'Cannot read password'));
    bytes.push(one[0]!);
  }
  return bytes.length ? Promise.resolve(lineText(bytes)) : Promise.reject(new CliExit(1, 'Cannot read password'));
}

function lineText(bytes: number[]): string {
  return Buffer.from(bytes).toString('utf8').replace(/\r$/, '');
}

/** The same through node's stdin stream, for a non-blocking fd 0. */
function readLineFromStdinStream(prefix: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let buf = prefix;
    const done = (line: string | undefined) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      if (line === undefined) reject(new CliExit(1, 'Cannot read password'));
      else resolve(line);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl >= 0) done(lineText([...buf.subarray(0, nl)]));
      else if (buf.length > MAX_PASSWORD_LINE) done(undefined);
    };
    const onEnd = () => done(buf.length ? lineText([...buf]) : undefined);
    const onError = () => done(undefined);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}

/** Raw-mode terminal read: no echo; Enter ends, Backspace edits, Ctrl-C / Ctrl-D abort. */
function readLineFromTty(): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let line = '';
    stdin.setRawMode(true);
    const finish = (ok: boolean) => {
      stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      process.stdout.write('\n');
      if (ok) resolve(line);
      else reject(new CliExit(1, 'Cannot read password'));
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(true);
        if (ch === '\u0003' || ch === '\u0004') return finish(false);
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/**
 * Write to fd 1 or 2 with write(2), as MIT's programs do, instead of through
 * process.stdout/stderr: creating those streams loads node:tty, node:net
 * and the stream modules (about 3 ms of a kinit's start-up). A non-blocking
 * fd (EAGAIN) goes through the stream, from the first byte not yet written;
 * a closed reader (EPIPE) loses the text, as it would anyway.
 */
function writeFd(fd: 1 | 2, text: string): void {
  const data = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    (fd === 1 ? process.stdout : process.stderr).write(data.subarray(off));
  }
}

/** isatty(0) without loading node:tty (and node:net behind it) unless fd 0 is a character device. */
function stdinIsTty(): boolean {
  try {
    if (!fstatSync(0).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return process.getBuiltinModule('node:tty').isatty(0);
}

export function processIo(): CliIo {
  return {
    argv: process.argv.slice(2),
    env: process.env,
    out: (t) => writeFd(1, t),
    err: (t) => writeFd(2, t),
    readPassword: async (prompt) => {
      writeFd(1, prompt);
      // Not process.stdin.isTTY: that creates the stdin stream.
      if (stdinIsTty()) return readLineFromTty();
      try {
        return await readLineFromStdin();
      } finally {
        // MIT ends the prompt line itself, since nothing was echoed (also when nothing could be read).
        writeFd(1, '\n');
      }
    },
  };
}

/**
 * Run a program's main and return its exit status. UsageError prints the
 * message and the usage text (status `usageStatus`); CliExit prints its
 * message; anything else prints "prog: <MIT text>" with status 1.
 */
export async function runProgram(prog: string, usage: string, usageStatus: number, io: CliIo, main: (io: CliIo) => Promise<number>): Promise<number> {
  try {
    return await main(io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(e.message ? `${e.message}\n${usage}` : usage);
      return usageStatus;
    }
    if (e instanceof CliExit) {
      if (e.message) io.err(`${prog}: ${e.message}\n`);
      return e.status;
    }
    io.err(`${prog}: ${errorText(e).split('\n')[0]}\n`);
    return 1;
  }
}

/** Entry point for a bin: run, then exit with the status once output is flushed. */
export function startProgram(prog: string, usage: string, usageStatus: number, main: (io: CliIo) => Promise<number>): void {
  runProgram(prog, usage, usageStatus, processIo(), main).then(
    (status) => {
      process.exitCode = status;
      // Sockets or stdin left open must not keep a finished program alive.
      setImmediate(() => process.exit(status));
    },
    () => process.exit(1),
  );
}
