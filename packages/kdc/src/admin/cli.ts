/**
 * The `kdc` command line (commander 14): subcommands as MIT's kdb5_util and
 * kadmin.local name them. Every error, commander's own included, becomes ONE
 * line on stderr ("kdc addprinc: ...") and a non-zero exit: 2 for a usage
 * mistake, 1 for anything else. No stack trace ever reaches the user.
 */
import { Command, CommanderError, Option } from 'commander';
import { escapeForTerminal, KrbError } from '@kpop/common';
import { KdcDbError } from '../db/index.js';
import { cmdAddprinc, cmdCpw, cmdDelprinc, cmdDump, cmdGetprinc, cmdInit, cmdKtadd, cmdListprincs, cmdLoad, cmdModprinc, cmdRealm, DB_ENV, DEFAULT_DIR, DIR_ENV, MASTER_PASSWORD_ENV, type CliIo } from './commands.js';
import { UsageError } from './parse.js';
import { cmdStart } from './start.js';
import { cmdAddpol, cmdDelpol, cmdGetpol, cmdListpols, cmdModpol, policyOptions } from './policy-commands.js';
import { cmdTestRealm } from './test-realm.js';

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

function dirOption(): Option {
  return new Option('-d, --dir <dir>', `database directory (default $${DIR_ENV} or ${DEFAULT_DIR})`);
}

function dbOption(): Option {
  return new Option('--db <url>', `keep the principals in PostgreSQL at this URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE; default $${DB_ENV}, else SQLite in --dir); --dir still holds this host's stash`);
}

function lifetimeOptions(c: Command): Command {
  return c
    .option('--max-life <time>', 'maximum ticket life (10h, 1d, 30m, 1d2h, h:m:s, seconds; 0 = realm default)')
    .option('--max-renew <time>', 'maximum renewable life (same forms)')
    .option('--expire <date>', 'principal expiration: never, +30d, 2027-01-01, 2027-01-01T12:00:00Z')
    .option('--pwexpire <date>', 'password expiration (same forms)');
}

