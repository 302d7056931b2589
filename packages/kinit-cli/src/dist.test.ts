/**
 * The programs as the `kinit` bin runs them: dist/bin/<name>.js built by
 * scripts/build.mjs (a loader with a V8 code cache in front of the CommonJS
 * bundle dist/lib/<name>.cjs). The other CLI tests build their own ESM
 * bundles; these check the shipped build: that it runs, that the code cache
 * is written only where it is safe and survives a damaged file, and that the
 * password is read from a pipe up to the newline only. MIT's klist checks the
 * cache our built kinit wrote.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { KINIT_USAGE } from './usage.js';
import { runAsync } from './testing/run-async.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = (name: string) => join(root, 'packages/kinit-cli/dist/bin', `${name}.js`);
const mitKlist = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'klist')).find((p) => existsSync(p));

let kdc: TestKdc;
let work: string;

beforeAll(async () => {
  // Skipped by the script itself when dist/ is newer than every source.
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
  kdc = await startTestKdc({ realm: 'DIST.TEST', principals: { alice: 'alice-pw-1' } });
  work = mkdtempSync(join(tmpdir(), 'kinit-dist-'));
}, 120_000);

afterAll(async () => {
  await kdc?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The environment of one scenario: its own ccache and cache home. */
function envFor(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { NODE_DISABLE_COMPILE_CACHE: _, ...base } = process.env;
  return { ...base, ...kdc.env, KRB5CCNAME: `FILE:${join(work, `${name}.cc`)}`, XDG_CACHE_HOME: join(work, `${name}-xdg`), ...extra };
}

const cacheDir = (env: NodeJS.ProcessEnv) => join(env.XDG_CACHE_HOME!, 'kpop-compile-cache');
const cacheFiles = (env: NodeJS.ProcessEnv) => (existsSync(cacheDir(env)) ? readdirSync(cacheDir(env)).filter((f) => f.endsWith('.v8')) : []);

