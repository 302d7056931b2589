/**
 * Helpers for the `kpop fetch` tests: a realm (our test KDC) with alice, bob
 * and pop/localhost, our POP3/KPOP server on free ports with TLS, a ccache
 * made by the AS exchange of the client library (what kinit does), and a
 * test CA made with the openssl command line.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getInitialCredentials, parseKrb5Config, parsePrincipal, writeCcache } from '@kpop/common';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { deliver, startPopServer, type PopServer } from '@kpop/kpop';

/** A CA and a server certificate for localhost and 127.0.0.1 (openssl req/x509). */
export function makeTestCa(dir: string): { caFile: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=kpop fetch test CA']);
  ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ossl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { caFile: f('ca.pem'), cert: readFileSync(f('server.pem'), 'utf8'), key: readFileSync(f('server.key'), 'utf8') };
}

export interface FetchRealm {
  kdc: TestKdc;
  pop: PopServer;
  maildirRoot: string;
  caFile: string;
  keytab: string;
  /** Environment for a fetch as alice (KRB5_CONFIG and her ccache). */
  env: Record<string, string>;
  ccachePath: string;
  stop(): Promise<void>;
}

export const REALM = 'FETCH.TEST';

export async function startFetchRealm(): Promise<FetchRealm> {
  const kdc = await startTestKdc({
    realm: REALM,
    principals: { alice: 'alice-pw-1', bob: 'bob-pw-1', 'pop/localhost': { randkey: true }, 'pop/127.0.0.1': { randkey: true } },
  });
  const keytab = kdc.keytab(['pop/localhost', 'pop/127.0.0.1'], join(kdc.dir, 'pop.keytab'));
  const tls = makeTestCa(join(kdc.dir, 'ca'));
  const maildirRoot = join(kdc.dir, 'mail');
  const pop = await startPopServer({
    maildirRoot,
    realm: REALM,
    keytab,
    kpop: { host: '127.0.0.1', port: 0 },
    pop3: { host: '127.0.0.1', port: 0 },
    pop3s: { host: '127.0.0.1', port: 0 },
    tls: { cert: tls.cert, key: tls.key },
    log: () => {},
  });
  const ccachePath = join(kdc.dir, 'ccache');
  return {
    kdc,
    pop,
    maildirRoot,
    caFile: tls.caFile,
    keytab,
    ccachePath,
    env: { KRB5_CONFIG: kdc.krb5ConfPath, KRB5CCNAME: `FILE:${ccachePath}` },
    async stop() {
      await pop.close();
      await kdc.stop();
    },
  };
}

/** What kinit does: an AS exchange with the password, and a fresh ccache holding the TGT. */
export async function kinitInProcess(r: FetchRealm, user: string, password: string, ccachePath = r.ccachePath): Promise<void> {
  const config = parseKrb5Config(readFileSync(r.kdc.krb5ConfPath, 'utf8'));
  const client = parsePrincipal(user, { defaultRealm: REALM });
  const ic = await getInitialCredentials({ config, client, password });
  writeCcache(ccachePath, { version: 4, kdcOffset: ic.kdcOffset, defaultPrincipal: client, credentials: [ic.credential] });
}

export async function putMail(r: FetchRealm, user: string, messages: string[]): Promise<void> {
  for (const m of messages) await deliver(join(r.maildirRoot, user), Buffer.from(m));
}

export function tempDir(prefix = 'kpop-fetch-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