function realmOptions(c: Command): Command {
  return c
    .option('--max-life <time>', 'realm maximum ticket life (default 10h)')
    .option('--max-renew <time>', 'realm maximum renewable life (default 7d)')
    .option('--clock-skew <time>', 'clock skew allowed (default 5m)')
    .option('-e, --enctypes <list>', 'enctypes of new keys (default aes256-cts,aes128-cts,aes256-sha2,aes128-sha2)')
    .option('--max-failures <n>', 'lock a principal after n failed pre-authentications (0 = never, the default)')
    .option('--failure-window <time>', 'failures older than this are forgotten (default 10m; 0 = never)')
    .option('--lockout-duration <time>', 'how long a lockout lasts (default 10m; 0 = until `kdc modprinc --unlock`)');
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('kdc');
  program
    .description(`The kpop Kerberos KDC and its principal database.\nThe master key comes from DIR/stash, or from $${MASTER_PASSWORD_ENV} (or a prompt) for a realm made with --no-stash.`)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Errors are printed once, by runKdcCli, as one line.
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .helpCommand(true);

  realmOptions(program.command('init').description('create a realm: database, master key, krbtgt/REALM with random keys'))
    .requiredOption('-r, --realm <realm>', 'realm name, e.g. LAB.TEST')
    .addOption(dirOption())
    .option('--no-stash', `derive the master key from a master password ($${MASTER_PASSWORD_ENV} or a prompt) instead of a stash file`)
    .action((o, c: Command) => cmdInit(c.opts(), io));

  realmOptions(program.command('realm').description('show the realm settings, changing those given'))
    .addOption(dirOption())
    .action((o, c: Command) => cmdRealm(c.opts(), io));

  program.command('start').description('run the KDC (UDP and TCP on each address; one JSON log line per request on stdout)')
    .addOption(dirOption())
    .option('-l, --listen <host:port>', 'address to serve, repeatable (default 127.0.0.1:88)', collect)
    .option('--max-udp-reply <bytes>', 'larger UDP replies get RESPONSE_TOO_BIG so that clients retry over TCP (default 1400)')
    .option('--rate-per-address <n>', 'requests per second served to one client address, UDP and TCP together (default 1000; 0 = no limit)')
    .option('--burst-per-address <n>', 'requests one quiet address may send at once (default 2000)')
    .option('--failure-logs-per-address <n>', 'failure log lines per address per interval before they are only counted (default 100; 0 = no cap)')
    .option('--limit-log-interval <seconds>', 'one RATE_LIMITED / JUNK / refusal line per address per interval (default 10)')
    .option('--tcp-max-connections <n>', 'open TCP connections at most (default 1024)')
    .option('--tcp-max-per-address <n>', 'open TCP connections at most from one address (default 32)')
    .option('--tcp-idle-timeout <seconds>', 'close a TCP connection with no complete request for this long (default 30)')
    .option('--tcp-frame-timeout <seconds>', 'close a TCP connection whose started request is not complete after this long (default 10)')
    .option('-w, --workers <n>', 'worker processes serving the same ports: a number, or auto for one per core (default 1)')
    .option('--principal-cache <n>', 'principals kept decrypted in memory per process; others are read from the database on demand (default 10000)')
    .option('--kpasswd-listen <host:port>', 'kpasswd service address (RFC 3244), repeatable (default port 464 on the --listen hosts; none: off)', collect)
    .option('--kpasswd-admin <principal>', 'principal (glob) allowed to set other principals\' passwords through kpasswd, repeatable', collect)
    .option('--log-file <file>', 'write the request log to FILE instead of stdout (reopened on SIGHUP, for logrotate)')
    .option('--log-max-size <size>', 'with --log-file: rotate FILE to FILE.1 … past this size, e.g. 64M (0: never)', '64M')
    .option('--log-keep <n>', 'with --log-file: rotated files kept (FILE.1 … FILE.N)', '5')
    .action((o, c: Command) => cmdStart(c.opts(), io));

  lifetimeOptions(program.command('addprinc').description('add a principal (keys in every realm enctype, pre-authentication required)').argument('<name>', 'alice, alice@REALM or pop/host'))
    .addOption(dirOption())
    .option('-p, --password <pw>', 'the password (visible to other users in ps: prefer --pw-stdin or the prompt)')
    .option('--pw-stdin', 'read the password from the first line of standard input')
    .option('--randkey', 'random keys (services)')
    .option('-e, --enctypes <list>', 'enctypes of the keys, e.g. aes256-cts,aes128-cts or aes-sha2')
    .option('--no-preauth', 'do not require pre-authentication')
    .option('--disallow <kinds>', 'refuse these tickets: forwardable, proxiable, renewable, postdated, svr, tix (repeatable, comma lists)', collect)
    .option('--policy <policy>', 'password policy (default: the policy named "default", if any)')
    .option('--clear-policy', 'no policy, even when a policy named "default" exists')
    .action((name: string, o, c: Command) => cmdAddprinc(name, c.opts(), io));

  lifetimeOptions(program.command('modprinc').description('change a principal\'s limits, attributes or lockout').argument('<name>'))
    .addOption(dirOption())
    .option('--preauth', 'require pre-authentication')
    .option('--no-preauth', 'do not require pre-authentication')
    .option('--allow <kinds>', 'allow these tickets again (see --disallow)', collect)
    .option('--disallow <kinds>', 'refuse these tickets: forwardable, proxiable, renewable, postdated, svr, tix', collect)
    .option('--unlock', 'clear the failure count and any lockout')
    .option('--policy <policy>', 'give the principal this password policy')
    .option('--clear-policy', 'take the principal\'s policy away')
    .action((name: string, o, c: Command) => cmdModprinc(name, c.opts(), io));

  policyOptions(program.command('addpol').description('add a password policy (kadmin addpol)').argument('<policy>'))
    .addOption(dirOption())
    .action((name: string, o, c: Command) => cmdAddpol(name, c.opts(), io));

  policyOptions(program.command('modpol').description('change a password policy (kadmin modpol)').argument('<policy>'))
    .addOption(dirOption())
    .action((name: string, o, c: Command) => cmdModpol(name, c.opts(), io));

  program.command('delpol').description('delete a password policy no principal uses (kadmin delpol)').argument('<policy>')
    .addOption(dirOption())
    .action((name: string, o, c: Command) => cmdDelpol(name, c.opts(), io));

  program.command('getpol').description('show a password policy, as kadmin getpol does').argument('<policy>')
    .addOption(dirOption())
    .action((name: string, o, c: Command) => cmdGetpol(name, c.opts(), io));

  program.command('listpols').description('list password policies, optionally matching a glob').argument('[glob]')
    .addOption(dirOption())
    .action((glob: string | undefined, o, c: Command) => cmdListpols(glob, c.opts(), io));

  program.command('cpw').description('change a principal\'s password or keys (new kvno; the previous kvno is kept)').argument('<name>')
    .addOption(dirOption())
    .option('-p, --password <pw>', 'the new password')
    .option('--pw-stdin', 'read the new password from the first line of standard input')
    .option('--randkey', 'new random keys')
    .option('-e, --enctypes <list>', 'enctypes of the new keys (default: the current ones)')
    .option('--no-keepold', 'drop the keys of older kvnos')
    .action((name: string, o, c: Command) => cmdCpw(name, c.opts(), io));

  program.command('delprinc').description('delete a principal').argument('<name>')
    .addOption(dirOption())
    .option('-f, --force', 'do not ask for confirmation on a terminal')
    .action((name: string, o, c: Command) => cmdDelprinc(name, c.opts(), io));

  program.command('getprinc').description('show a principal, as kadmin getprinc does').argument('<name>')
    .addOption(dirOption())
    .action((name: string, o, c: Command) => cmdGetprinc(name, c.opts(), io));

  program.command('listprincs').description('list principals, optionally matching a glob (* ? [..])').argument('[glob]')
    .addOption(dirOption())
    .action((glob: string | undefined, o, c: Command) => cmdListprincs(glob, c.opts(), io));

  program.command('ktadd').description('write principals\' current keys to a keytab (appending)').argument('<names...>')
    .addOption(dirOption())
    .option('-k, --keytab <file>', 'keytab file (default $KRB5_KTNAME or /etc/krb5.keytab)')
    .option('--randkey', 'give the principals new random keys first, as MIT ktadd does by default')
    .option('-e, --enctypes <list>', 'only keys of these enctypes')
    .action((names: string[], o, c: Command) => cmdKtadd(names, c.opts(), io));

  program.command('dump').description('write the database as JSON (keys stay encrypted under the master key)')
    .addOption(dirOption())
    .option('-o, --output <file>', 'write to a file (created 0600) instead of standard output')
    .action((o, c: Command) => cmdDump(c.opts(), io));

  program.command('load').description('replace the database\'s principals with a dump made under the same master key').argument('<file>', 'dump file, or - for standard input')
    .addOption(dirOption())
    .option('--update', 'add and overwrite the dumped principals, keep the others')
    .action((file: string, o, c: Command) => cmdLoad(file, c.opts(), io));

  program.command('test-realm').description('start a throwaway realm in a temporary folder for a test suite; print one JSON line (realm, kdc, krb5_conf, dir, ccache, principals) when ready; serve until SIGTERM, SIGINT or end of standard input, then remove the folder')
    .option('-r, --realm <realm>', 'realm name (default KRBTEST.COM)')
    .option('-p, --principal <name[:password]>', 'a user principal; without a password it gets a random one (repeatable)', collect)
    .option('-s, --service <name>', 'a service principal with random keys in a keytab, e.g. HTTP/localhost (repeatable)', collect)
    .option('--port <n>', 'UDP and TCP port on 127.0.0.1 (default: a free port)')
    .option('-v, --verbose', 'the KDC\'s JSON log lines on standard error')
    .action((o, c: Command) => cmdTestRealm(c.opts(), io));

  // Every command that opens the database takes --db too (SQLite in --dir stays the default).
  for (const c of program.commands) if (c.options.some((opt) => opt.long === '--dir')) c.addOption(dbOption());

  return program;
}

