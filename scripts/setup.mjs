#!/usr/bin/env node
// Bootstrap run by `npm start` and `npm test` (their pre-scripts): on a fresh
// clone with only Node and npm it installs pnpm 10, the workspace's
// dependencies, and builds what users run. Each step is skipped when its
// result is already there, so a second run takes well under a second.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const quiet = process.argv.includes('--quiet');
const log = (m) => { if (!quiet) console.error(`[setup] ${m}`); };

function fail(msg) {
  console.error(`setup: ${msg}`);
  process.exit(1);
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node ${process.versions.node} is too old; install Node 20.19 or newer.`);

// Native addons (better-sqlite3) build against Node's own headers when no
// prebuilt binary can be downloaded.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) process.env.npm_config_nodedir = '/usr';

function pnpmVersion(cmd) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Find pnpm 10 on PATH or in ./.tools; install it when missing. */
function ensurePnpm() {
  const local = join(root, '.tools', 'node_modules', '.bin', 'pnpm');
  for (const cmd of ['pnpm', local]) {
    const v = pnpmVersion(cmd);
    if (v && v.startsWith('10.')) return cmd;
  }
  log(`installing pnpm@${PNPM_VERSION}`);
  let r = spawnSync('npm', ['install', '-g', `pnpm@${PNPM_VERSION}`], { stdio: quiet ? 'ignore' : 'inherit' });
  if (r.status === 0 && pnpmVersion('pnpm')?.startsWith('10.')) return 'pnpm';
  // No rights to install globally: keep a private copy in ./.tools.
  mkdirSync(join(root, '.tools'), { recursive: true });
  r = spawnSync('npm', ['install', '--prefix', join(root, '.tools'), '--no-save', `pnpm@${PNPM_VERSION}`], { stdio: quiet ? 'ignore' : 'inherit' });
  if (r.status === 0 && pnpmVersion(local)) return local;
  fail(`could not install pnpm ${PNPM_VERSION}; run "npm install -g pnpm@${PNPM_VERSION}" and try again.`);
}

function mtime(p) {
  try { return statSync(p).mtimeMs; } catch { return 0; }
}

/** Install dependencies when node_modules is missing or older than the manifests. */
function ensureDeps(pnpm) {
  const stamp = join(root, 'node_modules', '.modules.yaml');
  const manifests = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', ...['common', 'kdc', 'kpop', 'kinit-cli'].map((p) => `packages/${p}/package.json`), 'test/package.json', 'bench/package.json'];
  const newest = Math.max(...manifests.map((m) => mtime(join(root, m))));
  if (existsSync(stamp) && mtime(stamp) >= newest) return;
  placeholderBins();
  log('installing dependencies with pnpm');
  const args = ['install', existsSync(join(root, 'pnpm-lock.yaml')) ? '--frozen-lockfile' : '--no-frozen-lockfile'];
  const r = spawnSync(pnpm, args, { cwd: root, stdio: quiet ? 'ignore' : 'inherit', env: process.env });
  if (r.status !== 0) fail('pnpm install failed (see above).');
  writeFileSync(stamp, readFileSync(stamp)); // touch: newer than every manifest
}

/**
 * pnpm links each package's `bin` into node_modules/.bin only if the file is
 * there, and on a fresh clone dist/ is built after the install: so a
 * placeholder stands in for every bin not built yet (the build replaces it),
 * and `npx kinit` works from the checkout once set-up is done.
 */
function placeholderBins() {
  const dir = join(root, 'packages');
  for (const pkg of readdirSync(dir)) {
    let bin;
    try {
      bin = JSON.parse(readFileSync(join(dir, pkg, 'package.json'), 'utf8')).bin;
    } catch {
      continue;
    }
    for (const [name, file] of Object.entries(bin ?? {})) {
      const target = join(dir, pkg, file);
      if (existsSync(target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, `#!/usr/bin/env node\nconsole.error('${name}: not built yet: run node scripts/setup.mjs');\nprocess.exit(1);\n`, { mode: 0o755 });
      // The build must replace it even where its stamp says dist/ is current.
      rmSync(join(root, 'node_modules', '.kpop-build-stamp'), { force: true });
    }
  }
}

const pnpm = ensurePnpm();
ensureDeps(pnpm);
try {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), ...(quiet ? ['--quiet'] : [])], { stdio: 'inherit', cwd: root });
} catch {
  fail('build failed (see above).');
}
