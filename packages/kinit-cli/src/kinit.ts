/**
 * kinit, with MIT krb5 1.20's options, messages and exit statuses
 * (src/clients/kinit/kinit.c): usage errors exit 2, failures exit 1 with
 * "kinit: <text> while getting initial credentials".
 */
import { networkInterfaces } from 'node:os';
import { hostname, userInfo } from 'node:os';
import {
  AddrType,
  NameType,
  formatPrincipal,
  getInitialCredentials,
  loadKrb5Config,
  makeConfigEntry,
  principalNameEquals,
  parseDuration,
  parsePrincipal,
  parseTimestamp,
  readCcache,
  readKeytab,
  renewCredentials,
  resolveKeytabName,
  tgsPrincipal,
  validateCredentials,
  writeCcache,
  findCredential,
  KrbError,
  passwordExpiryWarning,
  type Ccache,
  type Credential,
  type HostAddress,
  type Krb5Config,
  type Keytab,
  type Principal,
} from '@kpop/common';
import { KINIT_USAGE } from './usage.js';
import { getopt, UsageError } from './getopt.js';
import { CliExit, type CliIo } from './io.js';
import { errorText } from './messages.js';
import { chooseCacheFor, describeCache, type CacheChoice } from './cache.js';
import { changePassword, changepwTicket, readNewPassword, resultLine } from './chpw.js';

interface KinitOptions {
  verbose: boolean;
  lifetime?: number;
  renewLife?: number;
  start?: Date;
  forwardable?: boolean;
  proxiable?: boolean;
  addresses?: boolean;
  canonicalize: boolean;
  enterprise: boolean;
  validate: boolean;
  renew: boolean;
  keytab: boolean;
  clientKeytab: boolean;
  keytabName?: string;
  cache?: string;
  service?: string;
  principal?: string;
}

function lifetimeArg(v: string): number {
  const s = parseDuration(v);
  if (s === undefined || s <= 0) throw new UsageError(`Bad lifetime value ${v}`);
  return s;
}

export function parseKinitArgs(argv: string[], now: Date): KinitOptions {
  const { options, operands } = getopt(argv, 'r:fpFPn54aAVl:s:c:kit:T:RS:vX:CEI:', 'kinit', ['request-pac', 'no-request-pac', 'help']);
  const o: KinitOptions = { verbose: false, canonicalize: false, enterprise: false, validate: false, renew: false, keytab: false, clientKeytab: false };
  for (const { name, value } of options) {
    switch (name) {
      case 'V': o.verbose = true; break;
      case 'l': o.lifetime = lifetimeArg(value!); break;
      case 'r': o.renewLife = lifetimeArg(value!); break;
      case 's': {
        const d = parseDuration(value!);
        const t = d !== undefined ? new Date(now.getTime() + d * 1000) : parseTimestamp(value!);
        if (!t) throw new UsageError(`Bad start time value ${value}`);
        o.start = t;
        break;
      }
      case 'f': o.forwardable = true; break;
      case 'F': o.forwardable = false; break;
      case 'p': o.proxiable = true; break;
      case 'P': o.proxiable = false; break;
      case 'a': o.addresses = true; break;
      case 'A': o.addresses = false; break;
      case 'C': o.canonicalize = true; break;
      case 'E': o.enterprise = true; break;
      case 'v': o.validate = true; break;
      case 'R': o.renew = true; break;
      case 'k': o.keytab = true; break;
      case 'i': o.clientKeytab = true; break;
      case 't':
        if (o.keytabName) throw new UsageError('Only one -t option allowed.');
        o.keytabName = value!;
        break;
      case 'c':
        if (o.cache) throw new UsageError('Only one -c option allowed');
        o.cache = value!;
        break;
      case 'S': o.service = value!; break;
      case 'n': throw new CliExit(1, 'Anonymous PKINIT is not supported by this kinit');
      case 'T': throw new CliExit(1, 'FAST armor caches (-T) are not supported by this kinit');
      // -X attributes, -I input cache, -4/-5 and the PAC switches change nothing for us.
      default: break;
    }
  }
  if (o.renew && o.validate) throw new UsageError('Only one of -v and -R allowed');
  if ((o.keytabName || o.clientKeytab) && !o.keytab) throw new UsageError('Only -k can be used with -t or -i');
  if (operands.length > 1) throw new UsageError(`kinit: extra arguments (starting with "${operands[1]}").`);
  if (operands[0] !== undefined) o.principal = operands[0];
  return o;
}

function localAddresses(): HostAddress[] {
  const out: HostAddress[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4') out.push({ addrType: AddrType.IPV4, address: new Uint8Array(a.address.split('.').map(Number)) });
    }
  }
  return out;
}

