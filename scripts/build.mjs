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
// bins must not use top-level await or import.meta. The bundle goes to
// dist/lib/<name>.cjs, and dist/bin/<name>.js is a small loader that runs it
// with a V8 code cache (cachedLoader below); dist/package.json says
// "type": "commonjs", so that dist/bin/<name>.js keeps its name.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const force = process.argv.includes('--force');
// --lib: also build each package's library (dist/esm: JavaScript and .d.ts)
// for `npm pack` (the packages' prepack script); see scripts/build-lib.mjs.
const lib = process.argv.includes('--lib');

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
syncBinEntries();

// This script and the packages' manifests (binFormat) count as sources too.
const sources = [fileURLToPath(import.meta.url), ...packages.map((p) => join(root, 'packages', p, 'package.json')).filter(existsSync), ...packages.flatMap((p) => walk(join(root, 'packages', p, 'src')))];
const newestSource = Math.max(0, ...sources.map((s) => statSync(s).mtimeMs));
const stamp = join(root, 'node_modules', '.kpop-build-stamp');
const stale = force || !existsSync(stamp) || statSync(stamp).mtimeMs < newestSource ||
  entries.some((e) => !existsSync(join(root, 'packages', e.pkg, 'dist', 'bin', `${e.name}.js`)) ||
    (e.format === 'cjs' && !existsSync(join(root, 'packages', e.pkg, 'dist', 'lib', `${e.name}.cjs`)))) ||
  [...cjsPackages].some((pkg) => !existsSync(distTypeFile(pkg)));
if (lib) {
  const { buildLibraries } = await import('./build-lib.mjs');
  await buildLibraries({ quiet, force });
}
if (!stale || entries.length === 0) process.exit(0);

const { build } = await import('esbuild');
const t0 = Date.now();
const distDir = (pkg) => join(root, 'packages', pkg, 'dist');

/** Write a file whole or not at all: a program started meanwhile (or a second build) never reads half of it. */
function writeAtomic(file, contents) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

await Promise.all(entries.map(async (e) => {
  const r = await build({
    entryPoints: [e.src],
    outfile: e.format === 'cjs' ? join(distDir(e.pkg), 'lib', `${e.name}.cjs`) : join(distDir(e.pkg), 'bin', `${e.name}.js`),
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: e.format,
    // The workspace's packages are bundled from their sources.
    conditions: ['kpop-source'],
    // Native addons stay outside the bundle.
    external: ['better-sqlite3'],
    // CommonJS dependencies bundled into ESM still call require().
    ...(e.format === 'esm'
      ? { banner: { js: "#!/usr/bin/env node\nimport { createRequire as __kpopCreateRequire } from 'node:module';\nconst require = __kpopCreateRequire(import.meta.url);" } }
      : {}),
    logLevel: 'error',
    legalComments: 'none',
  });
  if (e.format === 'cjs') {
    const code = lazyBuiltins(r.outputFiles[0].text);
    writeAtomic(r.outputFiles[0].path, code);
    const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
    writeAtomic(join(distDir(e.pkg), 'bin', `${e.name}.js`), cachedLoader(e.name, hash));
  } else {
    for (const o of r.outputFiles) writeAtomic(o.path, o.contents);
  }
}));
for (const pkg of cjsPackages) writeAtomic(distTypeFile(pkg), '{ "type": "commonjs" }\n');
mkdirSync(dirname(stamp), { recursive: true });
writeFileSync(stamp, String(Date.now()));
if (!quiet) console.error(`[build] ${entries.length} programs in ${Date.now() - t0} ms: ${entries.map((e) => relative(root, e.src)).join(', ')}`);

/**
 * Every program in src/bin is a `bin` of its package: src/bin/<name>.ts gets
 * "<name>": "./dist/bin/<name>.js" in package.json unless an entry already
 * names that file under another name (kpop's lab is `kpop-lab`); entries
 * whose source is gone are dropped. So a new program needs no change here,
 * and `npm pack` ships it. The manifest is rewritten only when it changes.
 */
