/**
 * The lab with its KDC on several cores (`npm start -- --workers 2`): the
 * lab runs `kdc start --workers 2` over its database; our kinit and MIT's
 * (where installed) log in, kpop fetch gets the welcome message over KPOP,
 * the KDC log names the worker of each request, and Ctrl-C stops the KDC's
 * processes with the lab.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBins, hasProgram, ROOT, run, startLab, type Bins, type LabProcess } from './lab-helpers.js';
import { tempDir } from './fetch-helpers.js';

const FREE = ['--kdc-port', '0', '--kpasswd-port', '0', '--kpop-port', '0', '--pop3-port', '0', '--pop3s-port', '0', '--imap-port', '0', '--imaps-port', '0'];
let bins: Bins;
let tmp: ReturnType<typeof tempDir>;
let lab: LabProcess;
let labDir: string;
let ports: { kdc: number; kpop: number };
const env = (cc: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: tmp.dir, KRB5_CONFIG: join(labDir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(tmp.dir, cc)}` });

function kdcChildren(): number[] {
  try {
    return execFileSync('pgrep', ['-f', `kdc.js start --dir ${join(labDir, 'kdc')}`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

beforeAll(async () => {
  // The lab starts packages/kdc/dist/bin/kdc.js for its workers.
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  tmp = tempDir('kpop-lab-workers-');
  bins = await buildBins();
  labDir = join(tmp.dir, 'lab');
  lab = await startLab(bins, ['--dir', labDir, '--alice-password', 'alice-pw-1', '--bob-password', 'bob-pw-1', '--workers', '2', ...FREE]);
  ports = JSON.parse(readFileSync(join(labDir, 'ports.json'), 'utf8'));
}, 120_000);
afterAll(async () => {
  await lab?.stop();
  bins?.cleanup();
  tmp?.cleanup();
});

describe('npm start -- --workers 2', () => {
  it('serves kinit and a KPOP fetch; the KDC log names the worker; Ctrl-C stops the KDC processes', async () => {
    expect(lab.output()).toContain(`KDC    127.0.0.1:${ports.kdc} (UDP and TCP)`);
    expect(kdcChildren().length).toBeGreaterThanOrEqual(1);
    const k = await run(process.execPath, [bins.kinit, 'alice'], { env: env('alice.cc'), input: 'alice-pw-1\n' });
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    if (hasProgram('kinit')) {
      const m = await run('kinit', ['bob'], { env: env('bob.cc'), input: 'bob-pw-1\n' });
      expect(m.code, m.stderr).toBe(0);
    }
    const f = await run(process.execPath, [bins.kpop, 'fetch', '--kpop', '--host', 'localhost', '--port', String(ports.kpop), '--out', join(tmp.dir, 'mail')], { env: env('alice.cc'), cwd: tmp.dir });
    expect(f.code, f.stderr).toBe(0);
    // The workers and the lab's log writer batch their lines (a flush every 100 ms): wait for the TGS record.
    const readIssued = () =>
      readFileSync(join(labDir, 'kdc.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; status: string; worker?: number }).filter((r) => r.status === 'ISSUE');
    let issued = readIssued();
    for (let i = 0; i < 50 && !issued.some((r) => r.msg === 'TGS_REQ'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      issued = readIssued();
    }
    expect(issued.map((r) => r.msg)).toContain('TGS_REQ');
    for (const r of issued) expect([1, 2]).toContain(r.worker);
    expect(lab.output()).toMatch(/kdc {2}AS_REQ alice@LAB\.TEST for krbtgt\/LAB\.TEST@LAB\.TEST: ISSUE \(worker [12]\)/);
    expect(await lab.stop('SIGINT')).toBe(0);
    expect(kdcChildren()).toEqual([]);
  }, 60_000);
});
