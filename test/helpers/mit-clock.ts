/**
 * A pinned clock for the C programs a test starts (MIT's klist, kinit, kvno …).
 *
 * Our own programs take their clock from the test; MIT's take it from the
 * kernel. libfaketime (Debian's `faketime`, which .ci/run installs) moves the
 * kernel's answer for one child process, so a fixture's times are compared
 * with the instant the test pins, never with today's date.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** True when the `faketime` wrapper is installed. */
export const hasFaketime: boolean = spawnSync('sh', ['-c', 'command -v faketime'], { stdio: 'ignore' }).status === 0;

/** `YYYY-MM-DD hh:mm:ss` in UTC, as libfaketime's absolute start form (`@…`) wants it with TZ=UTC. */
function faketimeStamp(at: Date): string {
  return at.toISOString().replace('T', ' ').slice(0, 19);
}

/** libfaketime itself (Debian: /usr/lib/<arch>/faketime/libfaketime.so.1), or undefined. */
const LIBFAKETIME: string | undefined = (() => {
  const dirs = ['/usr/lib/faketime', '/usr/local/lib/faketime'];
  try {
    for (const d of readdirSync('/usr/lib')) if (d.endsWith('-linux-gnu')) dirs.unshift(`/usr/lib/${d}/faketime`);
  } catch {
    // no /usr/lib: the wrapper below then says what is missing
  }
  return dirs.map((d) => `${d}/libfaketime.so.1`).find((f) => existsSync(f));
})();

/**
 * The command and arguments that run `program args…` under libfaketime with
 * FAKETIME=`spec` (e.g. `@2026-11-29 06:00:00`). The library is preloaded
 * through env(1) rather than the `faketime` wrapper: the wrapper makes a
 * shared-memory segment and a semaphore named after its own pid, which a
 * wrapper killed by a test leaves behind, and a later wrapper given the same
 * (recycled) pid then fails with "sem_open: File exists".
 */
export function faketimeCommand(spec: string, program: string, args: readonly string[]): [string, string[]] {
  if (LIBFAKETIME === undefined) return ['faketime', ['-f', spec, program, ...args]];
  return ['env', [`LD_PRELOAD=${LIBFAKETIME}`, `FAKETIME=${spec}`, program, ...args]];
}

/**
 * The command and arguments that run `program args…` with its clock starting
 * at `at` (and running on from there). The caller's env must set TZ=UTC.
 */
export function atClock(at: Date, program: string, args: readonly string[]): [string, string[]] {
  return faketimeCommand(`@${faketimeStamp(at)}`, program, args);
}

/**
 * The variables that carry this process's clock to a child whose environment
 * a test builds from scratch (`{ PATH, KRB5_CONFIG, … }`): libfaketime's
 * LD_PRELOAD and FAKETIME settings when the suite itself runs under
 * `faketime` (the clock audit: `faketime -f +Ns npx vitest run`), nothing
 * otherwise. With them the child reads the same clock as the test; without,
 * curl judged the test's fresh certificates "not yet valid".
 */
export function clockEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('FAKETIME') || k === 'DONT_FAKE_MONOTONIC' || (k === 'LD_PRELOAD' && v.includes('faketime'))) out[k] = v;
  }
  return out;
}
