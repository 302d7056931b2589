// kdestroy (MIT-compatible). --help is answered before the Kerberos code is loaded,
// so that it starts about as fast as node itself.
import { KDESTROY_USAGE } from '../usage.js';

if (process.argv.slice(2).includes('--help')) {
  process.stdout.write(KDESTROY_USAGE);
} else {
  const { startProgram } = await import('../io.js');
  const { kdestroyMain } = await import('../kdestroy.js');
  startProgram('kdestroy', KDESTROY_USAGE, 2, (io) => kdestroyMain(io));
}
