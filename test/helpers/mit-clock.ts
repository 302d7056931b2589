/**
 * A pinned clock for the C programs a test starts (MIT's klist, kinit, kvno …).
 *
 * Our own programs take their clock from the test; MIT's take it from the
 * kernel. libfaketime (Debian's `faketime`, which .ci/run installs) moves the
 * kernel's answer for one child process, so a fixture's times are compared
 * with the instant the test pins, never with today's date.
 */
import { spawnSync } from 'node:child_process';

/** True when the `faketime` wrapper is installed. */
export const hasFaketime: boolean = spawnSync('sh', ['-c', 'command -v faketime'], { stdio: 'ignore' }).status === 0;

/** `YYYY-MM-DD hh:mm:ss` in UTC, as libfaketime's absolute start form (`@…`) wants it with TZ=UTC. */
function faketimeStamp(at: Date): string {
  return at.toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * The command and arguments that run `program args…` with its clock starting
 * at `at` (and running on from there). The caller's env must set TZ=UTC.
 */
export function atClock(at: Date, program: string, args: readonly string[]): [string, string[]] {
  return ['faketime', ['-f', `@${faketimeStamp(at)}`, program, ...args]];
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
