/**
 * Heimdal 7.8's clients (Debian's, unpacked by scripts/unpack-heimdal.sh)
 * against the real `kdc start`: kinit over UDP and TCP, then kgetcred for a
 * service 48 times. Heimdal sends its TGS nonce as a signed 32-bit INTEGER,
 * negative in about half of the runs (issue 10 item 7), so 48 runs all but
 * certainly include negative ones (the chance of none is 2^-48); each must
 * get its ticket. Skips only when the unpacked Heimdal is not there.
 *
 * The KDC and Heimdal's programs run with their clock pinned (libfaketime,
 * as test/helpers/mit-clock.ts does for MIT's): Heimdal 7.8's FILE ccache
 * keeps times as signed 32-bit numbers, so from 2038-01-19 its kinit stores a
 * TGT that ends in 1904 and kgetcred finds no usable TGT; the test must not
 * depend on today's date.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heimdal, heimdalSkipReason } from './helpers/heimdal.js';
import { atClock, hasFaketime } from './helpers/mit-clock.js';
import { clockEnv } from './helpers/mit-clock.js';

const ROOT = join(import.meta.dirname, '..');
const KDC = join(ROOT, 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
let tmp = '';
let server: ChildProcess | undefined;
let stdout = '';
let env: Record<string, string> = {};
/** Before 2038 for Heimdal's ccache (see above); each program's clock starts here when it starts. */
const AT = new Date('2026-12-05T00:00:00Z');
const PIN = { TZ: 'UTC', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
const pinned = (program: string, args: string[]): [string, string[]] => (hasFaketime ? atClock(AT, program, args) : [program, args]);

function kdc(dir: string, args: string[]): void {
  const r = spawnSync(process.execPath, [KDC, ...args, '--dir', dir], { encoding: 'utf8', env: { ...clockEnv(), PATH: process.env.PATH ?? '' }, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`kdc ${args[0]}: ${r.stderr}`);
}
function run(prog: string, args: string[], input = '', extra: Record<string, string> = {}): { code: number; out: string } {
  const [cmd, argv] = pinned(heimdal!.bin(prog), args);
  const r = spawnSync(cmd, argv, { input, encoding: 'utf8', env: { ...env, ...extra }, timeout: 30_000 });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

beforeAll(async () => {
  if (!heimdal) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  tmp = mkdtempSync(join(tmpdir(), 'kdc-heimdal-'));
  const dir = join(tmp, 'db');
  kdc(dir, ['init', '--realm', 'LAB.TEST']);
  kdc(dir, ['addprinc', 'alice', '--password', 'alice-pw']);
  kdc(dir, ['addprinc', 'pop/localhost', '--randkey']);
  const [cmd, argv] = pinned(process.execPath, [KDC, 'start', '--listen', '127.0.0.1:0', '--kpasswd-listen', 'none', '--dir', dir]);
  server = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...PIN } });
  let err = '';
  server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const end = Date.now() + 20_000;
  while (!/serving on 127\.0\.0\.1:\d+/.test(err)) {
    if (Date.now() > end) throw new Error(`kdc start did not come up: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = /serving on 127\.0\.0\.1:(\d+)/.exec(err)![1]!;
  const conf = (kdcLine: string): string => `[libdefaults]\n default_realm = LAB.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n[realms]\n LAB.TEST = {\n  kdc = ${kdcLine}\n }\n`;
  writeFileSync(join(tmp, 'krb5.conf'), conf(`127.0.0.1:${port}`));
  writeFileSync(join(tmp, 'krb5-tcp.conf'), conf(`tcp/127.0.0.1:${port}`));
  env = heimdal.env({ KRB5_CONFIG: join(tmp, 'krb5.conf'), KRB5CCNAME: `FILE:${join(tmp, 'cc')}`, ...PIN });
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Heimdal 7.8 clients against kdc start', () => {
  it.skipIf(!heimdal)('kinit over UDP and TCP; kgetcred 48 times, negative nonces included, each gets a ticket' + heimdalSkipReason, async () => {
    const tcp = run('kinit.heimdal', ['--password-file=STDIN', 'alice'], 'alice-pw\n', { KRB5_CONFIG: join(tmp, 'krb5-tcp.conf'), KRB5CCNAME: `FILE:${join(tmp, 'cc-tcp')}` });
    expect(tcp.code, tcp.out).toBe(0);
    const k = run('kinit.heimdal', ['--password-file=STDIN', 'alice'], 'alice-pw\n');
    expect(k.code, k.out).toBe(0);
    for (let i = 0; i < 48; i++) {
      const g = run('kgetcred', ['--no-store', 'pop/localhost@LAB.TEST']);
      expect(g.code, `run ${i}: ${g.out}`).toBe(0);
    }
    const g = run('kgetcred', ['pop/localhost@LAB.TEST']);
    expect(g.code, g.out).toBe(0);
    const klist = run('heimtools', ['klist']);
    expect(klist.out).toContain('pop/localhost@LAB.TEST');
    expect(klist.out).toContain('alice@LAB.TEST');
    // Let the server's log lines arrive; none is a GENERIC (the old nonce refusal).
    const end = Date.now() + 5000;
    while ((stdout.match(/"msg":"TGS_REQ"/g) ?? []).length < 49 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const tgs = stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; status: string; transport: string }).filter((r) => r.msg === 'TGS_REQ');
    expect(tgs).toHaveLength(49);
    expect(tgs.every((r) => r.status === 'ISSUE')).toBe(true);
    expect(stdout).toContain('"transport":"tcp"');
  }, 120_000);
});
