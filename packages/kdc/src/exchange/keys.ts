/**
 * Enctype choices (RFC 4120 §3.1.3): the reply key from the client's list
 * and the client's keys, the session key from the client's list and what the
 * service supports, the ticket under the service's own strongest key.
 */
import { ErrorCode } from '@kpop/common';
import type { PrincipalKey, PrincipalRecord } from '../db/types.js';
import { Status, fail } from './status.js';

/** A key of the principal's current kvno for this enctype. */
export function currentKey(rec: PrincipalRecord, etype: number): PrincipalKey | undefined {
  for (const k of rec.keys) if (k.kvno === rec.kvno && k.etype === etype) return k;
  return undefined;
}

/** The key a ticket or timestamp names by kvno (any kvno still kept) and enctype. */
export function keyByVersion(rec: PrincipalRecord, etype: number, kvno: number | undefined): PrincipalKey | undefined {
  const want = kvno ?? rec.kvno;
  for (const k of rec.keys) if (k.kvno === want && k.etype === etype) return k;
  // MIT sends no kvno in some places; an absent kvno means "current".
  return undefined;
}

/** First etype of the client's list that the client has a current key for. */
export function chooseReplyKey(client: PrincipalRecord, requested: readonly number[], permitted: readonly number[]): PrincipalKey {
  for (const e of requested) {
    if (!permitted.includes(e)) continue;
    const k = currentKey(client, e);
    if (k) return k;
  }
  return fail(ErrorCode.KDC_ERR_ETYPE_NOSUPP, Status.ETYPE_NOSUPP, 'no client key for any requested enctype');
}

/** Client keys in the order of the client's list: the ETYPE-INFO2 entries. */
export function clientKeysInRequestOrder(client: PrincipalRecord, requested: readonly number[], permitted: readonly number[]): PrincipalKey[] {
  const out: PrincipalKey[] = [];
  for (const e of requested) {
    if (!permitted.includes(e) || out.some((k) => k.etype === e)) continue;
    const k = currentKey(client, e);
    if (k) out.push(k);
  }
  return out;
}

/** First etype of the client's list that the service has a key for. */
export function chooseSessionEtype(server: PrincipalRecord, requested: readonly number[], permitted: readonly number[]): number {
  for (const e of requested) {
    if (permitted.includes(e) && currentKey(server, e)) return e;
  }
  return fail(ErrorCode.KDC_ERR_ETYPE_NOSUPP, Status.ETYPE_NOSUPP, 'no requested enctype that the service supports');
}

/** The service's key that encrypts its tickets: the first current key we permit (MIT: the first in its key list). */
export function ticketKey(server: PrincipalRecord, permitted: readonly number[]): PrincipalKey {
  for (const k of server.keys) {
    if (k.kvno === server.kvno && permitted.includes(k.etype)) return k;
  }
  return fail(ErrorCode.KDC_ERR_ETYPE_NOSUPP, Status.ETYPE_NOSUPP, 'service has no key in a permitted enctype');
}
