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

/** The first line of standard input, without its line end. */
export async function readPasswordLine(stdin: Readable): Promise<string> {
  const text = (await readAll(stdin, 64 * 1024)).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError('--pw-stdin: standard input holds no password (give one line)');
  return line;
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
