/**
 * Which file a ccache name means, as MIT's krb5_cc_default_name and
 * krb5_cc_resolve decide:
 * - the explicit name, else $KRB5CCNAME (used literally), else krb5.conf's
 *   default_ccache_name, else "FILE:/tmp/krb5cc_%{uid}" (path tokens expanded
 *   in the last two only, as MIT does);
 * - "FILE:path", a bare path, or "DIR:dir" / "DIR::dir/tktNAME".
 *
 * DIR (MIT's cc_dir.c) is a collection: a directory of caches named tkt*,
 * plus a file "primary" holding the name of the current one ("tkt" if absent).
 * "DIR:dir" means that primary cache; "DIR::dir/tktX" names one cache directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KrbError, ErrorCode } from '../krb5/errors.js';
import { writeFileAtomic } from '../keytab/file-io.js';
import { expandPathTokens, splitTypedName } from '../keytab/names.js';

/** MIT's compiled-in DEFCCNAME on Unix. */
export const DEFAULT_CCACHE_NAME = 'FILE:/tmp/krb5cc_%{uid}';

export interface CcacheLocation {
  type: 'FILE' | 'DIR';
  /** The part after "TYPE:". */
  residual: string;
  /** The cache file to read or write. */
  path: string;
  /** For DIR: the collection directory. */
  collection?: string;
}

const PRIMARY = 'primary';

/** MIT's filename_is_cache(): subsidiary caches are named tkt*, with no '/'. */
function isCacheFileName(name: string): boolean {
  return name.startsWith('tkt') && !name.includes('/');
}

/** The primary cache's file name in a DIR collection ("tkt" when no primary file exists yet). */
export function readPrimaryName(dir: string): string {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, PRIMARY), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'tkt';
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Cannot read '${path.join(dir, PRIMARY)}': ${(e as Error).message}`, { cause: e });
  }
  const name = text.split('\n')[0]!;
  if (!isCacheFileName(name)) {
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `'${path.join(dir, PRIMARY)}' names "${name}", not a tkt* cache file: rewrite it with kswitch`);
  }
  return name;
}

/** Resolve a ccache name to its file (see the module comment for the order of sources). */
export function resolveCcacheName(name?: string, env: NodeJS.ProcessEnv = process.env, defaultName?: string): CcacheLocation {
  const chosen = name || env.KRB5CCNAME || expandPathTokens(defaultName || DEFAULT_CCACHE_NAME, env);
  const { type, residual } = splitTypedName(chosen);
  if (residual === '') throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Credentials cache name "${chosen}" has no file name`);
  if (type === 'FILE') return { type: 'FILE', residual, path: residual };
  if (type === 'DIR') {
    if (residual.startsWith(':')) {
      // A subsidiary cache named directly; it must sit in a collection directory.
      const file = residual.slice(1);
      if (!isCacheFileName(path.basename(file))) {
        throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `"${chosen}": a DIR cache file must be named tkt*`);
      }
      return { type: 'DIR', residual, path: file, collection: path.dirname(file) };
    }
    return { type: 'DIR', residual, path: path.join(residual, readPrimaryName(residual)), collection: residual };
  }
  throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Unsupported credentials cache type "${type}" in "${chosen}": use FILE:/path or DIR:/directory`);
}

/** Every cache file of a DIR collection, the primary first (as MIT's cursor returns them). */
export function listCcacheCollection(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter(isCacheFileName).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Cannot list credentials cache collection '${dir}': ${(e as Error).message}`, { cause: e });
  }
  const primary = readPrimaryName(dir);
  const ordered = names.includes(primary) ? [primary, ...names.filter((n) => n !== primary)] : names;
  return ordered.map((n) => path.join(dir, n));
}

/** Make `file` the primary cache of its DIR collection (kswitch). */
export function setPrimaryCcache(dir: string, file: string): void {
  const name = path.basename(file);
  if (!isCacheFileName(name) || path.resolve(path.dirname(file)) !== path.resolve(dir)) {
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `'${file}' is not a cache file of the collection '${dir}'`);
  }
  writeFileAtomic(path.join(dir, PRIMARY), new TextEncoder().encode(name + '\n'), 'primary cache file', { fsync: false });
}

/**
 * A fresh, unused cache file name in a DIR collection (MIT uses mkstemp with
 * "tktXXXXXX"); the directory is created with mode 0700 if needed.
 */
export function newCcacheInCollection(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (;;) {
    const file = path.join(dir, 'tkt' + randomBytes(6).toString('base64url').replace(/[-_]/g, 'x'));
    if (!fs.existsSync(file)) return file;
  }
}
