import { describe, expect, it, afterEach } from 'vitest';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDate, parseEnctypes, parseLifetime, parseListen, UsageError } from './parse.js';
import { formatDate, formatDuration } from './format.js';
import { runKdcCli } from './cli.js';
import { openDatabase } from '../db/index.js';
import type { CliIo } from './commands.js';

describe('values', () => {
  it('lifetimes in MIT forms', () => {
    expect(parseLifetime('--max-life', '10h')).toBe(36000);
    expect(parseLifetime('--max-life', '1d')).toBe(86400);
    expect(parseLifetime('--max-life', '30m')).toBe(1800);
    expect(parseLifetime('--max-life', '3600')).toBe(3600);
    expect(parseLifetime('--max-life', '1d2h')).toBe(93600);
    expect(parseLifetime('--max-life', '1d 2h30m')).toBe(95400);
    expect(parseLifetime('--max-life', '2:30:15')).toBe(9015);
    expect(parseLifetime('--max-life', '0')).toBe(0);
    for (const bad of ['', 'x', '-1h', '1h1d', '10q', '99999999999999']) expect(() => parseLifetime('--max-life', bad)).toThrow(UsageError);
  });

  it('dates', () => {
    const now = new Date('2026-11-29T06:00:00Z');
    expect(parseDate('--expire', 'never', now)).toBeNull();
    expect(parseDate('--expire', 'now', now)).toEqual(now);
    expect(parseDate('--expire', '+30d', now)).toEqual(new Date('2026-12-29T06:00:00Z'));
    expect(parseDate('--expire', 'now + 1h', now)).toEqual(new Date('2026-11-29T07:00:00Z'));
    expect(parseDate('--expire', '2030-01-01', now)).toEqual(new Date('2030-01-01T00:00:00Z'));
    expect(parseDate('--expire', '2030-01-01T12:30:00Z', now)).toEqual(new Date('2030-01-01T12:30:00Z'));
    expect(parseDate('--expire', '20300101123000Z', now)).toEqual(new Date('2030-01-01T12:30:00Z'));
    for (const bad of ['tomorrow-ish', '2030-13-45', '+', '+x']) expect(() => parseDate('--expire', bad, now)).toThrow(UsageError);
  });

  it('enctype lists as krb5.conf and kadmin write them; unknown names are errors', () => {
    expect(parseEnctypes('aes256-cts,aes128-cts')).toEqual([18, 17]);
    expect(parseEnctypes('aes-sha2')).toEqual([20, 19]);
    expect(parseEnctypes('aes256-cts-hmac-sha1-96:normal aes256-sha2:normal')).toEqual([18, 20]);
    expect(parseEnctypes('DEFAULT -aes128-sha2')).toEqual([18, 17, 20]);
    expect(() => parseEnctypes('des-cbc-crc')).toThrow(/not a supported enctype/);
    expect(() => parseEnctypes('aes256-cts:afs3')).toThrow(/salt type "afs3"/);
    expect(() => parseEnctypes('aes -aes')).toThrow(/leaves no enctype/);
  });

  it('listen addresses', () => {
    expect(parseListen('127.0.0.1:88')).toEqual({ host: '127.0.0.1', port: 88 });
    expect(parseListen('0.0.0.0')).toEqual({ host: '0.0.0.0', port: 88 });
    expect(parseListen('[::1]:8888')).toEqual({ host: '::1', port: 8888 });
    for (const bad of ['127.0.0.1:99999', ':88', '127.0.0.1:x', '::1:88']) expect(() => parseListen(bad)).toThrow(UsageError);
  });

  it('kadmin-style durations and dates', () => {
    expect(formatDuration(36000)).toBe('10:00:00');
    expect(formatDuration(86400)).toBe('1 day 00:00:00');
    expect(formatDuration(604800 + 3661)).toBe('7 days 01:01:01');
    expect(formatDate(new Date('2026-11-29T06:11:57Z'))).toBe('Sun Nov 29 06:11:57 UTC 2026');
    expect(formatDate(undefined)).toBe('[never]');
  });
});

/** A fake terminal: stdin that reports isTTY and takes keystrokes. */
function fakeIo(keys: string[] | undefined): CliIo & { out: () => string; err: () => string; raw: boolean[] } {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?(m: boolean): void };
  const raw: boolean[] = [];
  if (keys) {
    stdin.isTTY = true;
    stdin.setRawMode = (m: boolean) => {
      raw.push(m);
      // Type the next answer once the prompt has switched echo off.
      if (m) setImmediate(() => stdin.write(keys.shift() ?? '\u0004'));
    };
  } else stdin.end();
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdin, stdout, stderr, env: {}, out: () => out, err: () => err, raw };
}

describe('passwords on a terminal', () => {
  let tmp: string | undefined;
  afterEach(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('asks twice with echo off; a mismatch changes nothing; the password never reaches the output', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kdc-cli-'));
    const dir = join(tmp, 'db');
    expect(await runKdcCli(['init', '-r', 'LAB.TEST', '-d', dir], fakeIo(undefined))).toBe(0);

    const mismatch = fakeIo(['alice-pw-1\r', 'alice-pw-X\r']);
    expect(await runKdcCli(['addprinc', 'alice', '-d', dir], mismatch)).toBe(2);
    expect(mismatch.err()).toBe('Enter password for principal "alice@LAB.TEST": \nRe-enter password for principal "alice@LAB.TEST": \nkdc addprinc: the two passwords do not match; nothing was changed\n');
    expect(mismatch.raw).toEqual([true, false, true, false]);

    const good = fakeIo(['alice-pw-1\r', 'alice-pw-X\u007f1\n']);
    expect(await runKdcCli(['addprinc', 'alice', '-d', dir], good)).toBe(0);
    expect(good.out()).toBe('Principal "alice@LAB.TEST" created.\n');
    expect(good.err() + good.out()).not.toContain('alice-pw');
    const db = openDatabase(dir);
    expect(Buffer.from(db.getPrincipal('alice')!.keys[0]!.key).toString('hex')).toBe('7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a');
    db.close();

    const cancelled = fakeIo(['\u0003']);
    expect(await runKdcCli(['cpw', 'alice', '-d', dir], cancelled)).toBe(2);
    expect(cancelled.err()).toMatch(/kdc cpw: cancelled\n$/);
  });
});
