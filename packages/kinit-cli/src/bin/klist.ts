// klist (MIT-compatible). --help is answered before the Kerberos code is loaded,
// so that it starts about as fast as node itself. No top-level await: the
// build makes this a CommonJS bundle (see scripts/build.mjs), where the
// modules below are initialised, and node's built-ins required, only here.
import { KLIST_USAGE } from '../usage.js';

if (process.argv.slice(2).includes('--help')) {
  process.stdout.write(KLIST_USAGE);
} else {
  void Promise.all([import('../io.js'), import('../klist.js')]).then(([{ startProgram }, { klistMain }]) =>
    startProgram('klist', KLIST_USAGE, 1, (io) => klistMain(io)),
  ).catch((e: unknown) => {
    // Only a broken installation gets here; still one line, no stack trace.
    process.stderr.write(`klist: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
