// klist (MIT-compatible); launch.js answers --help before the Kerberos code is loaded.
import { launch } from '../launch.js';
import { KLIST_USAGE } from '../usage.js';

launch('klist', KLIST_USAGE, 1, () => import('../klist.js').then(({ klistMain }) => (io) => klistMain(io)));
