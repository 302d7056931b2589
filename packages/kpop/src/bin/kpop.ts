/**
 * kpop: the POP3 / KPOP server and its tools.
 *   kpop start [--keytab FILE] [--maildir-root DIR] [--realm R] [--service pop/HOST]
 *              [--kpop HOST:PORT] [--pop3 HOST:PORT] [--pop3s HOST:PORT] [--imap HOST:PORT] [--imaps HOST:PORT]
 *              [--lmtp HOST:PORT] [--cert FILE --key FILE]
 *              [--max-connections N] [--max-per-address N] [--login-timeout T] [--command-timeout T] [--idle-timeout T]
 *   kpop deliver USER [--maildir-root DIR] < message
 *   kpop ca init [--dir DIR]
 *   kpop cert issue --host NAME... [--ca-dir DIR] [--out DIR]
 *   kpop secrets set|delete|list USER [--stdin] [--file F] [--key-file K]
 * Errors: one line on stderr, non-zero exit, never a stack trace.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { escapeForTerminal, loadKrb5Config, parseDuration, parseLogKeep, parseLogSize, resolveKeytabName, RotatingFile, type ConnectionLimits, type Krb5Config } from '@kpop/common';
import { batchedFdLogger } from '@kpop/kdc';
import { startPopServer, jsonLogger, type ListenAddress } from '../server.js';
import type { LogRecord } from '../pop3/session.js';
import { deliver } from '../maildir/deliver.js';
import { isValidUserName, maildirPath, MaildirError } from '../maildir/maildir.js';
import { createCa, issueServerCert } from '../tls/ca.js';
import { fetchCommand } from '../fetch/cli.js';
import { secretsCommand, secretsPaths } from '../secrets/cli.js';
import { labCommand } from '../compare/cli.js';

/** sysexits.h, as MTAs expect from a delivery agent. */
const EX_USAGE = 64;
const EX_NOUSER = 67;
const EX_SOFTWARE = 70;
const EX_TEMPFAIL = 75;

class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

const DEFAULT_ROOT = process.env.KPOP_MAILDIR_ROOT ?? '/var/spool/kpop';

function parseListen(text: string, what: string): ListenAddress | false {
  if (text === 'none' || text === 'off') return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new CliError(`${what} "${text}" is not HOST:PORT (e.g. 127.0.0.1:1109, or "none")`, EX_USAGE);
  return { host: m[1] ?? m[2]!, port };
}

function count(flag: string, text: string): number {
  if (!/^\d{1,9}$/.test(text.trim()) || Number(text) < 1) throw new CliError(`${flag} "${text}" is not a whole number of 1 or more`, EX_USAGE);
  return Number(text);
}

/** A duration as krb5.conf writes them (60, 60s, 1m, 10m, 1h30m) in seconds. */
function seconds(flag: string, text: string): number {
  const v = parseDuration(text);
  if (v === undefined || v < 0) throw new CliError(`${flag} "${text}" is not a duration (e.g. 30, 30s, 10m)`, EX_USAGE);
  return v;
}

