// kvno (MIT-compatible); launch.js answers --help before the Kerberos code is loaded.
import { launch } from '../launch.js';
import { KVNO_USAGE } from '../usage.js';

launch('kvno', KVNO_USAGE, 1, () => import('../kvno.js').then(({ kvnoMain }) => (io) => kvnoMain(io)));
