/**
 * kdestroy (MIT src/clients/kdestroy/kdestroy.c): destroys the cache, or with
 * -A every cache of the collection, or with -p the collection's cache of a
 * principal. The file is overwritten with zeros before it is removed, so the
 * session keys do not linger in freed disk blocks. No cache is not an error
 * (status 0, a message unless -q), as in MIT.
 */
import { closeSync, fstatSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { formatPrincipal, listCcacheCollection, loadKrb5Config, parsePrincipal, principalEquals, readCcache } from '@kpop/common';
import { KDESTROY_USAGE } from './usage.js';
import { getopt, UsageError } from './getopt.js';
import { CliExit, type CliIo } from './io.js';
import { resolveCache } from './cache.js';

/** Zero the file, then unlink it; false when it did not exist. */
export function wipeAndRemove(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    const zeros = Buffer.alloc(Math.min(size, 65536));
    for (let off = 0; off < size; off += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, size - off), off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(path);
  return true;
}

export async function kdestroyMain(io: CliIo): Promise<number> {
  if (io.argv.includes('--help')) {
    io.out(KDESTROY_USAGE);
    return 0;
  }
  const { options, operands } = getopt(io.argv, 'Aqc:p:', 'kdestroy');
  let all = false;
  let quiet = false;
  let cache: string | undefined;
  let principal: string | undefined;
  for (const { name, value } of options) {
    if (name === 'A') all = true;
    else if (name === 'q') quiet = true;
    else if (name === 'c') cache = value;
    else if (name === 'p') principal = value;
  }
  if (operands.length) throw new UsageError('');
  if (cache && principal) throw new UsageError('Only one of -c or -p may be specified');
  const config = loadKrb5Config(io.env);
  const loc = resolveCache(cache, io.env, config);
  if (all) {
    for (const p of loc.collection ? listCcacheCollection(loc.collection) : [loc.path]) wipeAndRemove(p);
    return 0;
  }
  let path = loc.path;
  if (principal) {
    const want = parsePrincipal(principal, config.defaultRealm ? { defaultRealm: config.defaultRealm } : {});
    const found = (loc.collection ? listCcacheCollection(loc.collection) : [loc.path]).find((p) => {
      try {
        return principalEquals(readCcache(p).defaultPrincipal, want);
      } catch {
        return false;
      }
    });
    if (!found) throw new CliExit(1, `Can't find ccache for principal ${formatPrincipal(want)}: Matching credential not found`);
    path = found;
  }
  if (!wipeAndRemove(path) && !quiet) io.err('kdestroy: No credentials cache found while destroying cache\n');
  return 0;
}
