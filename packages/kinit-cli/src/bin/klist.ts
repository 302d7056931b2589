// klist (MIT-compatible).
import { startProgram } from '../io.js';
import { KLIST_USAGE, klistMain } from '../klist.js';

startProgram('klist', KLIST_USAGE, 1, (io) => klistMain(io));
