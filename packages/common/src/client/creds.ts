/**
 * A service ticket from a credential cache, as MIT's krb5_get_credentials
 * gets one (RFC 4120 §3.3, §1.2 cross-realm):
 *
 * - a valid ticket already in the cache is used as is;
 * - for a service in the client's realm, the TGT krbtgt/C@C asks for it;
 * - for a service in realm S ≠ C, the cross-realm TGT krbtgt/S@C (from the
 *   cache, or asked of C's KDC) asks S's KDC (direct trust only: no capaths);
 * - with name canonicalization (RFC 6806 §8), a KDC may answer with a
 *   referral TGT krbtgt/R@…; it is followed to R's KDC, a few hops at most.
 *
 * Every ticket obtained on the way is returned so the caller can store it.
 */
import type { Ccache, Credential } from '../ccache/index.js';
import { formatPrincipal, principalEquals, tgsPrincipal } from '../krb5/principal.js';
import type { Principal } from '../krb5/types.js';
import type { KdcSender } from './as.js';
import type { Krb5Config } from './config.js';
import { ClientError } from './errors.js';
import { getServiceTicket } from './tgs.js';

export interface CredentialsFromCacheOptions {
  config: Krb5Config;
  ccache: Ccache;
  service: Principal;
  canonicalize?: boolean;
  etypes?: number[];
  /** Don't ask any KDC: only what the cache holds (kvno --cached-only). */
  cachedOnly?: boolean;
  now?: () => Date;
  send?: KdcSender;
}

export interface CredentialsFromCache {
  credential: Credential;
  /** Tickets obtained from KDCs (cross-realm TGTs and the service ticket), to store. */
  obtained: Credential[];
}

const MAX_HOPS = 5;

function isRealCredential(c: Credential): boolean {
  return c.server.realm !== 'X-CACHECONF:';
}

function findValid(creds: Credential[], server: Principal, client: Principal, now: Date, etypeOk: (c: Credential) => boolean): Credential | undefined {
  return creds.find(
    (c) => isRealCredential(c) && principalEquals(c.server, server) && principalEquals(c.client, client) && c.endtime.getTime() > now.getTime() && etypeOk(c),
  );
}

export async function getCredentialsFromCache(opts: CredentialsFromCacheOptions): Promise<CredentialsFromCache> {
  const { config, ccache, service } = opts;
  const client = ccache.defaultPrincipal;
  const clock = opts.now ?? (() => new Date());
  const pool = [...ccache.credentials];
  const obtained: Credential[] = [];
  const kdcOffsetSeconds = ccache.kdcOffset?.seconds ?? 0;
  const any = () => true;

  const cached = findValid(pool, service, client, clock(), any);
  if (cached) return { credential: cached, obtained };
  if (opts.cachedOnly) throw new ClientError('KRB5_CC_NOTFOUND', 'Matching credential not found');

  const common = {
    config,
    kdcOffsetSeconds,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.send ? { send: opts.send } : {}),
  };
  const tgtFor = async (realm: string): Promise<Credential> => {
    const local = tgsPrincipal(client.realm);
    const localTgt = findValid(pool, local, client, clock(), any);
    if (!localTgt) throw new ClientError('KRB5_CC_NOTFOUND', `Matching credential not found (no ticket-granting ticket for ${formatPrincipal(local)})`);
    if (realm === client.realm) return localTgt;
    const cross = tgsPrincipal(realm, client.realm);
    const have = findValid(pool, cross, client, clock(), any);
    if (have) return have;
    const got = await getServiceTicket({ ...common, tgt: localTgt, service: cross });
    obtained.push(got.credential);
    pool.push(got.credential);
    return got.credential;
  };

  let askRealm = service.realm || client.realm;
  let tgt = await tgtFor(askRealm);
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const got = await getServiceTicket({
      ...common,
      tgt,
      service: { ...service, realm: askRealm },
      ...(opts.canonicalize !== undefined ? { canonicalize: opts.canonicalize } : {}),
      ...(opts.etypes ? { etypes: opts.etypes } : {}),
    });
    const s = got.credential.server;
    const isReferral = s.name.nameString[0] === 'krbtgt' && s.name.nameString.length === 2 && service.name.nameString[0] !== 'krbtgt';
    obtained.push(got.credential);
    if (!isReferral) return { credential: got.credential, obtained };
    // RFC 6806 §8: a TGT for the realm that holds the service; ask that realm's KDC.
    pool.push(got.credential);
    tgt = got.credential;
    askRealm = s.name.nameString[1]!;
  }
  throw new ClientError('KRB5_KDCREP_MODIFIED', `Too many referrals while getting credentials for ${formatPrincipal(service)}`);
}
