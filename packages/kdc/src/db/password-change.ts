/**
 * A password change under the principal's policy, as MIT's
 * kadm5_chpass_principal does it: quality (length, classes, dictionary),
 * minimum life (only when users change their own), history (the current
 * and earlier keys), then the new keys, the old ones remembered, and the
 * password expiry set from the policy's maximum life (cleared without one).
 *
 * One code path for both stores: synchronous on SQLite's KdcDatabase, a
 * promise on PostgreSQL's (see realm-database.ts andThen()).
 */
import type { KdcDatabase } from './database.js';
import { KdcDbError } from './errors.js';
import { checkPasswordQuality, refusal } from './password-quality.js';
import { andThen, type Awaitable, type RealmDatabase } from './realm-database.js';
import type { DbPrincipalRecord } from './schema.js';

export interface PolicyPasswordChange {
  /** The user changes their own password (kpasswd): the minimum life applies. */
  self: boolean;
  now: Date;
  /** Keep the previous kvno for tickets still out (default true). */
  keepOld?: boolean;
}

export function changePasswordUnderPolicy(db: KdcDatabase, name: string, password: string, o: PolicyPasswordChange): DbPrincipalRecord;
export function changePasswordUnderPolicy(db: RealmDatabase, name: string, password: string, o: PolicyPasswordChange): Awaitable<DbPrincipalRecord>;
export function changePasswordUnderPolicy(db: RealmDatabase, name: string, password: string, o: PolicyPasswordChange): Awaitable<DbPrincipalRecord> {
  return andThen(db.getPrincipal(name), (r) => {
    if (r === undefined) throw new KdcDbError('UNKNOWN_PRINCIPAL', `principal ${name} does not exist`);
    if (typeof password !== 'string' || password.length === 0) throw new KdcDbError('BAD_ARGUMENT', 'Empty passwords are not allowed');
    const pol = db.policies.policyOf(r.canonicalName);
    const change = (): Awaitable<DbPrincipalRecord> =>
      andThen(db.changePassword(r.canonicalName, { password, ...(o.keepOld === false ? { keepOld: false } : {}) }), () =>
        db.modifyPrincipal(r.canonicalName, { pwExpiresAt: pol !== undefined && pol.maxLife > 0 ? new Date(o.now.getTime() + pol.maxLife * 1000) : null }));
    if (pol === undefined) return change();
    checkPasswordQuality(password, pol, r);
    if (o.self && pol.minLife > 0 && r.lastPwChange !== undefined) {
      const until = new Date(r.lastPwChange.getTime() + pol.minLife * 1000);
      if (o.now.getTime() < until.getTime()) throw refusal('TOOSOON', pol, until);
    }
    return andThen(db.policies.isReused(r, password, pol.history), (reused) => {
      if (reused) throw refusal('REUSE', pol);
      return andThen(pol.history > 1 ? db.policies.remember(r, pol.history - 1) : undefined, change);
    });
  });
}