function clientPrincipal(o: KinitOptions, config: Krb5Config, existing: Ccache | undefined, env: NodeJS.ProcessEnv): Principal {
  const defaultRealm = config.defaultRealm;
  if (o.principal !== undefined) {
    if (o.enterprise) {
      // MIT -E: the whole name is one NT-ENTERPRISE component in the default realm (RFC 6806 §5).
      if (!defaultRealm) throw new CliExit(1, 'Configuration file does not specify default realm when parsing name ' + o.principal);
      return { realm: defaultRealm, name: { nameType: NameType.NT_ENTERPRISE, nameString: [o.principal] } };
    }
    try {
      return parsePrincipal(o.principal, defaultRealm ? { defaultRealm } : {});
    } catch {
      throw new CliExit(1, defaultRealm ? `Malformed representation of principal when parsing name ${o.principal}` : `Configuration file does not specify default realm when parsing name ${o.principal}`);
    }
  }
  if (existing) return existing.defaultPrincipal;
  if (o.keytab) {
    // MIT: host/<hostname> in the referral (empty) realm; we take the realm of the keytab's entry for it.
    const host = hostname().toLowerCase();
    return { realm: config.hostRealm(host) ?? '', name: { nameType: NameType.NT_SRV_HST, nameString: ['host', host] } };
  }
  const user = env.USER || env.LOGNAME || userInfo().username;
  if (!defaultRealm) throw new CliExit(1, `Configuration file does not specify default realm when parsing name ${user}`);
  return parsePrincipal(user, { defaultRealm });
}

export async function kinitMain(io: CliIo, now: () => Date = () => new Date()): Promise<number> {
  if (io.argv.includes('--help')) {
    io.out(KINIT_USAGE);
    return 0;
  }
  const o = parseKinitArgs(io.argv, now());
  const config = loadKrb5Config(io.env);
  let choice: CacheChoice = chooseCacheFor(o.cache, io.env, config);
  // The cache's default principal names the client only when none is given
  // (MIT's kinit.c does the same lookup); reading it otherwise is wasted start-up.
  let existing: Ccache | undefined;
  if (o.principal === undefined && !o.renew && !o.validate) {
    try {
      existing = readCcache(choice.path);
    } catch {
      existing = undefined;
    }
  }
  const verbose = (line: string) => o.verbose && io.err(line + '\n');

  if (o.renew || o.validate) {
    const what = o.renew ? 'renewing' : 'validating';
    let cache: Ccache;
    try {
      cache = readCcache(choice.path);
    } catch (e) {
      throw new CliExit(1, `${errorText(e)} while ${what} credentials`);
    }
    const client = cache.defaultPrincipal;
    const server = o.service ? parsePrincipal(o.service, { defaultRealm: client.realm }) : tgsPrincipal(client.realm);
    verbose(`Using ${o.cache ? 'specified' : 'default'} cache: ${describeCache(choice)}`);
    verbose(`Using principal: ${formatPrincipal(client)}`);
    const tgt = findCredential(cache, server, client);
    if (!tgt) throw new CliExit(1, `Matching credential not found while ${what} credentials`);
    try {
      const st = await (o.renew ? renewCredentials : validateCredentials)({ config, tgt, kdcOffsetSeconds: cache.kdcOffset?.seconds ?? 0 });
      // MIT re-initializes the cache with the renewed ticket alone.
      writeCcache(choice.path, { version: 4, ...(cache.kdcOffset ? { kdcOffset: cache.kdcOffset } : {}), defaultPrincipal: client, credentials: [st.credential] });
    } catch (e) {
      throw new CliExit(1, `${errorText(e)} while ${what} credentials`);
    }
    verbose(`Authenticated to Kerberos v5`);
    return 0;
  }

  let client = clientPrincipal(o, config, existing, io.env);
  choice = chooseCacheFor(o.cache, io.env, config, client);
  verbose(`Using ${o.cache ? 'specified' : 'default'} cache: ${describeCache(choice)}`);
  verbose(`Using principal: ${formatPrincipal(client)}`);
  let keytab: Keytab | undefined;
  if (o.keytab) {
    const name = o.keytabName ?? (o.clientKeytab ? io.env.KRB5_CLIENT_KTNAME ?? config.defaultClientKeytabName : undefined);
    const path = resolveKeytabName(name, io.env, config.defaultKeytabName ?? undefined);
    verbose(`Using keytab: ${path}`);
    try {
      keytab = readKeytab(path);
    } catch (e) {
      throw new CliExit(1, `Pre-authentication failed: ${errorText(e)} while getting initial credentials`);
    }
  }
  if (keytab && client.realm === '') {
    const entry = keytab.entries.find((e) => principalNameEquals(e.principal.name, client.name));
    if (entry) client = { ...client, realm: entry.principal.realm };
  }
  const service = o.service ? parsePrincipal(o.service, { defaultRealm: client.realm }) : undefined;
  let result;
  // The password typed, kept for an expired-password change (MIT's gic_pwd.c asks once).
  let typed: string | undefined;
  const ask = async (c: Principal): Promise<string> => (typed ??= await io.readPassword(`Password for ${formatPrincipal(c)}: `));
  const getCreds = (password: string | ((c: Principal) => Promise<string>) | undefined) =>
    getInitialCredentials({
      config,
      client,
      ...(keytab ? { keytab } : { password: password! }),
      ...(service ? { service } : {}),
      ...(o.lifetime !== undefined ? { lifetime: o.lifetime } : {}),
      ...(o.renewLife !== undefined ? { renewLifetime: o.renewLife } : {}),
      ...(o.start ? { startTime: o.start } : {}),
      ...(o.forwardable !== undefined ? { forwardable: o.forwardable } : {}),
      ...(o.proxiable !== undefined ? { proxiable: o.proxiable } : {}),
      ...(o.addresses || (o.addresses === undefined && !config.noaddresses(client.realm)) ? { addresses: localAddresses() } : {}),
      canonicalize: o.canonicalize || o.enterprise,
      now,
    });
  try {
    try {
      result = await getCreds(ask);
    } catch (e) {
      // KDC_ERR_KEY_EXPIRED: change the password through the kpasswd service, then log in with the new one.
      if (!(e instanceof KrbError && e.code === 23) || keytab || isChangepw(service)) throw e;
      // A KDC may refuse before pre-authentication: the old password is asked for now (MIT's gic_pwd.c does too).
      const old = typed ?? (await ask(client));
      const fresh = await changeExpiredPassword(io, config, client, old, now);
      result = await getCreds(fresh);
    }
  } catch (e) {
    // MIT reports an unreadable password as a pre-authentication failure.
    if (e instanceof CliExit && e.message === 'Cannot read password') throw new CliExit(1, 'Pre-authentication failed: Cannot read password while getting initial credentials');
    if (e instanceof CliExit) throw e;
    throw new CliExit(1, `${errorText(e, { client, password: !keytab })} while getting initial credentials`);
  }
  // MIT warns from the AS-REP's key-expiration / last-req (get_in_tkt.c warn_pw_expiry).
  const warning = passwordExpiryWarning(result.encPart, now(), service);
  if (warning !== undefined) io.out(`${warning}\n`);
  const cred: Credential = result.credential;
  const credentials: Credential[] = [];
  if (result.paType !== undefined) {
    // MIT records the pre-authentication type that worked (krb5_ccache_conf_data/pa_type/krbtgt…).
    credentials.push(makeConfigEntry('pa_type', new TextEncoder().encode(String(result.paType)), cred.server));
  }
  credentials.push(cred);
  const defaultPrincipal = o.canonicalize || o.enterprise ? cred.client : client;
  try {
    writeCcache(choice.path, { version: 4, kdcOffset: result.kdcOffset, defaultPrincipal, credentials });
    choice.commit?.();
  } catch (e) {
    throw new CliExit(1, `Failed to store credentials: ${errorText(e)} while getting initial credentials`);
  }
  verbose(`Authenticated to Kerberos v5`);
  return 0;
}

