/**
 * lab: `npm start` runs this (scripts/start.mjs passes its flags through).
 * Makes or reuses the realm under ./var/lab, serves until Ctrl-C (SIGINT) or
 * SIGTERM, then closes every listener and the database and exits 0.
 * SIGHUP reopens kdc.log and pop.log (for logrotate).
 */
import { startLabFromArgs } from '../lab/cli.js';
import { labCommand } from '../compare/cli.js';

// `npm start -- compare [--dir DIR] [--json]`: the comparison, against the lab already running.
const argv = process.argv.slice(2);
const lab = argv[0] === 'compare'
  ? await labCommand({ stdout: process.stdout, stderr: process.stderr }, (code) => { process.exitCode = code; }).parseAsync(argv, { from: 'user' }).then(() => Number(process.exitCode ?? 0))
  : await startLabFromArgs(argv, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
if (typeof lab === 'number') {
  process.exitCode = lab;
} else {
  const stop = (signal: string): void => {
    process.stdout.write(`\nkpop lab: ${signal}: stopping…\n`);
    lab.close().then(
      () => {
        process.stdout.write('kpop lab: stopped; npm start brings the same realm back\n');
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(`lab: stopping failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  // logrotate moves kdc.log and pop.log, then sends SIGHUP: start new files.
  process.on('SIGHUP', () => {
    try {
      lab.reopenLogs();
    } catch (e) {
      process.stderr.write(`lab: SIGHUP: cannot reopen the logs: ${(e as Error).message}\n`);
    }
  });
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