/** The connection-limit flags given (the others keep MAIL_CONNECTION_LIMITS). */
function connectionLimits(o: Record<string, string | boolean | undefined>): Partial<ConnectionLimits> {
  const l: Partial<ConnectionLimits> = {};
  if (o.maxConnections !== undefined) l.maxConnections = count('--max-connections', String(o.maxConnections));
  if (o.maxPerAddress !== undefined) l.maxPerAddress = count('--max-per-address', String(o.maxPerAddress));
  if (o.loginTimeout !== undefined) l.authTimeoutMs = seconds('--login-timeout', String(o.loginTimeout)) * 1000;
  if (o.commandTimeout !== undefined) l.commandTimeoutMs = seconds('--command-timeout', String(o.commandTimeout)) * 1000;
  if (o.idleTimeout !== undefined) {
    l.idleTimeoutMs = seconds('--idle-timeout', String(o.idleTimeout)) * 1000;
    if (l.idleTimeoutMs < 600_000) process.stderr.write('kpop: warning: --idle-timeout below 10 minutes is shorter than RFC 1939 §3 allows\n');
  }
  return l;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function readStdin(): Promise<AsyncIterable<Uint8Array>> {
  return process.stdin as AsyncIterable<Uint8Array>;
}

/** `--tmp-max-age` hours as milliseconds (0 turns the clean-up off). */
function parseHours(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new CliError(`--tmp-max-age must be a number of hours, e.g. 36, got "${text}"`, EX_USAGE);
  return Number(text) * 3600_000;
}

/** The server's log: stderr, or with --log-file a RotatingFile (size cap, kept files, reopened on SIGHUP). */
function openServerLog(o: Record<string, string | boolean | undefined>): { log: (r: LogRecord) => void; reopen: () => void; close: () => void } {
  if (!o.logFile) return { log: jsonLogger(), reopen: () => {}, close: () => {} };
  let file: RotatingFile;
  try {
    file = new RotatingFile(String(o.logFile), { maxBytes: parseLogSize(String(o.logMaxSize)), keep: parseLogKeep(String(o.logKeep)) });
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(e.message, EX_USAGE);
    throw new CliError(`cannot open the log file ${String(o.logFile)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = batchedFdLogger(file);
  return {
    log: (r) => lines({ ts: new Date().toISOString(), ...r }),
    reopen: () => {
      lines.flush();
      try {
        file.reopen();
      } catch (e) {
        process.stderr.write(`kpop: SIGHUP: cannot reopen ${file.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      }
    },
    close: () => {
      lines.flush();
      file.close();
    },
  };
}

const program = new Command('kpop')
  .description('POP3 server for Kerberos: KPOP (sendauth, port 1109), AUTH GSSAPI, STLS and POP3S on Maildir')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('start')
  .description('run the server until interrupted')
  .option('--keytab <file>', 'keytab with pop/HOST keys (default: KRB5_KTNAME or /etc/krb5.keytab)')
  .option('--maildir-root <dir>', 'mailboxes are DIR/USER/{tmp,new,cur}', DEFAULT_ROOT)
  .option('--realm <realm>', 'local realm (default: krb5.conf default_realm)')
  .option('--service <principal>', 'accept only tickets for this service (default: any pop/* key)')
  .option('--kpop <host:port>', 'KPOP listener, or "none"', '0.0.0.0:1109')
  .option('--pop3 <host:port>', 'POP3 listener (STLS, AUTH), or "none"', '0.0.0.0:110')
  .option('--pop3s <host:port>', 'POP3S listener (needs --cert/--key; default 0.0.0.0:995 when they are given), or "none"')
  .option('--imap <host:port>', 'IMAP listener (STARTTLS, AUTHENTICATE GSSAPI for imap/HOST; e.g. 0.0.0.0:143), or "none"', 'none')
  .option('--imaps <host:port>', 'IMAPS listener (needs --cert/--key; e.g. 0.0.0.0:993), or "none"', 'none')
  .option('--lmtp <host:port>', 'LMTP listener (RFC 2033) for an MTA to deliver, or "none"', 'none')
  .option('--cert <file>', 'PEM certificate (chain) for STLS and POP3S')
  .option('--key <file>', 'PEM private key for the certificate')
  .option('--user-map <file>', '"PRINCIPAL USER" lines for principals other than USER@REALM')
  .option('--allow-plaintext-auth', 'allow USER/PASS and PLAIN without TLS (not recommended)')
  .option('--max-connections <n>', 'open connections at most, all listeners together (default 1000)')
  .option('--max-per-address <n>', 'open connections at most from one client address (an IPv6 /64) (default 50)')
  .option('--login-timeout <time>', 'from connect to a successful login, TLS handshake included (default 60s; 0 = none)')
  .option('--command-timeout <time>', 'from the first byte of a command line to its end (default 30s; 0 = none)')
  .option('--idle-timeout <time>', 'between complete commands; bytes alone do not count (default 10m, RFC 1939 minimum)')
  .option('--limit-log-interval <time>', 'one refusal or timeout line per address and reason per interval (default 1m)')
  .option('--log-file <file>', 'write the JSON log to FILE instead of stderr (reopened on SIGHUP, for logrotate)')
  .option('--log-max-size <size>', 'with --log-file: rotate FILE to FILE.1 … past this size, e.g. 64M (0: never)', '64M')
  .option('--log-keep <n>', 'with --log-file: rotated files kept (FILE.1 … FILE.N)', '5')
  .option('--tmp-max-age <hours>', 'remove Maildir tmp/ files older than this, at start and hourly (the Maildir convention: 36)', '36')
  .option('--mechanisms <list>', 'turn on more mechanisms for POP3 and POP3S, comma-separated: APOP, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256, NTLM, LOGIN')
  .option('--pop3-mechanisms <list>', 'the same, for the POP3 listener only (overrides --mechanisms there)')
  .option('--pop3s-mechanisms <list>', 'the same, for the POP3S listener only')
  .option('--secrets <file>', 'the store "kpop secrets" fills (default $KPOP_SECRETS or /etc/kpop/secrets.json)')
  .option('--secrets-key <file>', 'its key file (default secrets.key beside the store)')
  .option('--allow-ntlmv1', 'NTLM: accept NTLMv1 responses too (fetchmail sends them; crackable from a capture)')
  .action(async (o: Record<string, string | boolean | undefined>) => {
    let krb5: Krb5Config | undefined;
    try {
      krb5 = loadKrb5Config();
    } catch (e) {
      if (!o.realm) throw new CliError(`cannot read krb5.conf (${(e as Error).message}); give --realm`);
    }
    const realm = (o.realm as string | undefined) ?? krb5?.defaultRealm;
    if (!realm) throw new CliError('no realm: give --realm or set default_realm in krb5.conf');
    if (!!o.cert !== !!o.key) throw new CliError('--cert and --key go together', EX_USAGE);
    const limits = connectionLimits(o);
    const logInterval = o.limitLogInterval === undefined ? undefined : seconds('--limit-log-interval', String(o.limitLogInterval)) * 1000;
    const kpop = parseListen(o.kpop as string, '--kpop');
    const pop3 = parseListen(o.pop3 as string, '--pop3');
    // POP3S on 995 (RFC 8314) by default once there is a certificate.
    const pop3s = o.pop3s ? parseListen(o.pop3s as string, '--pop3s') : o.cert ? { host: '0.0.0.0', port: 995 } : false;
    const lmtp = parseListen(o.lmtp as string, '--lmtp');
    const imap = parseListen(o.imap as string, '--imap');
    const imaps = parseListen(o.imaps as string, '--imaps');
    if (imaps && !o.cert) throw new CliError('--imaps needs --cert and --key (make them with "kpop ca init" and "kpop cert issue")', EX_USAGE);
    if (pop3s && !o.cert) throw new CliError('--pop3s needs --cert and --key (make them with "kpop ca init" and "kpop cert issue")', EX_USAGE);
    const keytabPath = o.keytab ? String(o.keytab) : resolveKeytabName();
    const keytabFile = keytabPath.replace(/^(FILE|WRFILE):/, '');
    const haveKeytab = existsSync(keytabFile);
    if (!haveKeytab && kpop) throw new CliError(`keytab ${keytabFile} not found: KPOP needs pop/HOST keys (--keytab FILE, or --kpop none)`);
    const list = (v: unknown) => (typeof v === 'string' ? v.split(/[,\s]+/).filter(Boolean) : undefined);
    const mechanisms = list(o.mechanisms);
    const listenerMechanisms = { ...(o.pop3Mechanisms ? { pop3: list(o.pop3Mechanisms)! } : {}), ...(o.pop3sMechanisms ? { pop3s: list(o.pop3sMechanisms)! } : {}) };
    const anyMechs = [...(mechanisms ?? []), ...Object.values(listenerMechanisms).flat()];
    const known = ['APOP', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM', 'LOGIN', 'GSSAPI', 'PLAIN'];
    const unknown = anyMechs.find((m) => !known.includes(m.toUpperCase()));
    if (unknown) throw new CliError(`unknown mechanism "${unknown.replace(/[^\x21-\x7e]/g, '?')}" (choose from ${known.join(', ')})`, EX_USAGE);
    const secrets = anyMechs.some((m) => !['LOGIN', 'GSSAPI', 'PLAIN'].includes(m.toUpperCase()))
      ? secretsPaths({ file: o.secrets as string | undefined, keyFile: o.secretsKey as string | undefined })
      : undefined;
    const root = String(o.maildirRoot);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const serverLog = openServerLog(o);
    const server = await startPopServer({
      maildirRoot: root,
      realm,
      ...(haveKeytab ? { keytab: keytabFile } : {}),
      ...(o.service ? { service: String(o.service) } : {}),
      kpop,
      pop3,
      pop3s,
      imap,
      imaps,
      lmtp,
      ...(o.cert ? { tls: { cert: readFile(String(o.cert), 'certificate'), key: readFile(String(o.key), 'key') } } : {}),
      ...(o.userMap ? { userMapFile: String(o.userMap) } : {}),
      allowPlaintextAuth: !!o.allowPlaintextAuth,
      limits,
      ...(logInterval !== undefined ? { limitLogIntervalMs: logInterval } : {}),
      ...(mechanisms ? { mechanisms } : {}),
      listenerMechanisms,
      ...(secrets ? { secrets } : {}),
      allowNtlmV1: !!o.allowNtlmv1,
      ...(krb5 ? { krb5Config: krb5 } : {}),
      log: serverLog.log,
      tmpMaxAgeMs: parseHours(String(o.tmpMaxAge)),
    }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES') throw new CliError(`cannot listen: ${e.message} (choose another --kpop/--pop3/--pop3s/--imap/--imaps address, or "none")`);
      throw new CliError(e.message);
    });
    const where = (['kpop', 'pop3', 'pop3s', 'imap', 'imaps', 'lmtp'] as const).filter((k) => server[k]).map((k) => `${k}=${server[k]!.address}:${server[k]!.port}`);
    serverLog.log({ event: 'start', realm, keytab: haveKeytab ? keytabFile : undefined, maildirRoot: root, listeners: where.join(' ') });
    process.on('SIGHUP', serverLog.reopen);
    const stop = () => void server.close().then(() => {
      serverLog.close();
      process.exit(0);
    });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('deliver')
  .description('deliver a message from stdin into USER\'s Maildir (exit 75 on a temporary failure)')
  .argument('<user>', 'mailbox name')
  .option('--maildir-root <dir>', 'mailboxes are DIR/USER/{tmp,new,cur}', DEFAULT_ROOT)
  .action(async (user: string, o: { maildirRoot: string }) => {
    if (!isValidUserName(user)) throw new CliError(`"${user}" is not a valid mailbox name (letters, digits, . _ + -)`, EX_NOUSER);
    try {
      await deliver(maildirPath(o.maildirRoot, user), await readStdin());
    } catch (e) {
      if (e instanceof MaildirError) throw new CliError(`${e.message}; the message was not delivered`, e.temporary ? EX_TEMPFAIL : EX_SOFTWARE);
      throw new CliError(`delivery failed: ${(e as Error).message}`, EX_TEMPFAIL);
    }
  });

const ca = program.command('ca').description('the local certificate authority');
ca.command('init')
  .description('create a CA: DIR/ca.pem (give it to clients) and DIR/ca.key (0600)')
  .option('--dir <dir>', 'where to write', 'kpop-ca')
  .option('--force', 'overwrite an existing CA')
  .action(async (o: { dir: string; force?: boolean }) => {
    const certPath = join(o.dir, 'ca.pem');
    if (existsSync(certPath) && !o.force) throw new CliError(`${certPath} exists; use --force to replace the CA`);
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const pair = await createCa();
    writeSecret(join(o.dir, 'ca.key'), pair.keyPem);
    writeFileSync(certPath, pair.certPem, { mode: 0o644 });
    process.stdout.write(`CA certificate: ${certPath} (point clients at it, e.g. curl --cacert ${certPath})\n`);
  });

const cert = program.command('cert').description('server certificates');
cert.command('issue')
  .description('issue a server certificate for the given host names and addresses')
  .requiredOption('--host <name...>', 'host names and IP addresses (subjectAltName)')
  .option('--ca-dir <dir>', 'the CA made by "kpop ca init"', 'kpop-ca')
  .option('--out <dir>', 'where to write server.pem and server.key', '.')
  .action(async (o: { host: string[]; caDir: string; out: string }) => {
    const pair = { certPem: readFile(join(o.caDir, 'ca.pem'), 'CA certificate').toString(), keyPem: readFile(join(o.caDir, 'ca.key'), 'CA key').toString() };
    const hosts = o.host.flatMap((h) => h.split(',')).filter(Boolean);
    const issued = await issueServerCert(pair, hosts);
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'server.pem'), issued.certPem, { mode: 0o644 });
    writeSecret(join(o.out, 'server.key'), issued.keyPem);
    process.stdout.write(`server certificate for ${hosts.join(', ')}: ${join(o.out, 'server.pem')}, key ${join(o.out, 'server.key')}\n`);
  });

// `kpop fetch`: the suite's mail client (src/fetch/); it reports its own errors in one line.
program.addCommand(fetchCommand({ stdout: process.stdout, stderr: process.stderr }));
// `kpop secrets`: APOP, CRAM-MD5, SCRAM and NTLM secrets (src/secrets/).
program.addCommand(secretsCommand());
// `kpop lab compare`: every login the lab allows, as an eavesdropper sees it (src/compare/).
program.addCommand(labCommand({ stdout: process.stdout, stderr: process.stderr }, (code) => { process.exitCode = code; }));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode === 0 ? 0 : EX_USAGE);
  }
  const code = e instanceof CliError ? e.exitCode : 1;
  process.stderr.write(`kpop: ${escapeForTerminal((e as Error).message.split('\n')[0] ?? '')}\n`);
  process.exit(code);
}
