/**
 * Where the CLI gets secrets: a --password value, one line of standard input
 * (--pw-stdin), or a prompt on the terminal with echo off, asked twice. A
 * secret is never written anywhere but to the database as keys.
 */
import type { Readable, Writable } from 'node:stream';
import { UsageError } from './parse.js';

export interface Terminal {
  stdin: Readable & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stderr: Writable;
}

/** All of standard input (bounded), for --pw-stdin and `load -`. */
export async function readAll(stdin: Readable, limit = 256 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limit) throw new UsageError(`standard input is over ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/**
 * The first line of standard input, without its line end. Reading stops at
 * the first newline, so that a person typing at a terminal is not left
 * waiting for end-of-file.
 */
export function readPasswordLine(stdin: Readable, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (err?: Error): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      if (err) return reject(err);
      const line = text.split(/\r?\n/)[0] ?? '';
      if (line === '') reject(new UsageError('--pw-stdin: standard input holds no password (give one line)'));
      else resolve(line);
    };
    const onData = (c: Buffer | string): void => {
      text += c.toString();
      if (text.includes('\n')) finish();
      else if (text.length > limit) finish(new UsageError(`--pw-stdin: no line end in the first ${limit} bytes`));
    };
    const onEnd = (): void => finish();
    const onError = (e: Error): void => finish(e);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    if (stdin.readableEnded) finish();
    else stdin.resume();
  });
}

/** One line typed on the terminal with echo off. Ctrl-C or Ctrl-D cancel. */
export function promptHidden(term: Terminal, prompt: string): Promise<string> {
  const { stdin, stderr } = term;
  if (!stdin.isTTY || stdin.setRawMode === undefined) return Promise.reject(new UsageError('no terminal to ask for a password on'));
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err: Error | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const c of chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') return done(undefined);
        if (c === '\u0003' || c === '\u0004') return done(new UsageError('cancelled'));
        if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
        else if (c >= ' ') value += c;
      }
    };
    stdin.setRawMode!(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** Asks twice, as kadmin does ("Enter password for principal ...", "Re-enter ..."). */
export async function promptNewPassword(term: Terminal, what: string): Promise<string> {
  const first = await promptHidden(term, `Enter ${what}: `);
  const second = await promptHidden(term, `Re-enter ${what}: `);
  if (first !== second) throw new UsageError(`the two ${what.replace(/ for .*/, '')}s do not match; nothing was changed`);
  if (first === '') throw new UsageError(`empty ${what.replace(/ for .*/, '')}; nothing was changed`);
  return first;
}
