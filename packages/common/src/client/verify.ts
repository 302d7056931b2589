/**
 * Password verification for servers (KPOP USER/PASS, POP3 AUTH PLAIN): the
 * classic "kinit, then prove the KDC is real" check. An AS exchange alone
 * proves nothing, since whoever answers the AS-REQ chooses the key the reply
 * is encrypted in: a spoofed KDC that knows no password can make any
 * password "work". So, as MIT's krb5_verify_init_creds does, we then ask the
 * KDC for a ticket to the server's own principal and open it with the
 * server's keytab (RFC 4120 §3.3, §5.3): only the real KDC knows that key.
 */
import { decryptData } from '../crypto/index.js';
import { findKeytabKey, type Keytab } from '../keytab/index.js';
import { decodeEncTicketPart } from '../krb5/index.js';
import { KeyUsage } from '../krb5/constants.js';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { formatPrincipal, principalEquals } from '../krb5/principal.js';
import type { Principal } from '../krb5/types.js';
import { getInitialCredentials, type KdcSender } from './as.js';
import type { Krb5Config } from './config.js';
import { getServiceTicket } from './tgs.js';

export interface VerifyPasswordOptions {
  config: Krb5Config;
  /** The user, e.g. alice@LAB.TEST. */
  user: Principal;
  password: string;
  /** The server's own principal, e.g. pop/mail.lab.test@LAB.TEST. */
  service: Principal;
  /** The server's keytab: its key for `service` must open the ticket. */
  keytab: Keytab;
  now?: () => Date;
  send?: KdcSender;
}

/**
 * Resolves with the authenticated client principal (as the KDC named it);
 * rejects with the KDC's KrbError (e.g. KDC_ERR_PREAUTH_FAILED for a wrong
 * password) or KRB_AP_ERR_BAD_INTEGRITY / KRB_AP_ERR_NOKEY when the service
 * ticket does not open with the keytab (a spoofed or misconfigured KDC).
 */
export async function verifyPassword(opts: VerifyPasswordOptions): Promise<Principal> {
  const common = { config: opts.config, ...(opts.now ? { now: opts.now } : {}), ...(opts.send ? { send: opts.send } : {}) };
  const initial = await getInitialCredentials({ ...common, client: opts.user, password: opts.password });
  const st = await getServiceTicket({ ...common, tgt: initial.credential, service: opts.service, kdcOffsetSeconds: initial.kdcOffset.seconds });
  const enc = st.ticket.encPart;
  const entry = findKeytabKey(opts.keytab, opts.service, enc.etype, enc.kvno);
  if (!entry) {
    throw new KrbError(ErrorCode.KRB_AP_ERR_NOKEY, `No key for ${formatPrincipal(opts.service)} (etype ${enc.etype}, kvno ${enc.kvno ?? '?'}) in the keytab`);
  }
  // Throws BAD_INTEGRITY when the KDC does not know our key: the whole point.
  const part = decodeEncTicketPart(decryptData(entry.key, KeyUsage.KDC_REP_TICKET, enc));
  const client = { realm: part.crealm, name: part.cname };
  if (!principalEquals(client, initial.credential.client)) {
    throw new KrbError(ErrorCode.KRB_AP_ERR_BADMATCH, 'The service ticket names another client than the initial ticket');
  }
  if (part.key.keytype !== st.credential.key.keytype || !Buffer.from(part.key.keyvalue).equals(Buffer.from(st.credential.key.keyvalue))) {
    throw new KrbError(ErrorCode.KRB_AP_ERR_MODIFIED, 'The service ticket holds another session key than the reply');
  }
  return client;
}
