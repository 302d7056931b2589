// klist (MIT-compatible). --help is answered before the Kerberos code is loaded,
// so that it starts about as fast as node itself.
import { KLIST_USAGE } from '../usage.js';

if (process.argv.slice(2).includes('--help')) {
  process.stdout.write(KLIST_USAGE);
} else {
  const { startProgram } = await import('../io.js');
  const { klistMain } = await import('../klist.js');
  startProgram('klist', KLIST_USAGE, 1, (io) => klistMain(io));
}
