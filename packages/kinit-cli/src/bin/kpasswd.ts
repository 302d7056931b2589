// kpasswd (MIT-compatible); launch.js answers --help before the Kerberos code is loaded.
import { launch } from '../launch.js';
import { KPASSWD_USAGE } from '../usage.js';

launch('kpasswd', KPASSWD_USAGE, 1, () => import('../kpasswd.js').then(({ kpasswdMain }) => (io) => kpasswdMain(io)));
