/**
 * The lab's command line (what `npm start -- FLAGS` runs). A state machine
 * with four states: absent/empty → created → serving → stopped. The realm
 * is made only when the folder has none; --reset deletes a lab folder
 * (never a folder without lab.json) and makes a new one. Errors: one line,
 * "lab: what is wrong (what to do)", exit 1 (2 for a usage mistake).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { availableParallelism } from 'node:os';
import { escapeForTerminal } from '@kpop/common';
import { KdcDbError, parseWorkers } from '@kpop/kdc';
import { MailboxLock } from '../maildir/lock.js';
import { bannerLines } from './banner.js';
import { createLab } from './create.js';
import { DEFAULT_LAB_DIR, labPaths, labState, readMarker } from './layout.js';
import { parseLogKeep, parseLogSize } from '@kpop/common';
import { DEFAULT_LAB_LOGS, DEFAULT_LAB_PORTS, LabError, runLab, type LabLogOptions, type LabPorts, type RunningLab } from './run.js';

export interface LabIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  cwd?: string;
}

interface RawOptions {
  dir: string;
  realm: string;
  reset?: boolean;
  alicePassword?: string;
  bobPassword?: string;
  kdcPort: string;
  kpasswdPort: string;
  kpopPort: string;
  pop3Port: string;
  pop3sPort: string;
  workers: string;
  imapPort: string;
  imapsPort: string;
  quiet?: boolean;
  maxPerAddress?: string;
  kdcRatePerAddress?: string;
  logMaxSize: string;
  logKeep: string;
  lmtpPort: string;
}

class UsageError extends Error {}

function port(flag: string, v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError(`${flag} must be a port number from 0 to 65535 (0: any free port), got "${v}"`);
  return Number(v);
}

function count(flag: string, v: string, min: number): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) < min) throw new UsageError(`${flag} must be a whole number of ${min} or more, got "${v}"`);
  return Number(v);
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return escapeForTerminal(msg.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, '; ')) || 'unknown error';
}

/** The lab folder's PID lock (the Maildir lock's kpop.lock: stale locks of dead processes are taken over). */
async function lockLab(dir: string): Promise<MailboxLock> {
  const lock = await MailboxLock.acquire(dir);
  if (!lock) {
    let holder = '';
    try {
      holder = ` (process ${readFileSync(join(dir, 'kpop.lock'), 'utf8').trim().split(/\s+/)[0]})`;
    } catch {
      // Gone meanwhile: say it without the PID.
    }
    throw new LabError(`a lab is already running from ${dir}${holder}: stop it first (Ctrl-C), or use another --dir`);
  }
  return lock;
}

export function buildLabProgram(): Command {
  return new Command('lab')
    .description('a complete Kerberized POP realm on 127.0.0.1: KDC, KPOP, POP3 with STLS, POP3S; users alice and bob')
    .option('--dir <dir>', 'the lab folder', DEFAULT_LAB_DIR)
    .option('--realm <realm>', 'realm name for a new lab', 'LAB.TEST')
    .option('--reset', 'delete the lab folder and make a new realm')
    .option('--alice-password <pw>', "alice's password for a new lab (default: random, printed once)")
    .option('--bob-password <pw>', "bob's password for a new lab (default: random, printed once)")
    .option('--kdc-port <port>', 'KDC port, UDP and TCP (0: any free port)', String(DEFAULT_LAB_PORTS.kdc))
    .option('--kpasswd-port <port>', 'kpasswd service port, UDP and TCP (0: any free port)', String(DEFAULT_LAB_PORTS.kpasswd))
    .option('--kpop-port <port>', 'KPOP port', String(DEFAULT_LAB_PORTS.kpop))
    .option('--pop3-port <port>', 'POP3 (STLS) port', String(DEFAULT_LAB_PORTS.pop3))
    .option('--pop3s-port <port>', 'POP3S port', String(DEFAULT_LAB_PORTS.pop3s))
    .option('--imap-port <port>', 'IMAP (STARTTLS) port', String(DEFAULT_LAB_PORTS.imap))
    .option('--imaps-port <port>', 'IMAPS port', String(DEFAULT_LAB_PORTS.imaps))
    .option('--max-per-address <n>', 'open connections at most from one client address, per service (mail default 50, KDC TCP 32)')
    .option('--kdc-rate-per-address <n>', 'KDC requests per second served to one client address (default 1000; 0 = no limit)')
    .option('--workers <n>', 'KDC worker processes on the KDC port: a number, or auto for one per core', '1')
    .option('-q, --quiet', 'do not print a line per request')
    .option('--log-max-size <size>', 'rotate kdc.log and pop.log to FILE.1 … past this size, e.g. 16M (0: never); SIGHUP reopens them', '16M')
    .option('--log-keep <n>', 'rotated log files kept (FILE.1 … FILE.N)', String(DEFAULT_LAB_LOGS.keep))
    .option('--lmtp-port <port>', 'also listen for LMTP deliveries on this port (0: any free port; "none": no LMTP)', 'none')
    .exitOverride()
    .helpOption('-h, --help');
}

