// kinit: obtain and cache a Kerberos ticket-granting ticket (MIT-compatible).
import { startProgram } from '../io.js';
import { KINIT_USAGE, kinitMain } from '../kinit.js';

startProgram('kinit', KINIT_USAGE, 2, (io) => kinitMain(io));
