/**
 * The four packages' manifests against their code: each lists exactly the
 * packages its code imports (what src/index.ts and src/bin/*.ts reach), names
 * the other @kpop packages by version (never "workspace:", which plain npm
 * cannot install), exports types and JavaScript, and has one bin per
 * src/bin/*.ts (scripts/build.mjs keeps them in step).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['common', 'kdc', 'kinit-cli', 'kpop'];
/** What scripts/build.mjs leaves outside the bundles (native addons): a package whose programs bundle code that loads one must list it. */
const BUNDLE_EXTERNALS = ['better-sqlite3'];
/** Dependencies that ship no types of their own: a package whose library (src/index.ts) imports one lists its @types package too, since its .d.ts files import it. */
const TYPES_FROM_DEFINITELY_TYPED = ['better-sqlite3', 'pg'];

interface Manifest {
  name: string; version: string; private?: boolean; type?: string; files?: string[];
  exports: Record<string, unknown>; bin?: Record<string, string>;
  dependencies?: Record<string, string>; devDependencies?: Record<string, string>;
}
const manifest = (pkg: string): Manifest => JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as Manifest;
const byName = new Map(PACKAGES.map((p) => [manifest(p).name, p]));

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*(?:\(\s*)?['"]([^'"]+)['"]/gm;

/** Bare specifiers (package names) imported by the files `entries` reach through relative imports. */
function reachedPackages(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const base = resolve(dirname(file), spec.replace(/\.js$/, ''));
        const next = [`${base}.ts`, join(base, 'index.ts')].find(existsSync);
        if (!next) throw new Error(`${file}: cannot resolve ${spec}`);
        queue.push(next);
      } else {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return packages;
}

const srcOf = (pkg: string) => join(root, 'packages', pkg, 'src');
const binSources = (pkg: string) => (existsSync(join(srcOf(pkg), 'bin')) ? readdirSync(join(srcOf(pkg), 'bin')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')) : []);

/** Externals the package's bundled programs load from its folder: those of the @kpop packages they bundle, transitively. */
function bundledExternals(pkg: string): Set<string> {
  const out = new Set<string>();
  const visit = (p: string, seen: Set<string>) => {
    if (seen.has(p)) return;
    seen.add(p);
    for (const dep of reachedPackages([join(srcOf(p), 'index.ts')])) {
      if (BUNDLE_EXTERNALS.includes(dep)) out.add(dep);
      if (byName.has(dep)) visit(byName.get(dep)!, seen);
    }
  };
  const fromBins = reachedPackages(binSources(pkg).map((f) => join(srcOf(pkg), 'bin', f)));
  for (const dep of fromBins) if (byName.has(dep)) visit(byName.get(dep)!, new Set());
  return out;
}

describe('package manifests', () => {
  for (const pkg of PACKAGES) {
    describe(pkg, () => {
      const m = manifest(pkg);

      it('list exactly what the code imports (and bundled programs load)', () => {
        const used = reachedPackages([join(srcOf(pkg), 'index.ts'), ...binSources(pkg).map((f) => join(srcOf(pkg), 'bin', f))]);
        for (const ext of bundledExternals(pkg)) used.add(ext);
        for (const dep of reachedPackages([join(srcOf(pkg), 'index.ts')])) if (TYPES_FROM_DEFINITELY_TYPED.includes(dep)) used.add(`@types/${dep}`);
        expect(Object.keys(m.dependencies ?? {}).sort()).toEqual([...used].sort());
      });

      it('name other @kpop packages by their version, never workspace:', () => {
        for (const [dep, spec] of Object.entries({ ...m.dependencies, ...m.devDependencies })) {
          expect(spec, `${m.name} → ${dep}`).not.toMatch(/^workspace:/);
          if (byName.has(dep)) expect(spec).toBe(manifest(byName.get(dep)!).version);
        }
      });

      it('are installable: not private, ESM, dist shipped, exports give types and JavaScript', () => {
        expect(m.private).toBeUndefined();
        expect(m.type).toBe('module');
        expect(m.files).toContain('dist');
        expect(m.exports['.']).toEqual({ 'kpop-source': './src/index.ts', types: './dist/esm/index.d.ts', default: './dist/esm/index.js' });
      });

      it('have one bin per src/bin/*.ts', () => {
        const targets = Object.values(m.bin ?? {}).sort();
        expect(targets).toEqual(binSources(pkg).map((f) => `./dist/bin/${f.replace(/\.ts$/, '.js')}`).sort());
      });
    });
  }

  it('the programs the issue names are bins', () => {
    const all = Object.assign({}, ...PACKAGES.map((p) => manifest(p).bin ?? {})) as Record<string, string>;
    for (const name of ['kdc', 'kpop', 'kinit', 'klist', 'kdestroy', 'kvno', 'kswitch']) expect(all[name], name).toBeDefined();
  });
});
