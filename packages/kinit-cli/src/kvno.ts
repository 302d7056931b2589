/**
 * kvno (MIT src/clients/kvno/kvno.c): gets a service ticket for each name
 * (from the cache if one is there, else by a TGS exchange with the cached
 * TGT, stored back into the cache) and prints "svc@REALM: kvno = N". With
 * -k, the ticket must open with the keytab: "…, keytab entry valid".
 */
import {
  decodeEncTicketPart,
  decodeTicket,
  decryptData,
  enctypeFromName,
  findCredential,
  findKeytabKey,
  formatPrincipal,
  getCredentialsFromCache,
  principalEquals,
  KeyUsage,
  loadKrb5Config,
  parsePrincipal,
  readCcache,
  readKeytab,
  resolveKeytabName,
  storeCredentials,
  tgsPrincipal,
  type Principal,
} from '@kpop/common';
import { KVNO_USAGE } from './usage.js';
import { getopt, UsageError } from './getopt.js';
import { CliExit, type CliIo } from './io.js';
import { errorText } from './messages.js';
import { resolveCache } from './cache.js';

export async function kvnoMain(io: CliIo, now: () => Date = () => new Date()): Promise<number> {
  if (io.argv.includes('--help')) {
    io.out(KVNO_USAGE);
    return 0;
  }
  const { options, operands } = getopt(io.argv, 'uCc:e:hk:qPS:I:U:F:', 'kvno', ['cached-only', 'no-store']);
  let cacheName: string | undefined;
  let etype: number | undefined;
  let keytabName: string | undefined;
  let quiet = false;
  let cachedOnly = false;
  let noStore = false;
  let hostService: string | undefined;
  for (const { name, value } of options) {
    switch (name) {
      case 'c': cacheName = value; break;
      case 'e':
        etype = enctypeFromName(value!);
        if (etype === undefined) throw new CliExit(1, `Invalid encryption type specified while converting etype`);
        break;
      case 'k': keytabName = value; break;
      case 'q': quiet = true; break;
      case 'S': hostService = value; break;
      case 'h': throw new UsageError('');
      case '--cached-only': cachedOnly = true; break;
      case '--no-store': noStore = true; break;
      case 'I': case 'U': case 'F': case 'P':
        throw new CliExit(1, 'S4U (-I, -U, -F, -P) is not supported by this kvno');
      default: break; // -u (the default name parsing), -C
    }
  }
  if (operands.length === 0) throw new UsageError('');
  const config = loadKrb5Config(io.env);
  const loc = resolveCache(cacheName, io.env, config);
  let cache;
  try {
    cache = readCcache(loc.path);
  } catch (e) {
    throw new CliExit(1, `${errorText(e)} while getting client principal name`);
  }
  const client = cache.defaultPrincipal;
  const keytab = keytabName !== undefined ? readKeytabOrExit(resolveKeytabName(keytabName, io.env, config.defaultKeytabName)) : undefined;
  let status = 0;
  for (const op of operands) {
    let server: Principal;
    try {
      // -S sname: the operand is a host, the service name comes from -S (sname/host).
      const text = hostService ? `${hostService}/${op}` : op;
      server = parsePrincipal(text, { defaultRealm: config.defaultRealm ?? client.realm, nameType: 1 });
    } catch (e) {
      io.err(`kvno: ${errorText(e)} while parsing principal name ${op}\n`);
      status = 1;
      continue;
    }
    const name = formatPrincipal(server);
    try {
      let cred = findCredential(cache, server, client);
      if (cred && cred.endtime.getTime() <= now().getTime()) cred = undefined;
      if (cred && etype !== undefined && decodeTicket(cred.ticket).encPart.etype !== etype) cred = undefined;
      if (!cred) {
        if (cachedOnly) throw new CliExit(1, `Matching credential not found while getting credentials for ${name}`);
        if (!findCredential(cache, tgsPrincipal(client.realm), client)) {
          throw new CliExit(1, `Matching credential not found (filename: ${loc.path}) while getting credentials for ${name}`);
        }
        // Cross-realm TGTs and referrals as MIT's krb5_get_credentials follows them.
        const got = await getCredentialsFromCache({
          config,
          ccache: { ...cache, credentials: cache.credentials.filter((c) => !principalEquals(c.server, server)) },
          service: server,
          canonicalize: true,
          ...(etype !== undefined ? { etypes: [etype] } : {}),
          now,
        });
        cred = got.credential;
        if (!noStore) cache = storeCredentials(loc.path, got.obtained);
      }
      const ticket = decodeTicket(cred.ticket);
      const kvno = ticket.encPart.kvno ?? 0;
      if (keytab) {
        const entry = findKeytabKey(keytab, server, ticket.encPart.etype, kvno);
        if (!entry) throw new CliExit(1, `No key table entry found for ${name} while decrypting ticket for ${name}`);
        try {
          decodeEncTicketPart(decryptData(entry.key, KeyUsage.KDC_REP_TICKET, ticket.encPart));
        } catch (e) {
          throw new CliExit(1, `${errorText(e)} while decrypting ticket for ${name}`);
        }
        if (!quiet) io.out(`${name}: kvno = ${kvno}, keytab entry valid\n`);
      } else if (!quiet) {
        io.out(`${name}: kvno = ${kvno}\n`);
      }
    } catch (e) {
      if (e instanceof CliExit) io.err(`kvno: ${e.message}\n`);
      else io.err(`kvno: ${errorText(e, { server })} while getting credentials for ${name}\n`);
      status = 1;
    }
  }
  return status;
}

function readKeytabOrExit(path: string) {
  try {
    return readKeytab(path);
  } catch (e) {
    throw new CliExit(1, `${errorText(e)} while resolving keytab ${path}`);
  }
}
