/**
 * `kpop lab compare [--dir DIR] [--json] [--words N]` (also `npm start --
 * compare`): runs ./compare.ts against the lab running from DIR, prints the
 * table (or JSON lines) on stdout, progress on stderr, and writes the HTML
 * report to DIR/compare/index.html.
 */
import { Command } from 'commander';
import { DEFAULT_LAB_DIR, labPaths } from '../lab/layout.js';
import { labSecretsPaths } from '../lab/secrets.js';
import { SecretsStore } from '../secrets/store.js';
import { CompareError, runCompare } from './compare.js';
import { jsonLines, table, writeHtml } from './report.js';

export interface CompareIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export interface CompareArgs {
  dir: string;
  json?: boolean;
  words?: string;
  only?: string;
  clients?: string;
}

export async function compareAction(o: CompareArgs, io: CompareIo): Promise<number> {
  const words = o.words === undefined ? 10_000 : Number(o.words);
  if (!Number.isInteger(words) || words < 1 || words > 10_000_000) {
    io.stderr.write(`kpop lab compare: --words must be a whole number from 1 to 10000000, got "${o.words}"\n`);
    return 2;
  }
  if (o.clients !== undefined && o.clients !== 'real' && o.clients !== 'ours') {
    io.stderr.write(`kpop lab compare: --clients is "real" or "ours", got "${o.clients}"\n`);
    return 2;
  }
  try {
    const rows = await runCompare({ dir: o.dir, words, clients: o.clients === 'ours' ? 'ours' : 'real', ...(o.only ? { only: o.only.split(',') } : {}), progress: (l) => io.stderr.write(l + '\n') });
    io.stdout.write(o.json ? jsonLines(rows) : table(rows));
    const password = new SecretsStore(labSecretsPaths(labPaths(o.dir).dir)).password(rows.length ? 'alice' : 'alice') ?? '';
    const file = writeHtml(labPaths(o.dir).dir, rows, password);
    io.stderr.write(`kpop lab compare: report with every transcript: ${file}\n`);
    return 0;
  } catch (e) {
    if (e instanceof CompareError) {
      io.stderr.write(`kpop lab compare: ${e.message}\n`);
      return 1;
    }
    io.stderr.write(`kpop lab compare: ${(e as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}

export function labCommand(io: CompareIo, done: (code: number) => void): Command {
  const lab = new Command('lab').description('the lab (npm start runs it)');
  lab.command('compare')
    .description('log in to the running lab every way it allows, through a recording relay, and report what each gives an eavesdropper')
    .option('--dir <dir>', 'the lab folder', DEFAULT_LAB_DIR)
    .option('--json', 'one JSON object per line and method instead of the table')
    .option('--words <n>', 'size of the offline-guessing word list (the real password is planted in it)', '10000')
    .option('--only <methods>', 'only these methods, comma-separated (KPOP, GSSAPI, USER/PASS, LOGIN, APOP, CRAM-MD5, SCRAM-SHA-256, NTLMv2, NTLMv1)')
    .option('--clients <which>', '"real": the Debian clients where installed, ours otherwise (default); "ours": ours only', 'real')
    .action(async (o: CompareArgs) => done(await compareAction(o, io)));
  return lab;
}
