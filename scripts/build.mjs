#!/usr/bin/env node
// Builds what users run (packages/*/src/bin/*.ts) into packages/*/dist/bin/*.js
// with esbuild, so that `kinit` starts from plain JavaScript (no tsx: about
// 0.25 s saved per start). Skipped when every output is newer than every source.
//
// A package may ask for CommonJS bins with `"binFormat": "cjs"` in its
// package.json (kinit-cli does: its programs must start about as fast as node
// itself). Why: in an ESM bundle every `import 'node:crypto'` is hoisted to
// the top and runs at start, even for `kinit --help`; in a CommonJS bundle
// esbuild puts each require() inside the lazily initialised module that uses
// it, and node's CommonJS loader is lighter than its ESM loader. Measured on
// kinit: --help about 25 ms and a password kinit about 10 ms less CPU. Such
// bins must not use top-level await or import.meta. dist/package.json then
// says "type": "commonjs", so that dist/bin/<name>.js keeps its name.
import { readdirSync, readFileSync, statSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const force = process.argv.includes('--force');

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const packages = readdirSync(join(root, 'packages'));
/** 'esm' (the default) or 'cjs', from the package's package.json "binFormat". */
function binFormat(pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')).binFormat === 'cjs' ? 'cjs' : 'esm';
  } catch {
    return 'esm';
  }
}
const entries = [];
const cjsPackages = new Set();
for (const pkg of packages) {
  const binDir = join(root, 'packages', pkg, 'src', 'bin');
  if (!existsSync(binDir)) continue;
  const format = binFormat(pkg);
  if (format === 'cjs') cjsPackages.add(pkg);
  for (const f of readdirSync(binDir)) {
    if (f.endsWith('.ts') && !f.endsWith('.test.ts')) entries.push({ pkg, name: f.slice(0, -3), src: join(binDir, f), format });
  }
}
const distTypeFile = (pkg) => join(root, 'packages', pkg, 'dist', 'package.json');

const sources = packages.flatMap((p) => walk(join(root, 'packages', p, 'src')));
const newestSource = Math.max(0, ...sources.map((s) => statSync(s).mtimeMs));
const stamp = join(root, 'node_modules', '.kpop-build-stamp');
const stale = force || !existsSync(stamp) || statSync(stamp).mtimeMs < newestSource ||
  entries.some((e) => !existsSync(join(root, 'packages', e.pkg, 'dist', 'bin', `${e.name}.js`))) ||
  [...cjsPackages].some((pkg) => !existsSync(distTypeFile(pkg)));
if (!stale || entries.length === 0) process.exit(0);

const { build } = await import('esbuild');
const t0 = Date.now();
await Promise.all(entries.map((e) => build({
  entryPoints: [e.src],
  outfile: join(root, 'packages', e.pkg, 'dist', 'bin', `${e.name}.js`),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: e.format,
  // Native addons stay outside the bundle.
  external: ['better-sqlite3'],
  // CommonJS dependencies bundled into ESM still call require().
  banner: {
    js: e.format === 'cjs'
      ? '#!/usr/bin/env node'
      : "#!/usr/bin/env node\nimport { createRequire as __kpopCreateRequire } from 'node:module';\nconst require = __kpopCreateRequire(import.meta.url);",
  },
  logLevel: 'error',
  legalComments: 'none',
})));
for (const pkg of cjsPackages) writeFileSync(distTypeFile(pkg), '{ "type": "commonjs" }\n');
mkdirSync(dirname(stamp), { recursive: true });
writeFileSync(stamp, String(Date.now()));
if (!quiet) console.error(`[build] ${entries.length} programs in ${Date.now() - t0} ms: ${entries.map((e) => relative(root, e.src)).join(', ')}`);
