// @kpop/kinit-cli: MIT-compatible kinit, klist, kdestroy, kvno, kswitch as functions (the bins call them).
export { getopt, UsageError, type ParsedArgs } from './getopt.js';
export { runProgram, processIo, CliExit, type CliIo } from './io.js';
export { errorText } from './messages.js';
export { formatTime, flagsString } from './format.js';
export { kinitMain, parseKinitArgs } from './kinit.js';
export { klistMain } from './klist.js';
export { kdestroyMain, wipeAndRemove } from './kdestroy.js';
export { kvnoMain } from './kvno.js';
export { kswitchMain } from './kswitch.js';
export { KINIT_USAGE, KLIST_USAGE, KDESTROY_USAGE, KVNO_USAGE, KSWITCH_USAGE } from './usage.js';
export { kpasswdMain } from './kpasswd.js';
export { KPASSWD_USAGE } from './usage.js';
