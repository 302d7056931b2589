/**
 * Keytab files on disk: resolve the name, read, write, add and remove.
 *
 * Adding and removing rewrite the whole file atomically (temporary file, then
 * rename, mode 0600) instead of patching slots in place as MIT does: Node
 * cannot take MIT's fcntl() locks, and a rename lets every reader see either
 * the old or the new keytab. Deleted slots left by MIT's ktremove are
 * compacted away in the process; MIT tools read the result identically.
 */
import * as fs from 'node:fs';
import { KrbError, ErrorCode } from '../krb5/errors.js';
import { FileNotFoundError } from './binary.js';
import { readParsed, writeFileAtomic } from './file-io.js';
import { KEYTAB_V2, parseKeytab, serializeKeytab, type Keytab, type KeytabEntry } from './keytab.js';
import { expandPathTokens, splitTypedName } from './names.js';

/** MIT's built-in default (DEFKTNAME); krb5.conf's default_keytab_name overrides it. */
export const DEFAULT_KEYTAB_NAME = 'FILE:/etc/krb5.keytab';

/**
 * The path of a keytab: `name` if given, else $KRB5_KTNAME, else
 * `defaultName` (pass krb5.conf's default_keytab_name here). Accepts "FILE:",
 * "WRFILE:" and bare paths; %{tokens} are expanded in the default only. Other keytab types
 * (MEMORY:, KDB:) are not files and are refused.
 */
export function resolveKeytabName(name?: string, env: NodeJS.ProcessEnv = process.env, defaultName = DEFAULT_KEYTAB_NAME): string {
  // As krb5_kt_default_name: the environment is taken literally; path tokens
  // are expanded only in the configured or built-in default.
  const chosen = name || env.KRB5_KTNAME || expandPathTokens(defaultName, env);
  const { type, residual } = splitTypedName(chosen);
  if (type !== 'FILE' && type !== 'WRFILE') {
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Unsupported key table type "${type}" in "${chosen}": use FILE:/path`);
  }
  if (residual === '') throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Key table name "${chosen}" has no file name`);
  return residual;
}

/**
 * Read and parse a keytab. A file that ends mid-record is read again a few
 * times: an MIT tool may be appending to it at that moment.
 */
export function readKeytab(path: string): Keytab {
  return readParsed(path, 'Key table file', parseKeytab);
}

/** Replace the keytab at `path` with `kt` (atomic, mode 0600). */
export function writeKeytab(path: string, kt: Keytab): void {
  writeFileAtomic(path, serializeKeytab(kt), 'key table file');
}

function readOrEmpty(path: string): Keytab {
  try {
    return readKeytab(path);
  } catch (e) {
    if (e instanceof FileNotFoundError) return { version: KEYTAB_V2, entries: [] };
    throw e;
  }
}

/** Append entries (creating the file if needed), as MIT's ktadd does; returns the new keytab. */
export function addKeytabEntries(path: string, entries: KeytabEntry[]): Keytab {
  const kt = readOrEmpty(path);
  const next: Keytab = { version: kt.version, entries: [...kt.entries, ...entries] };
  writeKeytab(path, next);
  return next;
}

/**
 * Remove every entry for which `match` is true; returns how many went. The
 * file is rewritten only when something was removed. A missing file is an error.
 */
export function removeKeytabEntries(path: string, match: (e: KeytabEntry) => boolean): number {
  const kt = readKeytab(path);
  const kept = kt.entries.filter((e) => !match(e));
  const removed = kt.entries.length - kept.length;
  if (removed > 0) writeKeytab(path, { version: kt.version, entries: kept });
  return removed;
}

interface CachedKeytab {
  stamp: string;
  keytab: Keytab;
}
const parsedByPath = new Map<string, CachedKeytab>();

/**
 * File timestamps come from a coarse kernel clock, so an in-place edit
 * (MIT's ktadd into a hole keeps the size) made in the same tick as the
 * previous write can leave the stamp unchanged. As git does with "racily
 * clean" files, a file modified less than this long ago is never trusted to
 * the cache.
 */
const SETTLE_MS = 2000;

/** What changes when a keytab is replaced (new inode) or edited in place (times, size). */
function fileStamp(path: string): { stamp: string; settled: boolean } | undefined {
  try {
    const s = fs.statSync(path, { bigint: true });
    const settled = Date.now() - Number(s.mtimeMs) > SETTLE_MS; // content edits move mtime
    return { stamp: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, settled };
  } catch {
    return undefined;
  }
}

/**
 * readKeytab for servers that look a key up per request (the KPOP acceptor):
 * the parsed keytab is kept and reused until the file changes, so a request
 * costs one stat(2). The result is shared; treat it as read-only.
 */
export function readKeytabCached(path: string): Keytab {
  const st = fileStamp(path);
  const hit = parsedByPath.get(path);
  if (st !== undefined && hit?.stamp === st.stamp) return hit.keytab;
  const keytab = readKeytab(path);
  // The stamp was taken before the read: if the file changed meanwhile, the next call re-reads.
  if (st?.settled) parsedByPath.set(path, { stamp: st.stamp, keytab });
  else parsedByPath.delete(path);
  return keytab;
}
