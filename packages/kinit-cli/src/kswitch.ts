/**
 * kswitch (MIT src/clients/kswitch/kswitch.c): makes a cache of a DIR:
 * collection the primary one, named by -c or found by its principal (-p).
 * A FILE cache is its own one-cache collection, so switching to it does
 * nothing, as in MIT.
 */
import { listCcacheCollection, loadKrb5Config, parsePrincipal, principalEquals, readCcache, setPrimaryCcache } from '@kpop/common';
import { KSWITCH_USAGE } from './usage.js';
import { getopt, UsageError } from './getopt.js';
import { CliExit, type CliIo } from './io.js';
import { resolveCache } from './cache.js';

export async function kswitchMain(io: CliIo): Promise<number> {
  if (io.argv.includes('--help')) {
    io.out(KSWITCH_USAGE);
    return 0;
  }
  const { options, operands } = getopt(io.argv, 'c:p:', 'kswitch');
  let cache: string | undefined;
  let principal: string | undefined;
  for (const { name, value } of options) {
    if (name === 'c') cache = value;
    else if (name === 'p') principal = value;
  }
  if (operands.length) throw new UsageError('');
  if (cache && principal) throw new UsageError('Only one of -c or -p may be specified');
  if (!cache && !principal) throw new UsageError('One of -c or -p must be specified');
  const config = loadKrb5Config(io.env);
  if (cache) {
    const loc = resolveCache(cache, io.env, config);
    try {
      readCcache(loc.path);
    } catch {
      throw new CliExit(1, `No credentials cache found (filename: ${loc.path}) while resolving ccache ${cache}`);
    }
    if (loc.collection) setPrimaryCcache(loc.collection, loc.path);
    return 0;
  }
  const loc = resolveCache(undefined, io.env, config);
  const want = parsePrincipal(principal!, config.defaultRealm ? { defaultRealm: config.defaultRealm } : {});
  const found = (loc.collection ? listCcacheCollection(loc.collection) : [loc.path]).find((p) => {
    try {
      return principalEquals(readCcache(p).defaultPrincipal, want);
    } catch {
      return false;
    }
  });
  if (!found) throw new CliExit(1, `Matching credential not found while searching for ccache for ${principal}`);
  if (loc.collection) setPrimaryCcache(loc.collection, found);
  return 0;
}
