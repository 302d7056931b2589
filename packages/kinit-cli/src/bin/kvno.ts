// kvno (MIT-compatible).
import { startProgram } from '../io.js';
import { KVNO_USAGE, kvnoMain } from '../kvno.js';

startProgram('kvno', KVNO_USAGE, 1, (io) => kvnoMain(io));
