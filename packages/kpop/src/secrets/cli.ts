/**
 * `kpop secrets set|delete|list`: the secrets of APOP, CRAM-MD5, SCRAM and
 * NTLM (./store.ts). The password comes from a hidden prompt (asked twice)
 * or, with --stdin, from the first line of standard input; never from the
 * command line, where `ps` would show it.
 */
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { isValidSecretUser, SecretsError, SecretsStore, type SecretsPaths } from './store.js';

export const DEFAULT_SECRETS_FILE = '/etc/kpop/secrets.json';

export class SecretsCliError extends Error {}

/** The store's paths from options and the environment (KPOP_SECRETS, KPOP_SECRETS_KEY). */
export function secretsPaths(o: { file?: string; keyFile?: string }, env: NodeJS.ProcessEnv = process.env): SecretsPaths {
  const file = o.file ?? env.KPOP_SECRETS ?? DEFAULT_SECRETS_FILE;
  return { file, keyFile: o.keyFile ?? env.KPOP_SECRETS_KEY ?? join(dirname(file), 'secrets.key') };
}

function firstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', done);
      stdin.pause();
      if (err) return reject(err);
      const line = text.split(/\r?\n/)[0] ?? '';
      if (!line) reject(new SecretsCliError('--stdin: standard input holds no password (give one line)'));
      else resolve(line);
    };
    const onData = (c: Buffer | string) => {
      text += c.toString();
      if (text.includes('\n')) done();
      else if (text.length > 65536) done(new SecretsCliError('--stdin: no line end in the first 64 KiB'));
    };
    const onEnd = () => done();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', done);
    stdin.resume();
  });
}

function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(new SecretsCliError('no terminal to ask for the password on: use --stdin'));
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const c of chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') return done();
        if (c === '\u0003' || c === '\u0004') return done(new SecretsCliError('cancelled'));
        if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
        else if (c >= ' ') value += c;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

interface Common { file?: string; keyFile?: string }

export function secretsCommand(out: { write(s: string): unknown } = process.stdout): Command {
  const cmd = new Command('secrets').description('secrets for APOP, CRAM-MD5, SCRAM and NTLM (apart from the Kerberos keys)');
  const common = (c: Command) => c
    .option('--file <file>', `the store (default $KPOP_SECRETS or ${DEFAULT_SECRETS_FILE})`)
    .option('--key-file <file>', 'the key that encrypts password-equivalents (default $KPOP_SECRETS_KEY or secrets.key beside the store)');
  const run = (f: () => void | Promise<void>) => async () => {
    try {
      await f();
    } catch (e) {
      if (e instanceof SecretsError) throw new SecretsCliError(e.message);
      if ((e as NodeJS.ErrnoException).code) throw new SecretsCliError(`${(e as Error).message} (check the --file and --key-file paths)`);
      throw e;
    }
  };

  common(cmd.command('set').description('set USER\'s secrets from a password (prompted twice, or --stdin)').argument('<user>'))
    .option('--stdin', 'read the password from the first line of standard input')
    .option('--scram-only', 'keep only the SCRAM verifiers (no password-equivalent: APOP, CRAM-MD5 and NTLM then refuse the user)')
    .option('--iterations <n>', 'SCRAM PBKDF2 iterations', '4096')
    .action((user: string, o: Common & { stdin?: boolean; scramOnly?: boolean; iterations: string }, c: Command) => run(async () => {
      if (!isValidSecretUser(user)) throw new SecretsCliError(`"${user.replace(/[^\x21-\x7e]/g, '?')}" is not a valid user name (printable ASCII, no spaces)`);
      if (!/^\d{1,7}$/.test(o.iterations) || Number(o.iterations) < 4096) throw new SecretsCliError(`--iterations must be a whole number of at least 4096 (RFC 7677 §4), got "${o.iterations}"`);
      let password: string;
      if (o.stdin) password = await firstLine(process.stdin);
      else {
        password = await promptHidden(`Password for ${user}: `);
        if ((await promptHidden(`Again: `)) !== password) throw new SecretsCliError('the passwords differ; nothing was changed');
        if (!password) throw new SecretsCliError('the password is empty; nothing was changed');
      }
      const store = new SecretsStore(secretsPaths(o));
      store.set(user, password, { scramOnly: o.scramOnly, iterations: Number(o.iterations) });
      out.write(`secrets set for ${user} in ${store.paths.file}${o.scramOnly ? ' (SCRAM only)' : ''}\n`);
      void c;
    })());

  common(cmd.command('delete').description('remove USER\'s secrets').argument('<user>'))
    .action((user: string, o: Common) => run(() => {
      const store = new SecretsStore(secretsPaths(o));
      if (!store.delete(user)) throw new SecretsCliError(`${user.replace(/[^\x21-\x7e]/g, '?')} has no secrets in ${store.paths.file}`);
      out.write(`secrets of ${user} deleted from ${store.paths.file}\n`);
    })());

  common(cmd.command('list').description('the users with secrets, and the mechanisms they allow').argument('[user]'))
    .option('--json', 'one JSON object per line')
    .action((user: string | undefined, o: Common & { json?: boolean }) => run(() => {
      const store = new SecretsStore(secretsPaths(o));
      const rows = store.list().filter((r) => user === undefined || r.user === user);
      if (user !== undefined && rows.length === 0) throw new SecretsCliError(`${user.replace(/[^\x21-\x7e]/g, '?')} has no secrets in ${store.paths.file}`);
      for (const r of rows) out.write(o.json ? JSON.stringify(r) + '\n' : `${r.user}\t${r.mechanisms.join(' ')}\t${r.updated}\n`);
    })());
  return cmd;
}
