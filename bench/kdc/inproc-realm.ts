// A throwaway realm served inside the bench's own process (no `kdc start`),
// for the benches that put MIT's load on a socket of their own: alice with a
// keytab, pop/localhost, a handler context without a lookaside (each request
// is processed in full) and a krb5.conf naming a port.
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ENCTYPES, writeKeytab } from '@kpop/common';
import { batchedFdLogger, initRealm, openDatabase } from '@kpop/kdc';
import type { HandlerContext } from '@kpop/kdc';
import type { MitLoadTarget } from './mit-load.js';

export interface InProcessRealm {
  ctx: HandlerContext;
  /** What mitload needs to reach a KDC for this realm on 127.0.0.1:port. */
  target(port: number): MitLoadTarget;
  cleanup(): void;
}

export function inProcessRealm(prefix: string): InProcessRealm {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const init = initRealm(join(dir, 'db'), { realm: 'IN.TEST' });
  init.addPrincipal('alice', { password: 'pw' });
  init.addPrincipal('pop/localhost', { randkey: true });
  const keytab = join(dir, 'alice.keytab');
  writeKeytab(keytab, { version: 0x0502, entries: init.keytabEntries(['alice']) });
  init.close();
  const db = openDatabase(join(dir, 'db'));
  const ctx: HandlerContext = { store: db, now: () => new Date(), enctypes: DEFAULT_ENCTYPES, log: batchedFdLogger(openSync('/dev/null', 'w')) };
  return {
    ctx,
    target(port) {
      const krb5Conf = join(dir, 'krb5.conf');
      writeFileSync(krb5Conf, `[libdefaults]\n default_realm = IN.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1465\n[realms]\n IN.TEST = {\n  kdc = 127.0.0.1:${port}\n }\n`);
      return { krb5Conf, client: 'alice@IN.TEST', keytab, service: 'pop/localhost@IN.TEST' };
    },
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
