// How every program in bin/ starts. --help is answered before the Kerberos
// code is loaded, so that it starts about as fast as node itself: this module
// imports nothing but types, and io.js and the program's own module are
// loaded only on the other path. No top-level await: the build makes each
// bin a CommonJS bundle (see scripts/build.mjs), where the modules loaded
// here are initialised, and node's built-ins required, only when called.
import { writeSync } from 'node:fs';
import type { CliIo } from './io.js';

/** Usage to fd 1 with write(2): process.stdout would load node:tty or node:net first (node:fs is loaded already). */
function writeUsage(text: string): void {
  const data = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < data.length) off += writeSync(1, data, off, data.length - off);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') process.stdout.write(data.subarray(off));
  }
}

/**
 * Run `prog`: print `usage` for --help, else load io.js and the program's
 * main (loadMain) and run it; a failure to load (a broken installation) is
 * one line on stderr and exit status 1, never a stack trace.
 */
export function launch(prog: string, usage: string, usageStatus: number, loadMain: () => Promise<(io: CliIo) => Promise<number>>): void {
  if (process.argv.slice(2).includes('--help')) {
    writeUsage(usage);
    return;
  }
  void Promise.all([import('./io.js'), loadMain()]).then(([{ startProgram }, main]) =>
    startProgram(prog, usage, usageStatus, main),
  ).catch((e: unknown) => {
    process.stderr.write(`${prog}: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
