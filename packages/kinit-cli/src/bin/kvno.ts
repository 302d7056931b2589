// kvno (MIT-compatible). --help is answered before the Kerberos code is loaded,
// so that it starts about as fast as node itself.
import { KVNO_USAGE } from '../usage.js';

if (process.argv.slice(2).includes('--help')) {
  process.stdout.write(KVNO_USAGE);
} else {
  const { startProgram } = await import('../io.js');
  const { kvnoMain } = await import('../kvno.js');
  startProgram('kvno', KVNO_USAGE, 1, (io) => kvnoMain(io));
}
