// @kpop/kinit-cli: MIT-compatible kinit, klist, kdestroy, kvno, kswitch as functions (the bins call them).
export { getopt, UsageError, type ParsedArgs } from './getopt.js';
export { runProgram, processIo, CliExit, type CliIo } from './io.js';
export { errorText } from './messages.js';
export { formatTime, flagsString } from './format.js';
export { kinitMain, parseKinitArgs, KINIT_USAGE } from './kinit.js';
export { klistMain, KLIST_USAGE } from './klist.js';
export { kdestroyMain, wipeAndRemove, KDESTROY_USAGE } from './kdestroy.js';
export { kvnoMain, KVNO_USAGE } from './kvno.js';
export { kswitchMain, KSWITCH_USAGE } from './kswitch.js';
