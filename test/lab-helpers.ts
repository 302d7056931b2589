/**
 * Helpers for the lab tests: the programs users run, bundled with the same
 * esbuild settings as scripts/build.mjs into a private folder under
 * packages/kpop (so `better-sqlite3` resolves as it does from dist/), a lab
 * process that is started and stopped like `npm start` and Ctrl-C, and a
 * child-process runner that keeps the event loop free.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const BANNER = "import { createRequire as __kpopCreateRequire } from 'node:module';\nconst require = __kpopCreateRequire(import.meta.url);";

export interface Bins {
  dir: string;
  lab: string;
  kinit: string;
  klist: string;
  kdc: string;
  /** `kpop` with the fetch subcommand. */
  kpop: string;
  cleanup(): void;
}

let built: Promise<Bins> | undefined;

/** The kpop bin when it registers `fetch`; otherwise a stand-in entry calling the same runFetchCli. */
function kpopEntry(): { entryPoints: string[] } | { stdin: { contents: string; resolveDir: string; loader: 'ts' } } {
  const kpopTs = join(ROOT, 'packages/kpop/src/bin/kpop.ts');
  let src = '';
  try {
    src = readFileSync(kpopTs, 'utf8');
  } catch {
    // no kpop bin yet
  }
  if (/fetchCommand|fetch\/cli/.test(src)) return { entryPoints: [kpopTs] };
  return {
    stdin: {
      contents: "import { runFetchCli } from './packages/kpop/src/fetch/cli.js';\nconst a = process.argv.slice(2);\nif (a[0] !== 'fetch') { process.stderr.write('kpop: only fetch here\\n'); process.exit(2); }\nprocess.exitCode = await runFetchCli(a.slice(1), { stdout: process.stdout, stderr: process.stderr });\n",
      resolveDir: ROOT,
      loader: 'ts',
    },
  };
}

export function buildBins(): Promise<Bins> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    const cache = join(ROOT, 'packages/kpop/node_modules/.cache');
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'lab-test-'));
    const common = { bundle: true, platform: 'node' as const, target: 'node20', format: 'esm' as const, conditions: ['kpop-source'], external: ['better-sqlite3'], banner: { js: BANNER }, logLevel: 'error' as const };
    await Promise.all([
      build({ ...common, entryPoints: [join(ROOT, 'packages/kpop/src/bin/lab.ts')], outfile: join(dir, 'lab.mjs') }),
      build({ ...common, entryPoints: [join(ROOT, 'packages/kinit-cli/src/bin/kinit.ts')], outfile: join(dir, 'kinit.mjs') }),
      build({ ...common, entryPoints: [join(ROOT, 'packages/kinit-cli/src/bin/klist.ts')], outfile: join(dir, 'klist.mjs') }),
      build({ ...common, entryPoints: [join(ROOT, 'packages/kdc/src/bin/kdc.ts')], outfile: join(dir, 'kdc.mjs') }),
      build({ ...common, ...kpopEntry(), outfile: join(dir, 'kpop.mjs') }),
    ]);
    return { dir, lab: join(dir, 'lab.mjs'), kinit: join(dir, 'kinit.mjs'), klist: join(dir, 'klist.mjs'), kdc: join(dir, 'kdc.mjs'), kpop: join(dir, 'kpop.mjs'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  })();
  return built;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without blocking the event loop. */
export function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that exits before reading all its input closes the pipe: the
    // write then fails with EPIPE, which is no error of the run (its exit
    // code and output say what happened). Anything else still fails the run.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
    });
    child.stdin.end(o.input ?? '');
  });
}

export interface LabProcess {
  child: ChildProcess;
  output(): string;
  errors(): string;
  /** Ctrl-C: resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the lab and waits for its banner (or its exit). */
export async function startLab(bins: Bins, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<LabProcess & { exited?: Run }> {
  const child = spawn(process.execPath, [bins.lab, ...args], { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const ready = await Promise.race([
    (async () => {
      while (!out.includes('Ctrl-C stops the lab')) await new Promise((r) => setTimeout(r, 50));
      return 'ready' as const;
    })(),
    closed.then(() => 'exited' as const),
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000)),
  ]);
  const proc: LabProcess = {
    child,
    output: () => out,
    errors: () => err,
    async stop(signal = 'SIGINT') {
      child.kill(signal);
      return closed;
    },
  };
  if (ready === 'timeout') {
    child.kill('SIGKILL');
    throw new Error(`the lab did not start within 60 s: ${out} ${err}`);
  }
  if (ready === 'exited') return { ...proc, exited: { code: await closed, stdout: out, stderr: err } };
  return proc;
}

export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}