/** One line: no newlines, no stack, whatever was thrown. */
export function errorLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // Error text may quote a name from the network or a file: no control byte reaches the terminal.
  return escapeForTerminal(msg.replace(/^error: /, '').replace(/\s*\n\s*/g, '; ').trim()) || 'unknown error';
}

/** Runs `kdc` with `argv` (without node and script); resolves to the exit code. */
export async function runKdcCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  const sub = argv.find((a) => !a.startsWith('-'));
  const who = sub !== undefined && program.commands.some((c) => c.name() === sub) ? `kdc ${sub}` : 'kdc';
  try {
    if (argv.length === 0) throw new UsageError(`no command given: use one of ${program.commands.map((c) => c.name()).filter((n) => n !== 'help').join(', ')} (see "kdc --help")`);
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.executeSubCommandAsync') return e.exitCode;
      io.stderr.write(`${who}: ${errorLine(e)} (see "${who} --help")\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      io.stderr.write(`${who}: ${errorLine(e)}\n`);
      return 2;
    }
    if (e instanceof KdcDbError || e instanceof KrbError) {
      io.stderr.write(`${who}: ${errorLine(e)}\n`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    io.stderr.write(`${who}: ${errorLine(e)}${code === 'EACCES' || code === 'EPERM' ? ' (permission denied: check the path, or run as the right user)' : ''}\n`);
    return 1;
  }
}
