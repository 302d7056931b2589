/**
 * Logs with a bound and Maildir tmp/ clean-up, on the programs users run
 * (issue 10, items 6 and 10):
 * - `kdc start --log-file F --log-max-size --log-keep`, `kpop start` with the
 *   same flags, and the lab's kdc.log / pop.log: MIT kinit and POP3 clients
 *   make the lines; the files rotate at the cap, `keep` of them stay, no
 *   line is torn, and SIGHUP after a move (logrotate) starts a new file;
 * - the lab's --lmtp-port takes a delivery;
 * - a `kpop deliver` killed mid-message leaves its file in tmp/ (never in
 *   new/), which the clean-up removes once it is 36 hours old by the pinned
 *   clock, and not before.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanMaildirTmp } from '@kpop/kpop';
import { buildBins, hasProgram, startLab, type Bins, type LabProcess } from './lab-helpers.js';
import { PopClient } from './kpop-helpers.js';

const hasMitKinit = hasProgram('kinit');
const skip = hasMitKinit ? '' : ' (skipped: MIT kinit not installed: apt-get install krb5-user)';
let tmp: string;
let bins: Bins;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ops-logs-'));
  bins = await buildBins();
}, 120_000);
afterAll(() => {
  bins?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

async function eventually(fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function mitKinit(krb5Conf: string, user: string, password: string): number {
  const r = spawnSync('kinit', [user], { input: `${password}\n`, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', KRB5_CONFIG: krb5Conf, KRB5CCNAME: `FILE:${join(tmp, 'cc-' + user)}` }, timeout: 30_000 });
  return r.status ?? -1;
}

/**
 * The files of one log (FILE, FILE.1 …), their sizes, and every line parsed (a torn line throws).
 * A server still writing may rotate between the listing and the reads (FILE.2 becomes FILE.3, the
 * oldest goes): a file gone meanwhile means the listing is read again.
 */
function logFiles(path: string): { names: string[]; sizes: number[]; records: Record<string, unknown>[] } {
  const dir = join(path, '..');
  const base = path.slice(dir.length + 1);
  for (let tries = 0; ; tries++) {
    try {
      const names = readdirSync(dir).filter((n) => n === base || new RegExp(`^${base.replace('.', '\\.')}\\.\\d+$`).test(n)).sort();
      const sizes = names.map((n) => statSync(join(dir, n)).size);
      const records = names.flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
      return { names, sizes, records };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || tries >= 10) throw e;
    }
  }
}

/** SIGHUP after moving FILE away: the server writes to a new FILE. */
async function checkReopen(child: ChildProcess, path: string, makeLine: () => Promise<unknown> | unknown): Promise<void> {
  renameSync(path, `${path}-moved`);
  child.kill('SIGHUP');
  await eventually(() => existsSync(path));
  await makeLine();
  await eventually(() => statSync(path).size > 0);
  expect(child.exitCode).toBe(null);
}

