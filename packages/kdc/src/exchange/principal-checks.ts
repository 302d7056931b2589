/**
 * Account checks before anything is issued (MIT kdc_util.c
 * validate_as_request / validate_tgs_request): a client disabled, expired or
 * locked out is CLIENT_REVOKED; an expired password is KEY_EXPIRED; a
 * service that may not get tickets is refused by policy.
 */
import { ErrorCode } from '@kpop/common';
import type { PrincipalRecord } from '../db/types.js';
import { Status, fail } from './status.js';

export function checkClient(client: PrincipalRecord, now: Date, opts: { checkPassword: boolean }): void {
  const a = client.attributes;
  if (a.disallowAllTix) fail(ErrorCode.KDC_ERR_CLIENT_REVOKED, Status.CLIENT_REVOKED, 'client disabled (disallow_all_tix)');
  if (client.expiresAt && client.expiresAt.getTime() <= now.getTime()) fail(ErrorCode.KDC_ERR_CLIENT_REVOKED, Status.CLIENT_REVOKED, 'client expired');
  if (client.lockedUntil && client.lockedUntil.getTime() > now.getTime()) fail(ErrorCode.KDC_ERR_CLIENT_REVOKED, Status.CLIENT_REVOKED, 'client locked out');
  if (opts.checkPassword && client.pwExpiresAt && client.pwExpiresAt.getTime() <= now.getTime()) fail(ErrorCode.KDC_ERR_KEY_EXPIRED, Status.KEY_EXPIRED, 'password expired');
}

export function checkServer(server: PrincipalRecord, now: Date, isTgs: boolean): void {
  const a = server.attributes;
  if (server.expiresAt && server.expiresAt.getTime() <= now.getTime()) fail(ErrorCode.KDC_ERR_SERVICE_EXP, Status.SERVICE_EXPIRED, 'service expired');
  if (a.disallowAllTix) fail(ErrorCode.KDC_ERR_POLICY, Status.POLICY, 'service disabled (disallow_all_tix)');
  // MIT: disallow_svr refuses service tickets, answered as user-to-user only.
  if (a.disallowSvr && !isTgs) fail(ErrorCode.KDC_ERR_MUST_USE_USER2USER, Status.POLICY, 'service tickets disallowed (disallow_svr)');
}

/** krbtgt/REALM of our own realm. */
export function isLocalTgs(nameString: readonly string[], realm: string): boolean {
  return nameString.length === 2 && nameString[0] === 'krbtgt' && nameString[1] === realm;
}

/** kadmin/changepw may be reached with an expired password (MIT). */
export function isChangePw(nameString: readonly string[]): boolean {
  return nameString.length === 2 && nameString[0] === 'kadmin' && nameString[1] === 'changepw';
}