function syncBinEntries() {
  for (const pkg of packages) {
    const manifestFile = join(root, 'packages', pkg, 'package.json');
    if (!existsSync(manifestFile)) continue;
    const text = readFileSync(manifestFile, 'utf8');
    const manifest = JSON.parse(text);
    const names = entries.filter((e) => e.pkg === pkg).map((e) => e.name).sort();
    const target = (name) => `./dist/bin/${name}.js`;
    const bin = {};
    for (const [cmd, file] of Object.entries(manifest.bin ?? {})) {
      if (names.some((n) => target(n) === file)) bin[cmd] = file;
    }
    for (const n of names) if (!Object.values(bin).includes(target(n))) bin[n] = target(n);
    if (JSON.stringify(bin) === JSON.stringify(manifest.bin ?? {})) continue;
    if (Object.keys(bin).length) manifest.bin = bin;
    else delete manifest.bin;
    writeAtomic(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    if (!quiet) console.error(`[build] packages/${pkg}/package.json: bin is now ${JSON.stringify(bin)}`);
  }
}

/**
 * In a CommonJS bin, node's built-in modules are loaded when first used, not
 * when the module naming them is initialised. esbuild turns
 * `import { pbkdf2 } from 'node:crypto'` into `import_node_crypto =
 * require("node:crypto")` in the importing module's lazy init and every use
 * into `(0, import_node_crypto.pbkdf2)(…)`, a property read at call time; so
 * each such require() becomes a stand-in whose first property read loads
 * the module. Why: node:crypto costs 2.5-4 ms to load (it brings the stream
 * modules), node:dgram and node:os more; a kinit needs node:crypto only
 * after its first request is on its way (client/as.ts loads it while the
 * KDC answers) and `kinit --help` never. A namespace or default import
 * (`import * as fs`, which esbuild wraps in __toESM, copying every export
 * at once: 0.1-0.3 ms each) gets the same stand-in, answering "default"
 * with the module itself as __toESM would.
 */
export function lazyBuiltins(code) {
  let n = 0;
  const out = code.replace(/__toESM\(require\("(node:[a-z_/]+)"\)(?:, 1)?\)|\brequire\("(node:[a-z_/]+)"\)/g, (_, ns, id) => {
    n++;
    return `__kpopLazyBuiltin(${JSON.stringify(ns ?? id)})`;
  });
  if (n === 0) return code;
  const helper = `function __kpopLazyBuiltin(id) {
  let m;
  const load = () => (m ??= require(id));
  return new Proxy({}, {
    // A namespace or default import (esbuild's __toESM) reads the module itself as "default".
    get: (_, k) => (k === 'default' && !('default' in load()) ? load() : load()[k]),
    has: (_, k) => k in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, k) => {
      const d = Reflect.getOwnPropertyDescriptor(load(), k);
      return d && { ...d, configurable: true };
    },
  });
}
`;
  // After the "use strict" directive, which must stay first.
  const strict = /^"use strict";\n/.exec(out);
  return strict ? strict[0] + helper + out.slice(strict[0].length) : helper + out;
}

/**
 * dist/bin/<name>.js of a CommonJS package: runs dist/lib/<name>.cjs through
 * a V8 code cache, what node 22's module.enableCompileCache() does and node
 * 20 lacks. The first run compiles as usual and, at exit, saves V8's code for
 * every function it ran; later runs start from that code instead of parsing
 * and compiling the bundle again (kinit: about 8 ms less CPU per run).
 *
 * Trust: cached code is executed, so the cache lives only in a directory of
 * the user's own ($XDG_CACHE_HOME or ~/.cache, then kpop-compile-cache),
 * mode 0700 and not writable by others, else it is not used. V8 checks its
 * own version and flags, and rejects a damaged file (then it is rewritten);
 * it does not check the source, so the file name carries a hash of the
 * bundle; writing a new cache removes the program's older ones. --help runs
 * skip the cache (they run almost none of the code), and
 * NODE_DISABLE_COMPILE_CACHE=1 (node 22's switch) turns it off. Any failure
 * of the cache is silent: the program runs without it.
 */
function cachedLoader(name, hash) {
  return `#!/usr/bin/env node
// Generated by scripts/build.mjs: runs ../lib/${name}.cjs through a V8 code cache (see cachedLoader there).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');
const bundle = path.join(__dirname, '..', 'lib', ${JSON.stringify(`${name}.cjs`)});
let source;
try {
  source = fs.readFileSync(bundle, 'utf8');
} catch (e) {
  process.stderr.write(${JSON.stringify(name)} + ': cannot start: ' + e.message + ' (run: node scripts/build.mjs --force)\\n');
  process.exit(1);
}
let cacheFile;
let cached;
if (!process.env.NODE_DISABLE_COMPILE_CACHE && !process.argv.slice(2).includes('--help')) {
  try {
    const home = process.env.XDG_CACHE_HOME || (process.env.HOME ? path.join(process.env.HOME, '.cache') : '');
    if (path.isAbsolute(home)) {
      const dir = path.join(home, 'kpop-compile-cache');
      // Made on first use only (mkdirSync on every start costs more than the lstat).
      let st;
      try {
        st = fs.lstatSync(dir);
      } catch {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        st = fs.lstatSync(dir);
      }
      if (st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o022) === 0) {
        cacheFile = path.join(dir, ${JSON.stringify(`${name}-${hash}-`)} + process.version + '-' + process.arch + '.v8');
        try {
          cached = fs.readFileSync(cacheFile);
        } catch {}
      }
    }
  } catch {}
}
const script = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + source + '\\n})', {
  filename: bundle,
  ...(cached ? { cachedData: cached } : {}),
  ...(vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER ? { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER } : {}),
});
if (cacheFile && (!cached || script.cachedDataRejected)) {
  process.once('exit', () => {
    const tmp = cacheFile + '.' + process.pid + '.tmp';
    try {
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      // Caches of this program's earlier builds (or node versions) are of no more use.
      const dir = path.dirname(cacheFile);
      for (const f of fs.readdirSync(dir)) {
        if (f.startsWith(${JSON.stringify(`${name}-`)}) && f.endsWith('.v8') && f !== path.basename(cacheFile)) fs.unlinkSync(path.join(dir, f));
      }
    } catch {
      try { fs.unlinkSync(tmp); } catch {}
    }
  });
}
const mod = { exports: {}, filename: bundle, id: bundle, loaded: false };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, path.dirname(bundle));
`;
}
