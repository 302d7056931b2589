/**
 * klist, laid out as MIT krb5 1.20's src/clients/klist/klist.c prints:
 * caches (default, -c name, -l collection summary, -A every cache, -s exit
 * status only) and keytabs (-k [-t] [-e] [-K]).
 */
import {
  decodeTicket,
  enctypeName,
  formatPrincipal,
  isConfigEntry,
  listCcacheCollection,
  loadKrb5Config,
  principalEquals,
  readCcache,
  readKeytab,
  resolveKeytabName,
  tgsPrincipal,
  type Ccache,
  type CcacheLocation,
  type Credential,
} from '@kpop/common';
import { KLIST_USAGE } from './usage.js';
import { lookupService } from 'node:dns/promises';
import { getopt, UsageError } from './getopt.js';
import { CliExit, type CliIo } from './io.js';
import { errorText } from './messages.js';
import { cacheDisplayName, resolveCache } from './cache.js';
import { flagsString, formatAddress, formatTime, TIME_WIDTH } from './format.js';

interface KlistOptions {
  etype: boolean;
  flags: boolean;
  status: boolean;
  addresses: boolean;
  numeric: boolean;
  adtypes: boolean;
  keytab: boolean;
  clientKeytab: boolean;
  timestamps: boolean;
  keys: boolean;
  config: boolean;
  list: boolean;
  all: boolean;
  name?: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function showCredential(c: Credential, cache: Ccache, o: KlistOptions, out: string[]): void {
  if (isConfigEntry(c)) {
    if (!o.config) return;
    // "config: key(principal) = value", MIT's print_config_data.
    const [, key, ...rest] = c.server.name.nameString;
    const princ = rest.length ? `(${rest.join('')})` : '';
    const value = Buffer.from(c.ticket).toString('latin1');
    out.push(`config: ${key}${princ} = ${/^[\x20-\x7e]*$/.test(value) ? value : hex(c.ticket)}\n`);
    return;
  }
  const start = c.starttime.getTime() ? c.starttime : c.authtime;
  let line = `${formatTime(start)}  ${formatTime(c.endtime)}  ${formatPrincipal(c.server)}\n`;
  let extra = 0;
  const sep = () => (extra ? ', ' : '\t');
  if (!principalEquals(c.client, cache.defaultPrincipal)) {
    line += `\tfor client ${formatPrincipal(c.client)}`;
    extra++;
  }
  if (c.renewTill.getTime()) {
    line += `${sep()}renew until ${formatTime(c.renewTill)}`;
    extra += 2;
  }
  if (extra > 3) {
    line += '\n';
    extra = 0;
  }
  if (o.flags) {
    const f = flagsString(c.ticketFlags);
    if (f) {
      line += `${sep()}Flags: ${f}`;
      extra++;
    }
  }
  if (extra > 2) {
    line += '\n';
    extra = 0;
  }
  if (o.etype) {
    let tktEtype: string;
    try {
      tktEtype = enctypeName(decodeTicket(c.ticket).encPart.etype);
    } catch {
      tktEtype = '(unreadable ticket)';
    }
    line += `${sep()}Etype (skey, tkt): ${enctypeName(c.key.keytype)}, ${tktEtype} `;
    extra++;
  }
  if (o.adtypes && c.authdata.length) {
    line += `${sep()}AD types: ${c.authdata.map((a) => a.adType).join(', ')}`;
    extra++;
  }
  if (extra) line += '\n';
  if (o.addresses) {
    line += c.addresses.length ? `\tAddresses: ${c.addresses.map((a) => names.get(formatAddress(a)) ?? formatAddress(a)).join(', ')}\n` : '\tAddresses: (none)\n';
  }
  out.push(line);
}

/** klist -a without -n shows host names, as MIT's getnameinfo() lookup does; numeric when none. */
const names = new Map<string, string>();
async function resolveAddressNames(caches: Ccache[]): Promise<void> {
  const addrs = new Set(caches.flatMap((c) => c.credentials.flatMap((cr) => cr.addresses.map(formatAddress))));
  await Promise.all(
    [...addrs].filter((a) => /^[\d.]+$|:/.test(a)).map(async (a) => {
      try {
        const r = await Promise.race([lookupService(a, 0), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]);
        names.set(a, r.hostname);
      } catch {
        // keep the number
      }
    }),
  );
}

function listCache(loc: CcacheLocation, cache: Ccache, o: KlistOptions, out: string[]): void {
  out.push(`Ticket cache: ${cacheDisplayName(loc)}\nDefault principal: ${formatPrincipal(cache.defaultPrincipal)}\n\n`);
  out.push(`${'Valid starting'.padEnd(TIME_WIDTH)}  ${'Expires'.padEnd(TIME_WIDTH)}  Service principal\n`);
  for (const c of cache.credentials) showCredential(c, cache, o, out);
}

/** klist -s: 0 when the cache holds an unexpired local TGT (or, without any TGT, some unexpired ticket). */
function statusOf(cache: Ccache, now: Date): number {
  const tgs = tgsPrincipal(cache.defaultPrincipal.realm);
  let foundTgt = false;
  let validTgt = false;
  let validAny = false;
  for (const c of cache.credentials) {
    if (isConfigEntry(c)) continue;
    const valid = c.endtime.getTime() > now.getTime();
    if (principalEquals(c.server, tgs)) {
      foundTgt = true;
      if (valid) validTgt = true;
    }
    if (valid) validAny = true;
  }
  return validTgt || (!foundTgt && validAny) ? 0 : 1;
}

function listKeytab(name: string | undefined, o: KlistOptions, io: CliIo, defaultName: string | undefined): number {
  const chosen = name ?? (o.clientKeytab ? io.env.KRB5_CLIENT_KTNAME : undefined);
  const path = resolveKeytabName(chosen, io.env, defaultName);
  io.out(`Keytab name: FILE:${path}\n`);
  let kt;
  try {
    kt = readKeytab(path);
  } catch (e) {
    throw new CliExit(1, `${errorText(e)} while starting keytab scan`);
  }
  const out: string[] = [];
  out.push(o.timestamps ? 'KVNO Timestamp         Principal\n---- ----------------- ' + '-'.repeat(56) + '\n' : 'KVNO Principal\n---- ' + '-'.repeat(74) + '\n');
  for (const e of kt.entries) {
    let line = `${String(e.kvno).padStart(4)} `;
    if (o.timestamps) line += `${formatTime(e.timestamp)} `;
    line += formatPrincipal(e.principal);
    if (o.etype) line += ` (${enctypeName(e.key.keytype)}) `;
    if (o.keys) line += ` (0x${hex(e.key.keyvalue)})`;
    out.push(line + '\n');
  }
  io.out(out.join(''));
  return 0;
}

export async function klistMain(io: CliIo, now: () => Date = () => new Date()): Promise<number> {
  if (io.argv.includes('--help')) {
    io.out(KLIST_USAGE);
    return 0;
  }
  const { options, operands } = getopt(io.argv, 'dfetKsnacki0lCAV', 'klist');
  const o: KlistOptions = { etype: false, flags: false, status: false, addresses: false, numeric: false, adtypes: false, keytab: false, clientKeytab: false, timestamps: false, keys: false, config: false, list: false, all: false };
  for (const { name } of options) {
    switch (name) {
      case 'd': o.adtypes = true; break;
      case 'f': o.flags = true; break;
      case 'e': o.etype = true; break;
      case 't': o.timestamps = true; break;
      case 'K': o.keys = true; break;
      case 's': o.status = true; break;
      case 'a': o.addresses = true; break;
      case 'n': o.numeric = true; break;
      case 'k': o.keytab = true; break;
      case 'i': o.clientKeytab = true; break;
      case 'l': o.list = true; break;
      case 'C': o.config = true; break;
      case 'A': o.all = true; break;
      case 'V':
        io.out('Kerberos 5 version 1.20.1 (kpop-suite klist, MIT compatible)\n');
        return 0;
      default: break; // -c (cache mode, the default), -0
    }
  }
  if (operands.length > 1) throw new UsageError(`klist: extra arguments (starting with "${operands[1]}").`);
  o.name = operands[0];
  if (o.keytab && (o.list || o.all || o.status || o.flags || o.addresses)) throw new UsageError('');
  if (!o.keytab && (o.timestamps || o.keys)) throw new UsageError('');
  const config = loadKrb5Config(io.env);
  if (o.keytab) return listKeytab(o.name, o, io, config.defaultKeytabName);

  const loc = resolveCache(o.name, io.env, config);
  const collection = loc.collection && !o.name ? listCcacheCollection(loc.collection) : [loc.path];
  if (o.list) {
    const out = ['Principal name                 Cache name\n--------------                 ----------\n'];
    let any = false;
    for (const path of collection) {
      try {
        const c = readCcache(path);
        out.push(`${formatPrincipal(c.defaultPrincipal).padEnd(30)} ${cacheDisplayName({ ...loc, path })}\n`);
        any = true;
      } catch {
        // MIT skips caches it cannot read in the summary.
      }
    }
    io.out(out.join(''));
    return any ? 0 : 1;
  }
  const paths = o.all ? collection : [loc.path];
  const out: string[] = [];
  let status = 0;
  let shown = 0;
  for (const path of paths) {
    let cache: Ccache;
    try {
      cache = readCcache(path);
    } catch (e) {
      if (o.all) continue;
      if (o.status) return 1;
      throw new CliExit(1, errorText(e));
    }
    if (o.status) {
      status = statusOf(cache, now());
      continue;
    }
    if (shown++) out.push('\n');
    if (o.addresses && !o.numeric) await resolveAddressNames([cache]);
    listCache({ ...loc, path }, cache, o, out);
  }
  if (!o.status) io.out(out.join(''));
  if (o.all && shown === 0 && !o.status) return 1;
  return status;
}
