// kswitch (MIT-compatible); launch.js answers --help before the Kerberos code is loaded.
import { launch } from '../launch.js';
import { KSWITCH_USAGE } from '../usage.js';

launch('kswitch', KSWITCH_USAGE, 2, () => import('../kswitch.js').then(({ kswitchMain }) => (io) => kswitchMain(io)));
