// kswitch (MIT-compatible).
import { startProgram } from '../io.js';
import { KSWITCH_USAGE, kswitchMain } from '../kswitch.js';

startProgram('kswitch', KSWITCH_USAGE, 2, (io) => kswitchMain(io));
