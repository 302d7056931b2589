/**
 * Which ccache a command works on: -c, else KRB5CCNAME, else krb5.conf's
 * default_ccache_name, else FILE:/tmp/krb5cc_<uid> (ccache/ resolves names).
 * For a DIR: collection, kinit without -c uses the collection's cache for
 * that client, or a new one, and makes it primary (MIT's krb5_cc_cache_match
 * then krb5_cc_switch).
 */
import { mkdirSync } from 'node:fs';
import {
  listCcacheCollection,
  newCcacheInCollection,
  principalEquals,
  readCcache,
  resolveCcacheName,
  setPrimaryCcache,
  type CcacheLocation,
  type Krb5Config,
  type Principal,
} from '@kpop/common';

export interface CacheChoice extends CcacheLocation {
  /** Called after a successful write (makes a DIR cache primary). */
  commit?: () => void;
}

export function resolveCache(explicit: string | undefined, env: NodeJS.ProcessEnv, config: Krb5Config): CacheChoice {
  return resolveCcacheName(explicit, env, config.defaultCcacheName);
}

/** A DIR collection's directory is created (mode 0700) on first use, as MIT's cc_dir.c does. */
function ensureCollection(loc: CcacheLocation): void {
  if (loc.type === 'DIR' && loc.collection) mkdirSync(loc.collection, { recursive: true, mode: 0o700 });
}

/** "FILE:/tmp/x" / "DIR::/dir/tktX", as klist's "Ticket cache:" line names it. */
export function cacheDisplayName(c: CcacheLocation): string {
  return c.type === 'DIR' ? `DIR::${c.path}` : `FILE:${c.path}`;
}

/** What kinit -V prints after "Using … cache:" (MIT prints krb5_cc_get_name). */
export function describeCache(c: CcacheLocation): string {
  return c.type === 'DIR' ? `:${c.path}` : c.path;
}

/** kinit's choice: the resolved cache, or in a DIR collection (no -c), the client's own cache. */
export function chooseCacheFor(explicit: string | undefined, env: NodeJS.ProcessEnv, config: Krb5Config, client?: Principal): CacheChoice {
  const loc = resolveCache(explicit, env, config);
  ensureCollection(loc);
  if (explicit || loc.type !== 'DIR' || !loc.collection || !client) return loc;
  const dir = loc.collection;
  const owner = (path: string): Principal | undefined => {
    try {
      return readCcache(path).defaultPrincipal;
    } catch {
      return undefined;
    }
  };
  let path = listCcacheCollection(dir).find((p) => {
    const o = owner(p);
    return o !== undefined && principalEquals(o, client);
  });
  if (!path) path = owner(loc.path) === undefined ? loc.path : newCcacheInCollection(dir);
  const chosen = path;
  return { ...loc, path: chosen, commit: () => setPrimaryCcache(dir, chosen) };
}
