// kinit (MIT-compatible); launch.js answers --help before the Kerberos code is loaded.
import { launch } from '../launch.js';
import { KINIT_USAGE } from '../usage.js';

launch('kinit', KINIT_USAGE, 2, () => import('../kinit.js').then(({ kinitMain }) => (io) => kinitMain(io)));
