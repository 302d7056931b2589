/**
 * Our kinit, klist, kdestroy, kvno and kswitch as users run them: bundled
 * JavaScript started with node (the same esbuild settings as
 * scripts/build.mjs, built once per test process into a temp directory so
 * that tests do not depend on, or race with, the shared dist/ build).
 */
import { spawnSync } from 'node:child_process';
import { runAsync, type RunResult } from '../../packages/kinit-cli/src/testing/run-async.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const KINIT_PROGRAMS = ['kinit', 'klist', 'kdestroy', 'kvno', 'kswitch', 'kpasswd'] as const;
export type KinitProgram = (typeof KINIT_PROGRAMS)[number];

let built: Promise<string> | undefined;

// Registered when a test file imports this helper, so it runs after that file's tests: the bundle goes with them.
afterAll(async () => {
  const dir = await built?.catch(() => undefined);
  built = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Build the five programs (once) and return the directory holding <name>.js. */
export function buildKinitBins(): Promise<string> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    const out = mkdtempSync(join(tmpdir(), 'kinit-bins-'));
    await build({
      entryPoints: KINIT_PROGRAMS.map((p) => join(root, 'packages/kinit-cli/src/bin', `${p}.ts`)),
      outdir: out,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      // The workspace's packages from their sources, as scripts/build.mjs bundles them.
      conditions: ['kpop-source'],
      banner: { js: "import { createRequire as __kpopCreateRequire } from 'node:module';\nconst require = __kpopCreateRequire(import.meta.url);" },
      logLevel: 'error',
      outExtension: { '.js': '.mjs' },
    });
    return out;
  })();
  return built;
}

export { runAsync, type RunResult } from '../../packages/kinit-cli/src/testing/run-async.js';

/** Run one of our programs (built) with arguments, environment and stdin. */
export async function runOurs(prog: KinitProgram, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<RunResult> {
  const dir = await buildKinitBins();
  return runAsync(process.execPath, [join(dir, `${prog}.mjs`), ...args], env, input);
}

/** Run an MIT program (kinit, klist, …) synchronously: only for KDCs in another process. */
export function runMit(prog: string, args: string[], env: NodeJS.ProcessEnv, input = ''): RunResult {
  const r = spawnSync(prog, args, { env, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run an MIT program without blocking (against a KDC in this process). */
export function runMitAsync(prog: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<RunResult> {
  return runAsync(prog, args, env, input);
}
