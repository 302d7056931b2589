// kinit (MIT-compatible). --help is answered before the Kerberos code is loaded,
// so that it starts about as fast as node itself.
import { KINIT_USAGE } from '../usage.js';

if (process.argv.slice(2).includes('--help')) {
  process.stdout.write(KINIT_USAGE);
} else {
  const { startProgram } = await import('../io.js');
  const { kinitMain } = await import('../kinit.js');
  startProgram('kinit', KINIT_USAGE, 2, (io) => kinitMain(io));
}
