/**
 * An embeddable KDC for tests (in the manner of Apache Kerby's
 * SimpleKdcServer and MIT's K5Realm): a fresh realm in a temporary folder,
 * UDP and TCP bound to port 0 on 127.0.0.1 (no port races, several side by
 * side in one process), a krb5.conf for MIT tools, keytabs on demand.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYTAB_V2, enctypeName, writeKeytab } from '@kpop/common';
import { initRealm } from '../db/index.js';
import type { AddPrincipalOptions, KdcDatabase } from '../db/index.js';
import type { KdcLogger } from '../exchange/log.js';
import { startKdcServer } from '../server/kdc-server.js';
import { ensureChangepwPrincipal, startKpasswdServer, type KpasswdServer } from '../server/kpasswd-server.js';
import type { KdcServer, KdcServerOptions } from '../server/kdc-server.js';

export type TestPrincipalSpec = string | AddPrincipalOptions;

export interface TestKdcOptions {
  realm?: string;
  /** name → password, or full options ({ randkey: true }, { keys: [...] }, ...). */
  principals?: Record<string, TestPrincipalSpec>;
  /** Enctypes of the realm's keys (default: all four aes). */
  enctypes?: number[];
  /** Client-side permitted_enctypes written into krb5.conf (default: not set). */
  clientEnctypes?: number[];
  /** Extra [libdefaults] lines for krb5.conf. */
  libdefaults?: Record<string, string>;
  /** Default: silent. Pass a function to see the KDC's log records. */
  log?: KdcLogger;
  now?: () => Date;
  maxUdpReply?: number;
  maxLife?: number;
  maxRenew?: number;
  server?: Partial<Pick<KdcServerOptions, 'lookaside' | 'tcp' | 'enctypes'>>;
  /** Also run the kpasswd service (RFC 3244) on a free port, with kadmin/changepw, and name it in krb5.conf. */
  kpasswd?: boolean | { admins?: string[] };
  /** UDP and TCP port on 127.0.0.1 (default 0: a free port, the same for both). */
  port?: number;
}

export interface TestKdc {
  readonly realm: string;
  readonly dir: string;
  readonly krb5ConfPath: string;
  /** "127.0.0.1:PORT": UDP and TCP share the port. */
  readonly kdcAddress: string;
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly db: KdcDatabase;
  readonly server: KdcServer;
  /** The kpasswd service, when asked for ("127.0.0.1:PORT" in kpasswdAddress). */
  readonly kpasswd?: KpasswdServer;
  readonly kpasswdAddress?: string;
  /** KRB5_CONFIG, KRB5CCNAME (a file in dir), KRB5_KTNAME for child processes. */
  readonly env: Record<string, string>;
  addPrincipal(name: string, opts?: TestPrincipalSpec): void;
  /** Write the current keys of these principals to a keytab (default dir/<first>.keytab); returns the path. */
  keytab(names: string[], path?: string): string;
  /** Write another krb5.conf for this realm (e.g. other permitted_enctypes); returns its path. */
  writeKrb5Conf(file: string, opts?: { clientEnctypes?: number[]; libdefaults?: Record<string, string> }): string;
  stop(): Promise<void>;
}

function specToOptions(spec: TestPrincipalSpec): AddPrincipalOptions {
  return typeof spec === 'string' ? { password: spec } : spec;
}

export function krb5ConfText(realm: string, kdcAddress: string, opts: { clientEnctypes?: number[]; libdefaults?: Record<string, string>; kpasswdAddress?: string } = {}): string {
  const lib: Record<string, string> = {
    default_realm: realm,
    dns_lookup_kdc: 'false',
    dns_lookup_realm: 'false',
    rdns: 'false',
    dns_canonicalize_hostname: 'false',
    ...(opts.clientEnctypes
      ? {
          permitted_enctypes: opts.clientEnctypes.map(enctypeName).join(' '),
          default_tkt_enctypes: opts.clientEnctypes.map(enctypeName).join(' '),
          default_tgs_enctypes: opts.clientEnctypes.map(enctypeName).join(' '),
        }
      : {}),
    ...opts.libdefaults,
  };
  return [
    '[libdefaults]',
    ...Object.entries(lib).map(([k, v]) => `    ${k} = ${v}`),
    '',
    '[realms]',
    `    ${realm} = {`,
    `        kdc = ${kdcAddress}`,
    ...(opts.kpasswdAddress ? [`        kpasswd_server = ${opts.kpasswdAddress}`, `        admin_server = ${opts.kpasswdAddress}`] : []),
    '    }',
    '',
    '[domain_realm]',
    `    localhost = ${realm}`,
    `    127.0.0.1 = ${realm}`,
    '',
  ].join('\n');
}

