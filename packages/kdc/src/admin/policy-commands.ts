/**
 * `kdc addpol | modpol | delpol | getpol | listpols`: password policies with
 * kadmin's option names and getpol's output (kadmin/cli/kadmin.c).
 */
import type { Command } from 'commander';
import type { PolicyChanges, PasswordPolicy } from '../db/index.js';
import type { CliIo } from './commands.js';
import { withDb, type StoreOpts } from './commands.js';
import { globMatch } from '../db/names.js';
import { parseCount, parseLifetime, UsageError } from './parse.js';

export interface PolicyOpts { dir?: string; db?: string; minlength?: string; minclasses?: string; history?: string; maxlife?: string; minlife?: string; maxfailure?: string; failurecountinterval?: string; lockoutduration?: string }

/** kadmin's policy options, on addpol and modpol alike. */
export function policyOptions(c: Command): Command {
  return c
    .option('--maxlife <time>', 'password expiry: a new password expires after this long (0 = never)')
    .option('--minlife <time>', 'a user may not change the password again before this long')
    .option('--minlength <n>', 'minimum password length')
    .option('--minclasses <n>', 'minimum character classes (lower, upper, digits, punctuation, other: 1-5)')
    .option('--history <n>', 'old keys kept: the current and n-1 earlier passwords are refused')
    .option('--maxfailure <n>', 'lock after n failed pre-authentications (0 = never)')
    .option('--failurecountinterval <time>', 'failures older than this are forgotten (0 = never)')
    .option('--lockoutduration <time>', 'how long a lockout lasts (0 = until kdc modprinc --unlock)');
}

function changes(o: PolicyOpts): PolicyChanges {
  const c: PolicyChanges = {};
  if (o.maxlife !== undefined) c.maxLife = parseLifetime('--maxlife', o.maxlife);
  if (o.minlife !== undefined) c.minLife = parseLifetime('--minlife', o.minlife);
  if (o.minlength !== undefined) c.minLength = parseCount('--minlength', o.minlength);
  if (o.minclasses !== undefined) {
    c.minClasses = parseCount('--minclasses', o.minclasses);
    if (c.minClasses < 1 || c.minClasses > 5) throw new UsageError(`invalid --minclasses "${o.minclasses}": use 1 to 5`);
  }
  if (o.history !== undefined) {
    c.history = parseCount('--history', o.history);
    if (c.history < 1) throw new UsageError(`invalid --history "${o.history}": use 1 or more (1 keeps no old keys)`);
  }
  if (o.maxfailure !== undefined) c.maxFailure = parseCount('--maxfailure', o.maxfailure);
  if (o.failurecountinterval !== undefined) c.failureCountInterval = parseLifetime('--failurecountinterval', o.failurecountinterval);
  if (o.lockoutduration !== undefined) c.lockoutDuration = parseLifetime('--lockoutduration', o.lockoutduration);
  return c;
}

/** kadmin's strdur for policies: always "N days hh:mm:ss" ("1 day" for one). */
function policyDuration(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  let rest = seconds % 86400;
  const p2 = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(rest / 3600);
  rest %= 3600;
  return `${days} ${days === 1 ? 'day' : 'days'} ${p2(h)}:${p2(Math.floor(rest / 60))}:${p2(rest % 60)}`;
}

export function formatPolicy(p: PasswordPolicy): string {
  return [
    `Policy: ${p.name}`,
    `Maximum password life: ${policyDuration(p.maxLife)}`,
    `Minimum password life: ${policyDuration(p.minLife)}`,
    `Minimum password length: ${p.minLength}`,
    `Minimum number of password character classes: ${p.minClasses}`,
    `Number of old keys kept: ${p.history}`,
    `Maximum password failures before lockout: ${p.maxFailure}`,
    `Password failure count reset interval: ${policyDuration(p.failureCountInterval)}`,
    `Password lockout duration: ${policyDuration(p.lockoutDuration)}`,
  ].join('\n') + '\n';
}

export async function cmdAddpol(name: string, o: PolicyOpts, io: CliIo): Promise<void> {
  const c = changes(o);
  await withDb(o, io, async (db) => {
    await db.policies.add(name, c);
    io.stdout.write(`Policy "${name}" created.\n`);
  });
}

export async function cmdModpol(name: string, o: PolicyOpts, io: CliIo): Promise<void> {
  const c = changes(o);
  if (Object.keys(c).length === 0) throw new UsageError('nothing to change: give e.g. --minlength, --history or --maxlife');
  await withDb(o, io, async (db) => {
    await db.policies.modify(name, c);
    io.stdout.write(`Policy "${name}" modified.\n`);
  });
}

export async function cmdDelpol(name: string, o: StoreOpts, io: CliIo): Promise<void> {
  await withDb(o, io, async (db) => {
    await db.policies.delete(name);
    io.stdout.write(`Policy "${name}" deleted.\n`);
  });
}

export async function cmdGetpol(name: string, o: StoreOpts, io: CliIo): Promise<void> {
  await withDb(o, io, (db) => {
    const p = db.policies.get(name);
    if (p === undefined) throw new UsageError(`Policy does not exist while retrieving policy "${name}".`);
    io.stdout.write(formatPolicy(p));
  });
}

export async function cmdListpols(glob: string | undefined, o: StoreOpts, io: CliIo): Promise<void> {
  await withDb(o, io, (db) => {
    const names = db.policies.list().filter((n) => glob === undefined || globMatch(glob, n));
    if (names.length > 0) io.stdout.write(names.join('\n') + '\n');
  });
}
