/**
 * The `kpop fetch` command line (commander 14). Every failure is ONE line on
 * stderr, "kpop fetch: what went wrong (what to do)", and a non-zero exit:
 * 2 for a usage mistake, 1 for anything else. Never a stack trace.
 */
import { Command, CommanderError, Option } from 'commander';
import { escapeForTerminal } from '@kpop/common';
import { FetchError } from './errors.js';
import { defaultPort, runFetch, type FetchMechanism, type FetchTls } from './fetch.js';
import type { StoreFormat } from './store.js';

export interface FetchIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env?: NodeJS.ProcessEnv;
}

interface RawOptions {
  kpop?: boolean;
  gssapi?: boolean;
  tls?: boolean;
  tlsImplicit?: boolean;
  cafile?: string;
  host: string;
  port?: string;
  user?: string;
  keep?: boolean;
  out: string;
  format?: StoreFormat;
  ccache?: string;
  service?: string;
  timeout?: string;
  verbose?: boolean;
}

class UsageError extends Error {}

function intArg(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

/** One line, whatever was thrown. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // The server's -ERR text and names from tickets end up here: no control byte reaches the terminal.
  return escapeForTerminal(msg.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, '; ')) || 'unknown error';
}

/**
 * The `fetch` subcommand, to add to the `kpop` program. `done(code)` is
 * called with the exit status (the action never throws).
 */
export function fetchCommand(io: FetchIo, done: (code: number) => void = (c) => void (process.exitCode = c)): Command {
  const cmd = new Command('fetch');
  cmd
    // Added with addCommand, it inherits nothing from the kpop program: say usage errors in one line here, and throw
    // (CommanderError) instead of exiting, so the caller picks the status.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s) => io.stderr.write(`kpop fetch: ${oneLine(s)} (see "kpop fetch --help")\n`),
    })
    .description('fetch mail with Kerberos (KPOP or AUTH GSSAPI) into a Maildir or an mbox, using the tickets from kinit')
    .addOption(new Option('--kpop', 'KPOP: krb5 sendauth first, on the KPOP port (default port 1109)').conflicts('gssapi'))
    .addOption(new Option('--gssapi', 'POP3 AUTH GSSAPI, RFC 5034/4752 (the default; port 110, 995 with --tls-implicit)').conflicts('kpop'))
    .addOption(new Option('--tls', 'upgrade with STLS before authenticating (RFC 2595)').conflicts('tlsImplicit'))
    .option('--tls-implicit', 'TLS from the first byte (POP3S, RFC 8314)')
    .option('--cafile <file>', 'PEM CA certificates to trust for TLS (the lab: var/lab/ca/ca.pem)')
    .option('--host <host>', 'server host; the ticket is for pop/HOST', 'localhost')
    .option('--port <port>', 'server port')
    .option('--user <user>', 'mailbox to open (default: your principal\'s name)')
    .option('--keep', 'leave the messages on the server')
    .option('--out <path>', 'Maildir folder, or mbox file (a .mbox name or an existing file)', 'Maildir')
    .addOption(new Option('--format <format>', 'force the output format').choices(['maildir', 'mbox']))
    .option('-c, --ccache <name>', 'credentials cache (default $KRB5CCNAME)')
    .option('--service <name>', 'Kerberos service name', 'pop')
    .option('--timeout <seconds>', 'give up when the server is silent this long', '30')
    .option('-v, --verbose', 'say what happens')
    .action(async (raw: RawOptions) => {
      try {
        const mechanism: FetchMechanism = raw.kpop ? 'kpop' : 'gssapi';
        const tls: FetchTls = raw.tlsImplicit ? 'implicit' : raw.tls ? 'stls' : 'none';
        const port = raw.port !== undefined ? intArg('--port', raw.port, 1, 65535) : defaultPort(mechanism, tls);
        const timeoutMs = intArg('--timeout', raw.timeout ?? '30', 1, 3600) * 1000;
        if (raw.cafile !== undefined && tls === 'none') throw new UsageError('--cafile needs --tls or --tls-implicit');
        if (raw.user !== undefined && !/^[A-Za-z0-9._@+-]{1,64}$/.test(raw.user)) throw new UsageError(`--user "${raw.user}" is not a mailbox name`);
        const r = await runFetch({
          host: raw.host,
          port,
          mechanism,
          tls,
          keep: !!raw.keep,
          out: raw.out,
          timeoutMs,
          ...(raw.cafile !== undefined ? { cafile: raw.cafile } : {}),
          ...(raw.user !== undefined ? { user: raw.user } : {}),
          ...(raw.format !== undefined ? { format: raw.format } : {}),
          ...(raw.ccache !== undefined ? { ccache: raw.ccache } : {}),
          ...(raw.service !== undefined ? { service: raw.service } : {}),
          ...(io.env ? { env: io.env } : {}),
          ...(raw.verbose ? { verbose: (l: string) => io.stderr.write(`kpop fetch: ${escapeForTerminal(l)}\n`) } : {}),
        });
        const what = r.fetched === 1 ? '1 message' : `${r.fetched} messages`;
        const kept = r.fetched === 0 ? '' : r.deleted ? ', removed from the server' : ', kept on the server';
        io.stdout.write(`${what} (${r.bytes} bytes) for ${r.principal} from mailbox ${r.mailbox} into ${r.store.format} ${r.store.path}${kept}${r.tls ? ', over TLS' : ''}\n`);
        done(0);
      } catch (e) {
        io.stderr.write(`kpop fetch: ${oneLine(e)}\n`);
        done(e instanceof UsageError || (e instanceof FetchError && e.kind === 'usage') ? 2 : 1);
      }
    });
  return cmd;
}

/** Runs `kpop fetch ARGS` (argv without "fetch"); resolves to the exit code. */
export async function runFetchCli(argv: string[], io: FetchIo): Promise<number> {
  let code = 0;
  const program = new Command('kpop').exitOverride().configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: () => {},
  });
  program.addCommand(fetchCommand(io, (c) => (code = c)));
  try {
    await program.parseAsync(['fetch', ...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // fetchCommand has already said what was wrong.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? 0 : 2;
    }
    io.stderr.write(`kpop fetch: ${oneLine(e)}\n`);
    return 1;
  }
}