describe('kdc start --log-file', () => {
  let kdc: ChildProcess | undefined;
  afterAll(() => {
    if (kdc && kdc.exitCode === null) kdc.kill('SIGKILL');
  });

  it.skipIf(!hasMitKinit)('rotates at --log-max-size, keeps --log-keep files, reopens on SIGHUP' + skip, async () => {
    const db = join(tmp, 'kdcdb');
    const kdcBin = (args: string[]) => spawnSync(process.execPath, [bins.kdc, ...args, '--dir', db], { encoding: 'utf8', timeout: 30_000 });
    expect(kdcBin(['init', '--realm', 'LOG.TEST']).status).toBe(0);
    expect(kdcBin(['addprinc', 'alice', '--password', 'alice-pw-1']).status).toBe(0);
    const log = join(tmp, 'kdc.log');
    let stderr = '';
    kdc = spawn(process.execPath, [bins.kdc, 'start', '--listen', '127.0.0.1:0', '--dir', db, '--log-file', log, '--log-max-size', '3K', '--log-keep', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    kdc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let stdout = '';
    kdc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await eventually(() => /serving on 127\.0\.0\.1:(\d+)/.test(stderr), 20_000);
    const port = Number(/serving on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const conf = join(tmp, 'kdc-krb5.conf');
    writeFileSync(conf, `[libdefaults]\n default_realm = LOG.TEST\n dns_lookup_kdc = false\n[realms]\n LOG.TEST = {\n  kdc = 127.0.0.1:${port}\n }\n`);
    for (let i = 0; i < 30; i++) expect(mitKinit(conf, 'alice', 'alice-pw-1')).toBe(0);
    // Batches go out every 100 ms.
    await eventually(() => logFiles(log).names.length === 3);
    await new Promise((r) => setTimeout(r, 300));
    const f = logFiles(log);
    expect(f.names).toEqual(['kdc.log', 'kdc.log.1', 'kdc.log.2']);
    for (const s of f.sizes) expect(s).toBeLessThanOrEqual(3 * 1024);
    expect(f.records.every((r) => r.msg === 'AS_REQ')).toBe(true);
    expect(f.records.filter((r) => r.status === 'ISSUE').length).toBeGreaterThan(5);
    expect(stdout).toBe('');
    await checkReopen(kdc, log, () => expect(mitKinit(conf, 'alice', 'alice-pw-1')).toBe(0));
    expect(readFileSync(log, 'utf8')).toMatch(/"msg":"AS_REQ"/);
    kdc.kill('SIGTERM');
    await new Promise((r) => kdc!.once('close', r));
    expect(kdc.exitCode).toBe(0);
  }, 120_000);

  it('a bad --log-max-size is one line and exit non-zero', () => {
    const r = spawnSync(process.execPath, [bins.kdc, 'start', '--dir', join(tmp, 'none'), '--log-file', join(tmp, 'x.log'), '--log-max-size', 'huge'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--log-max-size must be a size/);
  });
});

describe('kpop start --log-file', () => {
  let pop: ChildProcess | undefined;
  afterAll(() => {
    if (pop && pop.exitCode === null) pop.kill('SIGKILL');
  });

  it('rotates at --log-max-size, keeps --log-keep files, reopens on SIGHUP', async () => {
    const log = join(tmp, 'pop.log');
    pop = spawn(process.execPath, [bins.kpop, 'start', '--realm', 'LOG.TEST', '--kpop', 'none', '--pop3', '127.0.0.1:0', '--maildir-root', join(tmp, 'mail'), '--keytab', join(tmp, 'none.keytab'), '--log-file', log, '--log-max-size', '2K', '--log-keep', '3'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', KRB5_CONFIG: join(tmp, 'no-krb5.conf') } });
    let err = '';
    pop.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await eventually(() => existsSync(log) && /"event":"start"/.test(readFileSync(log, 'utf8')), 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}: ${err}`);
    });
    const start = JSON.parse(readFileSync(log, 'utf8').split('\n')[0]!) as { listeners: string };
    const port = Number(/pop3=127\.0\.0\.1:(\d+)/.exec(start.listeners)![1]);
    const session = async () => {
      const c = await PopClient.connect(port);
      expect(await c.line()).toMatch(/^\+OK/);
      c.send('QUIT');
      expect(await c.line()).toMatch(/^\+OK/);
      c.close();
    };
    for (let i = 0; i < 60; i++) await session();
    await eventually(() => logFiles(log).names.length === 4);
    await new Promise((r) => setTimeout(r, 300));
    const f = logFiles(log);
    expect(f.names).toEqual(['pop.log', 'pop.log.1', 'pop.log.2', 'pop.log.3']);
    for (const s of f.sizes) expect(s).toBeLessThanOrEqual(2048);
    expect(f.records.every((r) => typeof r.ts === 'string' && typeof r.event === 'string')).toBe(true);
    await checkReopen(pop, log, session);
    expect(err).toBe('');
    pop.kill('SIGTERM');
    await new Promise((r) => pop!.once('close', r));
  }, 120_000);
});

describe('the lab: --log-max-size, --log-keep, SIGHUP, --lmtp-port', () => {
  let lab: LabProcess | undefined;
  afterAll(async () => {
    await lab?.stop();
  });

  it.skipIf(!hasMitKinit)('kdc.log and pop.log rotate, SIGHUP reopens them, LMTP delivers' + skip, async () => {
    const dir = join(tmp, 'lab');
    lab = await startLab(bins, ['--dir', dir, '--alice-password', 'alice-pw-1', '--bob-password', 'bob-pw-1', '--quiet', '--kdc-port', '0', '--kpasswd-port', '0', '--kpop-port', '0', '--pop3-port', '0', '--pop3s-port', '0', '--imap-port', '0', '--imaps-port', '0', '--lmtp-port', '0', '--log-max-size', '2K', '--log-keep', '2']);
    const ports = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as { lmtp: number };
    expect(ports.lmtp).toBeGreaterThan(0);
    // LMTP (RFC 2033): one message for alice.
    const lmtp = connect(ports.lmtp, '127.0.0.1');
    const c = new PopClient(lmtp);
    await new Promise((r) => lmtp.once('connect', r));
    expect(await c.line()).toMatch(/^220 /);
    c.send('LHLO soak.test');
    for (let l = await c.line(); !l.startsWith('250 '); l = await c.line());
    for (const [cmd, want] of [['MAIL FROM:<t@soak.test>', /^250/], ['RCPT TO:<alice>', /^250/], ['DATA', /^354/], ['Subject: lmtp\r\n\r\nhello\r\n.', /^250/], ['QUIT', /^221/]] as const) {
      c.send(cmd);
      expect(await c.line()).toMatch(want);
    }
    c.close();
    const conf = join(dir, 'krb5.conf');
    for (let i = 0; i < 25; i++) expect(mitKinit(conf, 'alice', 'alice-pw-1')).toBe(0);
    const kdcLog = join(dir, 'kdc.log');
    await eventually(() => logFiles(kdcLog).names.length === 3);
    const f = logFiles(kdcLog);
    expect(f.names).toEqual(['kdc.log', 'kdc.log.1', 'kdc.log.2']);
    for (const s of f.sizes) expect(s).toBeLessThanOrEqual(2048);
    expect(readdirSync(join(dir, 'mail', 'alice', 'new')).length).toBeGreaterThanOrEqual(2);
    await eventually(() => /"event":"lmtp-delivery"/.test(logFiles(join(dir, 'pop.log')).records.map((r) => JSON.stringify(r)).join('\n')));
    await checkReopen(lab.child, kdcLog, () => expect(mitKinit(conf, 'alice', 'alice-pw-1')).toBe(0));
    expect(await lab.stop()).toBe(0);
    lab = undefined;
  }, 120_000);
});

describe('kpop deliver killed mid-message', () => {
  it('leaves its file in tmp/ only; the clean-up removes it at 36 h by the pinned clock, not at 35 h', async () => {
    const root = join(tmp, 'boxes');
    const child = spawn(process.execPath, [bins.kpop, 'deliver', 'carol', '--maildir-root', root], { stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin!.write(`Subject: never finished\n\n${'x'.repeat(200_000)}\n`);
    const tmpDir = join(root, 'carol', 'tmp');
    await eventually(() => existsSync(tmpDir) && readdirSync(tmpDir).length === 1 && statSync(join(tmpDir, readdirSync(tmpDir)[0]!)).size > 0, 20_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const [name] = readdirSync(tmpDir);
    expect(readdirSync(join(root, 'carol', 'new'))).toEqual([]);
    const mtime = statSync(join(tmpDir, name!)).mtimeMs;
    expect(await cleanMaildirTmp(root, { now: () => new Date(mtime + 35 * 3600_000) })).toEqual([]);
    expect(readdirSync(tmpDir)).toEqual([name]);
    expect(await cleanMaildirTmp(root, { now: () => new Date(mtime + 36 * 3600_000 + 1000) })).toEqual([join(tmpDir, name!)]);
    expect(readdirSync(tmpDir)).toEqual([]);
  }, 60_000);
});

