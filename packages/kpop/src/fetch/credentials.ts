/**
 * Where the mail client's Kerberos identity comes from: the ccache that
 * kinit wrote (KRB5CCNAME or the default FILE:/tmp/krb5cc_UID). The ticket
 * for pop/HOST is taken from it if present and current; otherwise it is
 * obtained with the TGT in a TGS exchange (RFC 4120 §3.3) and stored back,
 * as MIT's krb5_get_credentials does, so the next fetch needs no KDC.
 */
import {
  ClientError,
  FileNotFoundError,
  findCredential,
  formatPrincipal,
  getServiceTicket,
  KrbError,
  loadKrb5Config,
  NameType,
  readCcache,
  resolveCcacheName,
  storeCredentials,
  tgsPrincipal,
  type Credential,
  type Krb5Config,
  type Principal,
} from '@kpop/common';
import { FetchError } from './errors.js';

export interface ServiceCredentialOptions {
  /** The server's host name as the principal names it (pop/HOST). */
  host: string;
  /** GSS-API service name (RFC 5034 §4: "pop"). */
  service?: string;
  /** A ccache name (FILE:/path, DIR:/dir); default KRB5CCNAME or MIT's default. */
  ccache?: string;
  env?: NodeJS.ProcessEnv;
  /** krb5.conf; read from KRB5_CONFIG only when a TGS exchange is needed. */
  config?: Krb5Config;
  now?: () => Date;
}

export interface ServiceCredential {
  credential: Credential;
  /** KDC clock minus ours, from the ccache header, for authenticator times. */
  kdcOffsetSeconds: number;
  ccachePath: string;
}

export async function serviceCredential(o: ServiceCredentialOptions): Promise<ServiceCredential> {
  const env = o.env ?? process.env;
  const now = (o.now ?? (() => new Date()))();
  let loc;
  let cc;
  try {
    loc = resolveCcacheName(o.ccache, env);
    cc = readCcache(loc.path);
  } catch (e) {
    const where = loc ? loc.path : (o.ccache ?? env.KRB5CCNAME ?? 'the default ccache');
    const missing = e instanceof FileNotFoundError;
    throw new FetchError('credentials', missing ? `no credentials cache ${where}: run kinit first (e.g. npx kinit alice)` : `cannot read the credentials cache ${where}: ${(e as Error).message}`, { cause: e });
  }
  const client = cc.defaultPrincipal;
  const kdcOffsetSeconds = cc.kdcOffset?.seconds ?? 0;
  const skewed = now.getTime() + kdcOffsetSeconds * 1000;
  const host = o.host.toLowerCase().replace(/\.$/, '');
  let config = o.config;
  const realm = (config ?? safeConfig(env))?.hostRealm(host) ?? client.realm;
  const service: Principal = { realm, name: { nameType: NameType.NT_SRV_HST, nameString: [o.service ?? 'pop', host] } };
  const cached = findCredential(cc, service, client);
  if (cached && cached.endtime.getTime() > skewed + 60_000) return { credential: cached, kdcOffsetSeconds, ccachePath: loc.path };

  const tgt = findCredential(cc, tgsPrincipal(realm, client.realm), client);
  if (!tgt) throw new FetchError('credentials', `${loc.path} holds no ticket-granting ticket for ${formatPrincipal(client)}: run kinit again`);
  if (tgt.endtime.getTime() <= skewed) throw new FetchError('credentials', `the tickets of ${formatPrincipal(client)} in ${loc.path} expired at ${tgt.endtime.toISOString()}: run kinit again`);
  try {
    config ??= loadKrb5Config(env);
  } catch (e) {
    throw new FetchError('credentials', `cannot read krb5.conf to reach the KDC: ${(e as Error).message} (set KRB5_CONFIG)`, { cause: e });
  }
  let credential: Credential;
  try {
    ({ credential } = await getServiceTicket({ config, tgt, service, kdcOffsetSeconds }));
  } catch (e) {
    throw new FetchError('credentials', `cannot get a ticket for ${formatPrincipal(service)}: ${describe(e)}`, { cause: e });
  }
  try {
    storeCredentials(loc.path, [credential]);
  } catch {
    // A read-only ccache still works for this fetch; the next one asks the KDC again.
  }
  return { credential, kdcOffsetSeconds, ccachePath: loc.path };
}

function safeConfig(env: NodeJS.ProcessEnv): Krb5Config | undefined {
  try {
    return loadKrb5Config(env);
  } catch {
    return undefined;
  }
}

function describe(e: unknown): string {
  if (e instanceof KrbError && e.code === 7) return `${e.message} (the KDC has no such service: check --host, or list them with kdc listprincs 'pop/*')`;
  if (e instanceof KrbError || e instanceof ClientError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