export async function startTestKdc(opts: TestKdcOptions = {}): Promise<TestKdc> {
  const realm = opts.realm ?? 'KRBTEST.COM';
  const dir = mkdtempSync(join(tmpdir(), 'kpop-testkdc-'));
  let db: KdcDatabase | undefined;
  let server: KdcServer | undefined;
  let kpasswd: KpasswdServer | undefined;
  try {
    db = initRealm(join(dir, 'db'), {
      realm,
      ...(opts.enctypes ? { enctypes: opts.enctypes } : {}),
      ...(opts.maxLife !== undefined ? { maxLife: opts.maxLife } : {}),
      ...(opts.maxRenew !== undefined ? { maxRenew: opts.maxRenew } : {}),
    });
    for (const [name, spec] of Object.entries(opts.principals ?? {})) db.addPrincipal(name, specToOptions(spec));
    server = await startKdcServer({
      store: db,
      listen: [{ host: '127.0.0.1', port: opts.port ?? 0 }],
      log: opts.log ?? (() => {}),
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.maxUdpReply !== undefined ? { maxUdpReply: opts.maxUdpReply } : {}),
      ...opts.server,
    });
    if (opts.kpasswd) {
      ensureChangepwPrincipal(db);
      kpasswd = await startKpasswdServer({
        db,
        listen: [{ host: '127.0.0.1', port: 0 }],
        log: opts.log ?? (() => {}),
        ...(opts.now ? { now: opts.now } : {}),
        admins: typeof opts.kpasswd === 'object' ? opts.kpasswd.admins ?? [] : [],
      });
    }
  } catch (e) {
    await server?.close();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const theDb = db;
  const theServer = server;
  const port = theServer.udp[0]!.port;
  const kdcAddress = `127.0.0.1:${port}`;
  const kpasswdAddress = kpasswd ? `127.0.0.1:${kpasswd.udp[0]!.port}` : undefined;
  const writeKrb5Conf = (file: string, o: { clientEnctypes?: number[]; libdefaults?: Record<string, string> } = {}): string => {
    const path = file.startsWith('/') ? file : join(dir, file);
    writeFileSync(path, krb5ConfText(realm, kdcAddress, { ...o, ...(kpasswdAddress ? { kpasswdAddress } : {}) }));
    return path;
  };
  const krb5ConfPath = writeKrb5Conf('krb5.conf', { ...(opts.clientEnctypes ? { clientEnctypes: opts.clientEnctypes } : {}), ...(opts.libdefaults ? { libdefaults: opts.libdefaults } : {}) });
  let stopped = false;
  return {
    realm,
    dir,
    krb5ConfPath,
    kdcAddress,
    udpPort: port,
    tcpPort: theServer.tcp[0]!.port,
    db: theDb,
    server: theServer,
    ...(kpasswd ? { kpasswd, kpasswdAddress: kpasswdAddress! } : {}),
    env: { KRB5_CONFIG: krb5ConfPath, KRB5CCNAME: `FILE:${join(dir, 'ccache')}`, KRB5_KTNAME: `FILE:${join(dir, 'krb5.keytab')}` },
    addPrincipal(name, spec = { randkey: true }) {
      theDb.addPrincipal(name, specToOptions(spec));
    },
    keytab(names, path) {
      const file = path ?? join(dir, `${names[0]!.replace(/[^A-Za-z0-9._-]/g, '_')}.keytab`);
      writeKeytab(file, { version: KEYTAB_V2, entries: theDb.keytabEntries(names) });
      return file;
    },
    writeKrb5Conf,
    async stop() {
      if (stopped) return;
      stopped = true;
      await theServer.close();
      await kpasswd?.close();
      theDb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
