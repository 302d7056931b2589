// The `kdc` program: the KDC's admin CLI and server (see admin/cli.ts).
import { escapeForTerminal } from '@kpop/common';
import { runKdcCli } from '../admin/cli.js';

// A last net under everything: one line, never a stack trace.
process.on('uncaughtException', (e) => {
  process.stderr.write(`kdc: ${escapeForTerminal(e instanceof Error ? e.message.replace(/\s*\n\s*/g, '; ') : String(e))}\n`);
  process.exit(1);
});

// No top-level await: the bin is CommonJS (package.json binFormat), run from a V8 code cache, so
// that an admin command does not spend most of its time compiling the bundle.
void (async () => {
  const code = await runKdcCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
  // Exit now: a standard input still open (a pipe whose writer lingers) must not keep a finished command alive.
  // But first let what was written reach a slow reader: a write to a full pipe is queued, not blocking
  // (`kdc dump | ssh host kdc load -` lost all but the first 64 KiB when this exited at once).
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => (s.writableLength === 0 ? resolve() : s.write('', () => resolve())))));
  process.exit(code);
})();
