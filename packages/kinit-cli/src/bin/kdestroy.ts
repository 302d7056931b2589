// kdestroy (MIT-compatible).
import { startProgram } from '../io.js';
import { KDESTROY_USAGE, kdestroyMain } from '../kdestroy.js';

startProgram('kdestroy', KDESTROY_USAGE, 2, (io) => kdestroyMain(io));
