/**
 * Credential caches on disk. Writes replace the file atomically (temporary
 * file in the same directory, then rename) with mode 0600, so a reader, ours
 * or MIT's, sees the old cache or the new one and never a partial write.
 * MIT itself rewrites caches in place under an fcntl() lock that Node cannot
 * take, so a read that finds the file cut short is retried briefly.
 */
import * as fs from 'node:fs';
import { KrbError, ErrorCode } from '../krb5/errors.js';
import { principalEquals } from '../krb5/principal.js';
import type { Principal } from '../krb5/types.js';
import { readParsed, writeFileAtomic } from '../keytab/file-io.js';
import { parseCcache, serializeCcache, type Ccache, type Credential } from './ccache.js';
import { isConfigEntry } from './config-entry.js';

/** Read and parse a ccache; FileNotFoundError when there is none (klist: "No credentials cache found"). */
export function readCcache(path: string): Ccache {
  return readParsed(path, 'Credentials cache', parseCcache);
}

/** Replace the ccache at `path` with `c` (atomic, mode 0600). */
export function writeCcache(path: string, c: Ccache): void {
  // No fsync, as MIT's kinit (see writeFileAtomic).
  writeFileAtomic(path, serializeCcache(c), 'credentials cache', { fsync: false });
}

/** Remove a ccache, as kdestroy does; false when there was none. */
export function destroyCcache(path: string): boolean {
  try {
    fs.unlinkSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Cannot remove credentials cache '${path}': ${(e as Error).message}`, { cause: e });
  }
}

const sameSlot = (a: Credential, b: Credential): boolean =>
  principalEquals(a.client, b.client) && principalEquals(a.server, b.server) && a.isSkey === b.isSkey;

/**
 * `c` with `creds` stored: each replaces a credential for the same client and
 * server (a renewed or refetched ticket), or is appended (MIT's store appends).
 */
export function withCredentials(c: Ccache, creds: Credential[]): Ccache {
  const credentials = [...c.credentials];
  for (const cred of creds) {
    const i = credentials.findIndex((old) => sameSlot(old, cred));
    if (i >= 0) credentials[i] = cred;
    else credentials.push(cred);
  }
  return { ...c, credentials };
}

/** Store credentials into an existing cache on disk (kvno, kinit -R); returns the new cache. */
export function storeCredentials(path: string, creds: Credential[]): Ccache {
  const next = withCredentials(readCcache(path), creds);
  writeCcache(path, next);
  return next;
}

/**
 * The first real (non-configuration) credential for `server`, optionally for
 * `client` too. Names compare without name type (RFC 4120 §6.2).
 */
export function findCredential(c: Ccache, server: Principal, client?: Principal): Credential | undefined {
  return c.credentials.find((cred) => !isConfigEntry(cred) && principalEquals(cred.server, server) && (!client || principalEquals(cred.client, client)));
}
