/**
 * Heimdal 7.8's client programs, unpacked from Debian's packages by
 * scripts/unpack-heimdal.sh (into .tools/heimdal, or HEIMDAL_ROOT) next to
 * MIT's krb5-user rather than installed over it. They run with
 * LD_LIBRARY_PATH pointing at the unpacked libraries and a krb5.conf of the
 * test's own; Heimdal reads KRB5_CONFIG and KRB5CCNAME as MIT does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clockEnv } from './mit-clock.js';

const ROOT = join(import.meta.dirname, '..', '..');
const root = process.env.HEIMDAL_ROOT ?? join(ROOT, '.tools', 'heimdal');

export interface Heimdal {
  /** The path of an unpacked program: kinit.heimdal, kgetcred, klist.heimdal ... */
  bin(name: string): string;
  /** An environment for running them: LD_LIBRARY_PATH and PATH, plus `extra`. */
  env(extra: Record<string, string>): Record<string, string>;
}

export const heimdal: Heimdal | undefined = existsSync(join(root, 'usr', 'bin', 'kgetcred'))
  ? {
      bin: (name) => join(root, 'usr', 'bin', name),
      env: (extra) => ({ ...clockEnv(), PATH: process.env.PATH ?? '/usr/bin:/bin', LD_LIBRARY_PATH: join(root, 'usr', 'lib', 'x86_64-linux-gnu'), ...extra }),
    }
  : undefined;

/** Why a Heimdal test skips, for its title. */
export const heimdalSkipReason = heimdal ? '' : ` (skipped: Heimdal's clients are not unpacked in ${root}: run scripts/unpack-heimdal.sh)`;
