// kswitch (MIT-compatible). --help is answered before the Kerberos code is loaded,
// so that it starts about as fast as node itself.
import { KSWITCH_USAGE } from '../usage.js';

if (process.argv.slice(2).includes('--help')) {
  process.stdout.write(KSWITCH_USAGE);
} else {
  const { startProgram } = await import('../io.js');
  const { kswitchMain } = await import('../kswitch.js');
  startProgram('kswitch', KSWITCH_USAGE, 2, (io) => kswitchMain(io));
}
