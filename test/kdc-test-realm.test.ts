/**
 * `kdc test-realm` as a test suite in another language uses it: the built
 * program (packages/kdc/dist/bin/kdc.js) in a child process, one JSON line on
 * stdout, MIT's kinit/kvno/klist against the realm it describes, and its
 * folder gone after SIGTERM, SIGINT or the end of its standard input. The
 * README's two examples (examples/test-realm: a pytest fixture and a bash
 * script) run as they are, with `kdc` on PATH.
 */
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync } from '../packages/kinit-cli/src/testing/run-async.js';
import { findProgram, hasMitClients } from './helpers/mit-realm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kdcBin = join(root, 'packages/kdc/dist/bin/kdc.js');
const examples = join(root, 'examples/test-realm');
const mitSkip = hasMitClients ? '' : ' (skipped: MIT kinit/klist/kvno not installed: apt-get install krb5-user)';
// Debian's python3 (CI installs python3-pytest), else the first on PATH; found before `kdc`'s folder and this node's go in front of PATH.
const python3 = ['/usr/bin/python3', findProgram('python3')].find((p) => p !== undefined && spawnSync(p, ['-c', 'import pytest'], { stdio: 'ignore' }).status === 0);
const hasPytest = python3 !== undefined;

let work: string;
/** PATH with a `kdc` command (the built program) and this node first, as after `npm install @kpop/kdc`. */
let pathWithKdc: string;

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
  work = mkdtempSync(join(tmpdir(), 'kdc-test-realm-'));
  const bin = join(work, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'kdc'), `#!/bin/sh\nexec "${process.execPath}" "${kdcBin}" "$@"\n`);
  chmodSync(join(bin, 'kdc'), 0o755);
  pathWithKdc = [bin, dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Realm {
  child: ChildProcessWithoutNullStreams;
  info: {
    realm: string; kdc: string; krb5_conf: string; dir: string; ccache: string; keytab?: string; pid: number;
    principals: Record<string, { principal: string; password?: string; keytab?: string }>;
    env: Record<string, string>;
  };
  /** All of stdout and stderr, and the exit status, once the process has ended. */
  exited: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startRealm(args: string[]): Promise<Realm> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [kdcBin, 'test-realm', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) =>
      child.on('close', (status, signal) => res({ status, signal, stdout, stderr })));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no ready line in 30 s: ${stderr}`)); }, 30_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (nl >= 0 && stdout.length - d.length <= nl) {
        clearTimeout(timer);
        resolve({ child, info: JSON.parse(stdout.slice(0, nl)) as Realm['info'], exited });
      }
    });
    child.on('close', (status) => { clearTimeout(timer); reject(new Error(`exited ${status} before its ready line: ${stderr}`)); });
  });
}

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  }).on('error', reject);
});

describe('kdc test-realm', () => {
  it(`prints one JSON line; MIT kinit gets tickets with the password and the keytab; SIGTERM removes the folder${mitSkip}`, async () => {
    const r = await startRealm(['--realm', 'HARNESS.TEST', '--principal', 'alice:pw:with:colons', '--principal', 'bob', '--service', 'HTTP/localhost']);
    const { info } = r;
    try {
      expect(info.realm).toBe('HARNESS.TEST');
      expect(info.kdc).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(info.krb5_conf).toBe(join(info.dir, 'krb5.conf'));
      expect(info.ccache).toBe(`FILE:${join(info.dir, 'ccache')}`);
      expect(info.pid).toBe(r.child.pid);
      expect(info.env).toMatchObject({ KRB5_CONFIG: info.krb5_conf, KRB5CCNAME: info.ccache });
      expect(readFileSync(info.krb5_conf, 'utf8')).toContain(`kdc = ${info.kdc}`);
      expect(info.principals.alice).toEqual({ principal: 'alice@HARNESS.TEST', password: 'pw:with:colons' });
      expect(info.principals.bob!.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(info.principals['HTTP/localhost']!.principal).toBe('HTTP/localhost@HARNESS.TEST');
      expect(existsSync(info.principals['HTTP/localhost']!.keytab!)).toBe(true);
      expect(info.keytab).toBe(join(info.dir, 'krb5.keytab'));

      if (hasMitClients) {
        const env = { ...process.env, KRB5_CONFIG: info.krb5_conf, KRB5CCNAME: `FILE:${join(work, 'harness.cc')}` };
        expect((await runAsync(findProgram('kinit')!, ['alice'], env, 'pw:with:colons\n')).status).toBe(0);
        const kvno = await runAsync(findProgram('kvno')!, ['HTTP/localhost'], env);
        expect(kvno).toMatchObject({ status: 0, stdout: 'HTTP/localhost@HARNESS.TEST: kvno = 1\n' });
        expect((await runAsync(findProgram('kinit')!, ['bob'], { ...env, KRB5CCNAME: `FILE:${join(work, 'bob.cc')}` }, `${info.principals.bob!.password}\n`)).status).toBe(0);
        // The service's keytab (its own, and the realm's krb5.keytab) holds the keys the KDC has.
        for (const kt of [info.principals['HTTP/localhost']!.keytab!, info.keytab!]) {
          expect((await runAsync(findProgram('kinit')!, ['-k', '-t', kt, 'HTTP/localhost'], { ...env, KRB5CCNAME: `FILE:${join(work, 'svc.cc')}` })).status).toBe(0);
        }
        const klist = await runAsync(findProgram('klist')!, [], env);
        expect(klist.stdout).toContain('krbtgt/HARNESS.TEST@HARNESS.TEST');
      }
    } finally {
      r.child.kill('SIGTERM');
    }
    const end = await r.exited;
    expect(end.status).toBe(0);
    expect(end.stdout.split('\n')).toEqual([expect.any(String), '']);
    expect(end.stderr).toContain('SIGTERM');
    expect(existsSync(info.dir)).toBe(false);
  });

  it('stops at the end of its standard input, and on SIGINT, removing its folder', async () => {
    const a = await startRealm([]);
    expect(a.info.realm).toBe('KRBTEST.COM');
    expect(a.info.principals).toEqual({});
    a.child.stdin.end();
    expect((await a.exited).status).toBe(0);
    expect(existsSync(a.info.dir)).toBe(false);

    const b = await startRealm(['-p', 'carol']);
    b.child.kill('SIGINT');
    const end = await b.exited;
    expect(end.status).toBe(0);
    expect(end.stderr).toContain('SIGINT');
    expect(existsSync(b.info.dir)).toBe(false);
  });

  it('--port N serves UDP and TCP there; a port in use is one line and exit 1', async () => {
    const port = await freePort();
    const r = await startRealm(['--port', String(port), '--principal', 'alice:pw1']);
    try {
      expect(r.info.kdc).toBe(`127.0.0.1:${port}`);
      if (hasMitClients) {
        const env = { ...process.env, KRB5_CONFIG: r.info.krb5_conf, KRB5CCNAME: `FILE:${join(work, 'port.cc')}` };
        expect((await runAsync(findProgram('kinit')!, ['alice'], env, 'pw1\n')).status).toBe(0);
      }
      const busy = await runAsync(process.execPath, [kdcBin, 'test-realm', '--port', String(port)], process.env);
      expect(busy.status).toBe(1);
      expect(busy.stdout).toBe('');
      expect(busy.stderr).toBe(`kdc test-realm: cannot listen on 127.0.0.1:${port}: address in use (leave out --port for a free one)\n`);
    } finally {
      r.child.stdin.end();
      await r.exited;
    }
  });

  it('refuses bad arguments in one line, exit 2, printing nothing on stdout', async () => {
    for (const [args, msg] of [
      [['--principal', 'a b'], '--principal "a b": expected NAME or NAME:PASSWORD'],
      [['--principal', 'alice:'], 'empty password'],
      [['--principal', 'alice@OTHER'], 'expected NAME or NAME:PASSWORD'],
      [['--service', 'http'], 'expected SERVICE/HOST'],
      [['--port', '99999'], '--port "99999": expected a port number'],
      [['--realm', 'BAD REALM'], '--realm "BAD REALM"'],
      [['-p', 'x:1', '-p', 'x:2'], 'principal "x" given twice'],
    ] as const) {
      const r = await runAsync(process.execPath, [kdcBin, 'test-realm', ...args], process.env);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(msg);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
  });
});

describe('the README examples (examples/test-realm)', () => {
  it('are in the README as they are in examples/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const f of ['conftest.py', 'test_kinit.py', 'kinit.sh']) expect(readme).toContain(readFileSync(join(examples, f), 'utf8'));
  });

  it(`kinit.sh: a bash script gets a ticket with MIT's kinit${mitSkip}`, { skip: !hasMitClients }, async () => {
    const r = await runAsync('bash', [join(examples, 'kinit.sh')], { ...process.env, PATH: pathWithKdc });
    expect(r.stderr).toMatch(/^kdc test-realm: SIGTERM: realm KRBTEST\.COM stopped, \S+ removed\n$/);
    expect(r.stdout).toMatch(/^\s*\S+\s+\S+\s+\S+\s+\S+\s+krbtgt\/KRBTEST\.COM@KRBTEST\.COM\n/);
    expect(r.status).toBe(0);
  });

  it(`the pytest fixture: MIT's kinit with the password and with the keytab${mitSkip}${hasPytest ? '' : ' (skipped: pytest not installed: apt-get install python3-pytest)'}`, { skip: !hasMitClients || !hasPytest }, async () => {
    const r = await runAsync(python3!, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', examples], { ...process.env, PATH: pathWithKdc }, '', 120_000);
    expect(r.stdout, r.stderr).toMatch(/2 passed/);
    expect(r.status).toBe(0);
  });
});