function isChangepw(p: Principal | undefined): boolean {
  return p !== undefined && p.name.nameString.length === 2 && p.name.nameString[0] === 'kadmin' && p.name.nameString[1] === 'changepw';
}

/**
 * MIT's gic_pwd.c on KDC_ERR_KEY_EXPIRED: a kadmin/changepw ticket with the
 * old password, "Password expired.  You must change it now.", the new
 * password asked twice (three tries; a mismatch or a policy refusal is shown
 * and asked again), then the change. Returns the new password.
 */
async function changeExpiredPassword(io: CliIo, config: Krb5Config, client: Principal, old: string, now: () => Date): Promise<string> {
  const cred = await changepwTicket(config, client, old, now);
  let banner = 'Password expired.  You must change it now.';
  let failure: unknown;
  for (let tries = 3; tries > 0; tries--) {
    io.out(`${banner}\n`);
    const pw = await readNewPassword(io);
    if (pw === undefined) {
      banner = 'Password mismatch.  Please try again.';
      failure = new CliExit(1, 'Password mismatch while getting initial credentials');
      continue;
    }
    if (pw === '') {
      banner = 'Cannot set password to empty.  Please try again.';
      failure = new CliExit(1, 'Password is empty while getting initial credentials');
      continue;
    }
    const r = await changePassword({ config, credential: cred, newPassword: pw, now });
    if (r.resultCode === 0) return pw;
    // Only a soft error (a policy refusal) is worth another try.
    if (r.resultCode !== 4) throw new CliExit(1, `Password change failed while getting initial credentials`);
    banner = `${resultLine(r)}.  Please try again.\n`;
    failure = new CliExit(1, 'Password change failed while getting initial credentials');
  }
  throw failure;
}
