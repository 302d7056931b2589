// kdestroy (MIT-compatible); launch.js answers --help before the Kerberos code is loaded.
import { launch } from '../launch.js';
import { KDESTROY_USAGE } from '../usage.js';

launch('kdestroy', KDESTROY_USAGE, 2, () => import('../kdestroy.js').then(({ kdestroyMain }) => (io) => kdestroyMain(io)));