/**
 * Makes or reuses the lab and starts it; resolves once it serves. The
 * caller stops it (Ctrl-C in the bin).
 */
export async function startLabFromArgs(argv: string[], io: LabIo): Promise<RunningLab | number> {
  const program = buildLabProgram().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  let o: RawOptions;
  try {
    program.parse(argv, { from: 'user' });
    o = program.opts<RawOptions>();
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.help')) return 0;
    io.stderr.write(`lab: ${oneLine(e)} (see "npm start -- --help")\n`);
    return 2;
  }
  try {
    const ports: LabPorts = { kdc: port('--kdc-port', o.kdcPort), kpop: port('--kpop-port', o.kpopPort), pop3: port('--pop3-port', o.pop3Port), pop3s: port('--pop3s-port', o.pop3sPort), kpasswd: port('--kpasswd-port', o.kpasswdPort), imap: port('--imap-port', o.imapPort), imaps: port('--imaps-port', o.imapsPort) };
    const perAddress = o.maxPerAddress === undefined ? undefined : count('--max-per-address', o.maxPerAddress, 1);
    const rate = o.kdcRatePerAddress === undefined ? undefined : count('--kdc-rate-per-address', o.kdcRatePerAddress, 0);
    let kdcWorkers: number;
    try {
      kdcWorkers = parseWorkers(o.workers, availableParallelism());
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    let logs: LabLogOptions;
    try {
      logs = { maxBytes: parseLogSize(o.logMaxSize), keep: parseLogKeep(o.logKeep) };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const lmtpPort = o.lmtpPort === 'none' ? undefined : port('--lmtp-port', o.lmtpPort);
    const fixed = [...Object.values(ports), ...(lmtpPort ? [lmtpPort] : [])].filter((n) => n !== 0);
    if (new Set(fixed).size !== fixed.length) throw new UsageError('two services were given the same port');
    const p = labPaths(o.dir);
    let state = labState(p);
    if (state === 'foreign') throw new LabError(`${p.dir} holds other files and no lab.json: it is not a lab folder; choose another --dir`);
    // One lab process per folder: a second would rewrite krb5.conf under the first, and --reset would pull its files away.
    let lock = state === 'lab' ? await lockLab(p.dir) : undefined;
    if (o.reset && state === 'lab') {
      await lock?.release();
      lock = undefined;
      rmSync(p.dir, { recursive: true, force: true });
      state = 'empty';
    }
    let passwords: Record<string, string> | undefined;
    if (state === 'empty') {
      io.stdout.write(`kpop lab: making realm ${o.realm} in ${p.dir} …\n`);
      ({ passwords } = await createLab(p, { realm: o.realm, users: { alice: o.alicePassword, bob: o.bobPassword } }));
    } else if (o.alicePassword !== undefined || o.bobPassword !== undefined) {
      io.stderr.write('lab: the realm exists, so the password flags are ignored (use --reset, or npx kdc cpw)\n');
    }
    lock ??= await lockLab(p.dir);
    const marker = readMarker(p);
    if (passwords === undefined && program.getOptionValueSource('realm') === 'cli' && o.realm !== marker.realm) {
      io.stderr.write(`lab: this lab's realm is ${marker.realm}; --realm ${o.realm} applies to a new lab (add --reset)\n`);
    }
    let lab: RunningLab;
    try {
      lab = await runLab(p, marker.realm, {
        ports,
        kdcWorkers,
        logs,
        ...(lmtpPort !== undefined ? { lmtpPort } : {}),
        ...(o.quiet ? {} : { onEvent: (l: string) => io.stdout.write(`${l}\n`) }),
        ...(perAddress !== undefined ? { limits: { maxPerAddress: perAddress }, kdcTcp: { maxPerAddress: perAddress } } : {}),
        ...(rate !== undefined ? { kdcRequests: { ratePerAddress: rate, burstPerAddress: Math.max(rate * 2, 1) } } : {}),
      });
    } catch (e) {
      await lock.release();
      // A realm made just now whose passwords were never shown is useless: drop it, so the next start makes one and shows them.
      if (passwords !== undefined) rmSync(p.dir, { recursive: true, force: true });
      throw e;
    }
    const held = lock;
    const stopServers = lab.close.bind(lab);
    lab.close = async () => {
      await stopServers();
      await held.release();
    };
    writeFileSync(`${p.dir}/ports.json`, JSON.stringify({ ...lab.ports, ...(lab.lmtpPort !== undefined ? { lmtp: lab.lmtpPort } : {}) }) + '\n');
    const lines = bannerLines({ realm: marker.realm, paths: p, ports: lab.ports, users: marker.users, created: passwords !== undefined, ...(passwords ? { passwords } : {}), ...(io.cwd ? { cwd: io.cwd } : {}) });
    io.stdout.write(lines.join('\n') + '\n');
    return lab;
  } catch (e) {
    io.stderr.write(`lab: ${oneLine(e)}\n`);
    return e instanceof UsageError ? 2 : e instanceof LabError || e instanceof KdcDbError ? 1 : 1;
  }
}
