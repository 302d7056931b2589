/**
 * kpasswd, as MIT krb5 1.20's (src/kpasswd/kpasswd.c): change one's own
 * password through the realm's kpasswd service (RFC 3244).
 *
 *   kpasswd [principal]
 *
 * The principal is the argument, else the default cache's, else the login
 * name of the real user. Prompts: "Password for P: ", "Enter new password: ", "Enter it
 * again: ". Exit 0 and "Password changed." on success; 2 and MIT's result
 * line ("Password change rejected: …") on stdout when the server refuses;
 * 1 with "kpasswd: <error> <what>" on stderr for anything else.
 */
import { userInfo } from 'node:os';
import { formatPrincipal, loadKrb5Config, parsePrincipal, readCcache, type Principal } from '@kpop/common';
import { changePassword, changepwTicket, readNewPassword, resultLine } from './chpw.js';
import { CliExit, type CliIo } from './io.js';
import { errorText } from './messages.js';
import { KPASSWD_USAGE } from './usage.js';
import { chooseCacheFor } from './cache.js';

export async function kpasswdMain(io: CliIo, now: () => Date = () => new Date()): Promise<number> {
  if (io.argv.length > 1) {
    io.err(KPASSWD_USAGE);
    return 1;
  }
  const config = loadKrb5Config(io.env);
  const realm = config.defaultRealm;
  let client: Principal;
  const name = io.argv[0];
  try {
    if (name !== undefined) client = parsePrincipal(name, realm ? { defaultRealm: realm } : {});
    else {
      let fromCache: Principal | undefined;
      try {
        fromCache = readCcache(chooseCacheFor(undefined, io.env, config).path).defaultPrincipal;
      } catch {
        fromCache = undefined;
      }
      // MIT: the name of the real user (getpwuid(getuid())), not $USER.
      const user = userInfo().username;
      client = fromCache ?? parsePrincipal(user, realm ? { defaultRealm: realm } : {});
    }
  } catch {
    throw new CliExit(1, `${realm ? 'Malformed representation of principal' : 'Configuration file does not specify default realm'} parsing client name`);
  }
  let cred;
  try {
    cred = await changepwTicket(config, client, (c) => io.readPassword(`Password for ${formatPrincipal(c)}: `), now);
  } catch (e) {
    if (e instanceof CliExit && e.message === 'Cannot read password') throw new CliExit(1, 'Cannot read password getting initial ticket');
    throw new CliExit(1, `${errorText(e)} getting initial ticket`);
  }
  const pw = await readNewPassword(io).catch(() => {
    throw new CliExit(1, 'Cannot read password while reading password');
  });
  if (pw === undefined) throw new CliExit(1, 'Password mismatch while reading password');
  let r;
  try {
    r = await changePassword({ config, credential: cred, newPassword: pw, now });
  } catch (e) {
    throw new CliExit(1, `${errorText(e)} changing password`);
  }
  if (r.resultCode !== 0) {
    io.out(`${resultLine(r)}\n`);
    return 2;
  }
  io.out('Password changed.\n');
  return 0;
}
