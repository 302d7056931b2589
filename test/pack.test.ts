/**
 * The packages as another project gets them: `npm pack` in each package
 * directory (its prepack script builds dist/), the four tarballs installed
 * with plain npm into a fresh project outside the workspace (better-sqlite3
 * builds there as it would for a user), then:
 *  - a ten-line JavaScript script starts a test KDC through @kpop/kdc, and
 *    MIT's kinit gets a ticket from it;
 *  - a TypeScript file using the packages' types typechecks (tsc, NodeNext);
 *  - `npx kdc --help`, `npx kinit --help` and every other bin run;
 *  - `npx kdc test-realm` serves a realm MIT's kinit uses, and our `npx kinit`
 *    and `npx klist` work against it.
 * The workspace's kpop-source condition is taken out of NODE_OPTIONS: the
 * installed project must run on what the tarballs hold.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync } from '../packages/kinit-cli/src/testing/run-async.js';
import { findProgram, hasMitClients } from './helpers/mit-realm.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['common', 'kdc', 'kinit-cli', 'kpop'];
const mitSkip = hasMitClients ? '' : ' (MIT steps skipped: MIT kinit/klist not installed: apt-get install krb5-user)';

let work: string;
let project: string;
let env: NodeJS.ProcessEnv;

const manifest = (pkg: string) => JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as {
  name: string; version: string; bin?: Record<string, string>; dependencies?: Record<string, string>;
};

/** Like runAsync, in the project's folder (never the workspace's). */
function inProject(cmd: string, args: string[], e: NodeJS.ProcessEnv, input = '', timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: project, env: e, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** What npm needs from this environment, without what `npx vitest` and the workspace add (npm_package_*, npm_config_local_prefix, …). */
const NPM_KEEP = new Set(['npm_config_nodedir', 'npm_config_registry', 'npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_cafile']);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kpop-pack-'));
  const rest = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || NPM_KEEP.has(k.toLowerCase())));
  const nodeOptions = (process.env.NODE_OPTIONS ?? '').replace(/--conditions=kpop-source/g, '').trim();
  delete rest.NODE_OPTIONS;
  // This node first on PATH: npm, npx and the bins' shims run with it (CI's second run uses another Node).
  env = { ...rest, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  for (const pkg of PACKAGES) {
    execFileSync('npm', ['pack', '--pack-destination', tarballs], { cwd: join(root, 'packages', pkg), env, stdio: ['ignore', 'ignore', 'pipe'] });
  }
  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  expect(files).toHaveLength(PACKAGES.length);
  // Plain npm, as a user: better-sqlite3 compiles here (with the npm_config_nodedir of the Node under test).
  const r = await inProject('npm', ['install', ...files], env, '', 900_000);
  if (r.status !== 0) throw new Error(`npm install of the packed tarballs failed:\n${r.stderr.slice(-3000)}`);
}, 960_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack → npm install in a fresh project', () => {
  it('each tarball holds the built JavaScript, the .d.ts files and the bins, with no workspace: or TypeScript source', () => {
    for (const pkg of PACKAGES) {
      const m = manifest(pkg);
      const dir = join(project, 'node_modules', m.name);
      const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof m;
      expect(installed.version).toBe(m.version);
      expect(JSON.stringify(installed.dependencies ?? {})).not.toContain('workspace:');
      expect(existsSync(join(dir, 'dist/esm/index.js'))).toBe(true);
      expect(existsSync(join(dir, 'dist/esm/index.d.ts'))).toBe(true);
      expect(existsSync(join(dir, 'src'))).toBe(false);
      for (const [name, file] of Object.entries(m.bin ?? {})) {
        expect(existsSync(join(dir, file)), `${m.name} bin ${name}`).toBe(true);
        expect(existsSync(join(project, 'node_modules/.bin', name)), `.bin/${name}`).toBe(true);
      }
    }
  });

  it(`a ten-line script starts a test KDC; MIT's kinit gets a ticket from it${mitSkip}`, async () => {
    writeFileSync(join(project, 'realm.mjs'), [
      "import { startTestKdc } from '@kpop/kdc';",
      '',
      "const kdc = await startTestKdc({ realm: 'PACKED.TEST', principals: { alice: 'alice-pw-1' } });",
      'console.log(JSON.stringify({ kdc: kdc.kdcAddress, krb5Conf: kdc.krb5ConfPath, dir: kdc.dir }));',
      "process.stdin.on('data', () => {});",
      "process.stdin.on('end', async () => {",
      '  await kdc.stop();',
      '});',
      '',
    ].join('\n'));
    const child = spawn(process.execPath, ['realm.mjs'], { cwd: project, env, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('\n')) resolve(out.split('\n')[0]!); });
        child.on('close', (code) => reject(new Error(`realm.mjs exited ${code}`)));
      });
      const info = JSON.parse(line) as { kdc: string; krb5Conf: string; dir: string };
      expect(info.kdc).toMatch(/^127\.0\.0\.1:\d+$/);
      if (hasMitClients) {
        const kenv = { ...env, KRB5_CONFIG: info.krb5Conf, KRB5CCNAME: `FILE:${join(work, 'script.cc')}` };
        expect((await runAsync(findProgram('kinit')!, ['alice'], kenv, 'alice-pw-1\n')).status).toBe(0);
        const klist = await runAsync(findProgram('klist')!, [], kenv);
        expect(klist.stdout).toContain('krbtgt/PACKED.TEST@PACKED.TEST');
      }
      child.stdin.end();
      await new Promise((resolve) => child.once('close', resolve));
      expect(existsSync(info.dir)).toBe(false);
    } finally {
      child.kill();
    }
  });

  it('the packages typecheck from TypeScript (NodeNext, strict)', async () => {
    writeFileSync(join(project, 'use.ts'), [
      "import { startTestKdc, type TestKdc } from '@kpop/kdc';",
      "import { parseKrb5Config } from '@kpop/common';",
      "import { kinitMain, type CliIo } from '@kpop/kinit-cli';",
      "import * as kpop from '@kpop/kpop';",
      'export async function realm(): Promise<TestKdc> {',
      "  const kdc = await startTestKdc({ realm: 'TS.TEST', principals: { alice: 'pw' } });",
      '  const port: number = kdc.udpPort;',
      '  void port; void parseKrb5Config; void kpop;',
      '  const main: (io: CliIo) => Promise<number> = kinitMain;',
      '  void main;',
      '  return kdc;',
      '}',
      '// @ts-expect-error: the packages\' types are checked, not any',
      "startTestKdc({ realm: 42 });",
      '',
    ].join('\n'));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const r = await inProject(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), join(project, 'use.ts')], env, '', 300_000);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('npx runs every bin: --help prints usage without any banner', async () => {
    for (const pkg of PACKAGES) {
      for (const name of Object.keys(manifest(pkg).bin ?? {})) {
        const r = await inProject('npx', ['--no-install', name, '--help'], env);
        expect(r.status, `npx ${name} --help: ${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(/^usage: /i);
      }
    }
  }, 600_000);

  it(`npx kdc test-realm: MIT's kinit and our npx kinit get tickets from it${mitSkip}`, async () => {
    const child = spawn('npx', ['--no-install', 'kdc', 'test-realm', '--principal', 'alice:alice-pw-2'], { cwd: project, env, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const info = await new Promise<{ realm: string; krb5_conf: string; dir: string }>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!)); });
        child.on('close', (code) => reject(new Error(`npx kdc test-realm exited ${code}`)));
      });
      const kenv = { ...env, KRB5_CONFIG: info.krb5_conf, KRB5CCNAME: `FILE:${join(work, 'ours.cc')}`, XDG_CACHE_HOME: join(work, 'xdg') };
      const ours = await inProject('npx', ['--no-install', 'kinit', 'alice'], kenv, 'alice-pw-2\n');
      expect(ours).toMatchObject({ status: 0, stdout: `Password for alice@${info.realm}: \n` });
      const klist = await inProject('npx', ['--no-install', 'klist'], kenv);
      expect(klist.stdout).toContain(`krbtgt/${info.realm}@${info.realm}`);
      if (hasMitClients) {
        const mitEnv = { ...kenv, KRB5CCNAME: `FILE:${join(work, 'mit.cc')}` };
        expect((await runAsync(findProgram('kinit')!, ['alice'], mitEnv, 'alice-pw-2\n')).status).toBe(0);
        expect((await runAsync(findProgram('klist')!, [], kenv)).stdout).toContain('Default principal: alice@KRBTEST.COM');
      }
      child.stdin.end();
      await new Promise((resolve) => child.once('close', resolve));
      expect(existsSync(info.dir)).toBe(false);
    } finally {
      child.kill();
    }
  }, 300_000);
});