describe('dist/bin programs (scripts/build.mjs)', () => {
  it('are small loaders over CommonJS bundles, with the shebang the build adds', () => {
    for (const name of ['kinit', 'klist', 'kdestroy', 'kvno', 'kswitch', 'kpasswd']) {
      expect(readFileSync(bin(name), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
      expect(existsSync(join(root, 'packages/kinit-cli/dist/lib', `${name}.cjs`))).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(root, 'packages/kinit-cli/dist/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it('kinit --help prints the usage and writes no code cache', async () => {
    const env = envFor('help');
    const r = await runAsync(process.execPath, [bin('kinit'), '--help'], env);
    expect(r).toEqual({ status: 0, stdout: KINIT_USAGE, stderr: '' });
    expect(cacheFiles(env)).toEqual([]);
  });

  it('kinit with a password: the cache MIT klist reads; the code cache is written once (0600 in a 0700 folder), then used as is', async () => {
    const env = envFor('pw');
    // An earlier build's cache of kinit goes; another program's stays.
    mkdirSync(cacheDir(env), { recursive: true, mode: 0o700 });
    writeFileSync(join(cacheDir(env), 'kinit-0000000000000000-v20.0.0-x64.v8'), 'old');
    writeFileSync(join(cacheDir(env), 'klist-0000000000000000-v20.0.0-x64.v8'), 'other');
    const first = await runAsync(process.execPath, [bin('kinit'), 'alice'], env, 'alice-pw-1\n');
    expect(first).toMatchObject({ status: 0, stdout: 'Password for alice@DIST.TEST: \n', stderr: '' });
    const [file, other] = cacheFiles(env).sort();
    expect(file).toMatch(/^kinit-[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+\.v8$/);
    expect(file).not.toBe('kinit-0000000000000000-v20.0.0-x64.v8');
    expect(other).toBe('klist-0000000000000000-v20.0.0-x64.v8');
    expect(statSync(cacheDir(env)).mode & 0o777).toBe(0o700);
    expect(statSync(join(cacheDir(env), file!)).mode & 0o777).toBe(0o600);
    const bytes = readFileSync(join(cacheDir(env), file!));

    const second = await runAsync(process.execPath, [bin('kinit'), 'alice'], env, 'alice-pw-1\n');
    expect(second.status).toBe(0);
    // Accepted by V8, so not rewritten.
    expect(readFileSync(join(cacheDir(env), file!)).equals(bytes)).toBe(true);

    const ours = await runAsync(process.execPath, [bin('klist')], env);
    expect(ours.status).toBe(0);
    expect(ours.stdout).toContain('krbtgt/DIST.TEST@DIST.TEST');
    if (mitKlist) {
      const mit = await runAsync(mitKlist, [], env);
      expect(mit.status).toBe(0);
      expect(mit.stdout).toContain('Default principal: alice@DIST.TEST');
      expect(mit.stdout).toContain('krbtgt/DIST.TEST@DIST.TEST');
    }
  });

  it('a damaged code cache is rejected by V8 and rewritten; the program runs as usual', async () => {
    const env = envFor('damaged');
    expect((await runAsync(process.execPath, [bin('kinit'), 'alice'], env, 'alice-pw-1\n')).status).toBe(0);
    const path = join(cacheDir(env), cacheFiles(env)[0]!);
    writeFileSync(path, 'not V8 code cache data');
    const r = await runAsync(process.execPath, [bin('kinit'), 'alice'], env, 'wrong\n');
    expect(r).toMatchObject({ status: 1, stderr: 'kinit: Password incorrect while getting initial credentials\n' });
    expect(readFileSync(path).toString('latin1')).not.toBe('not V8 code cache data');
  });

  it('no code cache in a folder others can write to, nor with NODE_DISABLE_COMPILE_CACHE', async () => {
    const open = envFor('open');
    mkdirSync(cacheDir(open), { recursive: true });
    chmodSync(cacheDir(open), 0o777);
    expect((await runAsync(process.execPath, [bin('kinit'), 'alice'], open, 'alice-pw-1\n')).status).toBe(0);
    expect(cacheFiles(open)).toEqual([]);

    const off = envFor('off', { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect((await runAsync(process.execPath, [bin('kinit'), 'alice'], off, 'alice-pw-1\n')).status).toBe(0);
    expect(cacheFiles(off)).toEqual([]);
  });

  it('loads node:crypto only after the first AS-REQ is sent, node:dns not at all for a KDC named by address, and no built-in for --help', async () => {
    // A preload that prints, at exit, the order in which the built-ins of interest were loaded.
    const probe = join(work, 'probe.cjs');
    writeFileSync(probe, `process.on('exit', () => require('fs').writeSync(2, 'LOADED ' + process.moduleLoadList.filter((m) => /^NativeModule (crypto|dgram|dns|cluster)$/.test(m)).map((m) => m.slice(13)).join(' ') + '\\n'));`);
    const loaded = (stderr: string) => /LOADED (.*)\n/.exec(stderr)?.[1];
    const env = envFor('order');
    const pw = await runAsync(process.execPath, ['-r', probe, bin('kinit'), 'alice'], env, 'alice-pw-1\n');
    expect(pw.status).toBe(0);
    // dgram's bind loads node:cluster: the datagram is out before node:crypto is.
    expect(loaded(pw.stderr)).toBe('dgram cluster crypto');
    const help = await runAsync(process.execPath, ['-r', probe, bin('kinit'), '--help'], env);
    expect(help.status).toBe(0);
    expect(loaded(help.stderr)).toBe('');
  });

  it('reads the password from a pipe up to the newline only: what follows stays for the next reader', async () => {
    const env = envFor('pipe');
    // The shell hands the same pipe to kinit, then to cat.
    const r = await runAsync('/bin/sh', ['-c', `"${process.execPath}" "${bin('kinit')}" alice; cat`], env, 'alice-pw-1\r\nnext line\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Password for alice@DIST.TEST: \nnext line\n');
    // Nothing at all: MIT's words.
    const none = await runAsync(process.execPath, [bin('kinit'), 'alice'], env, '');
    expect(none).toMatchObject({ status: 1, stderr: 'kinit: Pre-authentication failed: Cannot read password while getting initial credentials\n' });
  });
});
