// The packages' libraries as other projects install them (`npm pack`; the
// packages' prepack script runs `build.mjs --lib`): packages/<pkg>/dist/esm,
// the JavaScript and .d.ts files tsc emits for everything src/index.ts
// reaches, in the order the packages depend on each other. The workspace
// itself never loads dist/esm: its tests, typecheck and bundles take the
// sources through the "kpop-source" export condition. A package whose
// dist/esm is newer than its sources and its dependencies' is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The workspace's packages with a src/index.ts, each after the @kpop/ packages it depends on. */
export function libraryOrder() {
  const manifests = new Map();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const file = join(root, 'packages', dir, 'package.json');
    if (!existsSync(file) || !existsSync(join(root, 'packages', dir, 'src', 'index.ts'))) continue;
    const m = JSON.parse(readFileSync(file, 'utf8'));
    manifests.set(m.name, { dir, deps: Object.keys(m.dependencies ?? {}) });
  }
  const order = [];
  const visit = (name, path = []) => {
    if (order.some((o) => o.name === name) || !manifests.has(name)) return;
    if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
    for (const d of manifests.get(name).deps) visit(d, [...path, name]);
    order.push({ name, ...manifests.get(name) });
  };
  for (const name of [...manifests.keys()].sort()) visit(name);
  return order;
}

export async function buildLibraries({ quiet = false, force = false } = {}) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const configDir = join(root, 'node_modules', '.kpop-lib');
  mkdirSync(configDir, { recursive: true });
  const built = new Map();
  for (const { name, dir, deps } of libraryOrder()) {
    const pkgDir = join(root, 'packages', dir);
    const outDir = join(pkgDir, 'dist', 'esm');
    const stamp = join(outDir, '.built');
    const inputs = Math.max(newest(join(pkgDir, 'src')), statSync(join(pkgDir, 'package.json')).mtimeMs, statSync(join(root, 'tsconfig.json')).mtimeMs,
      ...deps.filter((d) => built.has(d)).map((d) => built.get(d)));
    if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= inputs) {
      built.set(name, statSync(stamp).mtimeMs);
      continue;
    }
    const t0 = Date.now();
    // Built beside, then swapped in: a process reading dist/esm meanwhile never sees it half-written.
    const tmpOut = `${outDir}.${process.pid}.tmp`;
    rmSync(tmpOut, { recursive: true, force: true });
    const config = join(configDir, `${dir}.tsconfig.json`);
    writeFileSync(config, JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        noEmit: false,
        noEmitOnError: true,
        declaration: true,
        outDir: tmpOut,
        rootDir: join(pkgDir, 'src'),
        // Other @kpop packages through their built .d.ts, as an installing project sees them.
        customConditions: [],
      },
      files: [join(pkgDir, 'src', 'index.ts')],
      include: [],
    }, null, 2));
    const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      rmSync(tmpOut, { recursive: true, force: true });
      throw new Error(`tsc failed for ${name} (see above)`);
    }
    // The package's dist/package.json may say "commonjs" (its CommonJS bins): the library is ESM.
    writeFileSync(join(tmpOut, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(tmpOut, '.built'), '');
    const old = `${outDir}.${process.pid}.old`;
    if (existsSync(outDir)) renameSync(outDir, old);
    renameSync(tmpOut, outDir);
    rmSync(old, { recursive: true, force: true });
    built.set(name, statSync(stamp).mtimeMs);
    if (!quiet) console.error(`[build] ${name}: library (JavaScript and .d.ts) in ${Date.now() - t0} ms`);
  }
}
