/**
 * What the client does alike with an AS-REP and a TGS-REP (RFC 4120 §5.4.2:
 * the same KDC-REP shape, the same EncKDCRepPart): decoding the reply, and
 * turning the checked reply into the credential a ccache stores.
 */
import type { Credential } from '../ccache/index.js';
import { decodeMessage, encodeTicket } from '../krb5/index.js';
import type { EncKdcRepPart, KdcRep } from '../krb5/types.js';
import { ClientError } from './errors.js';

/** A reply that is not DER for a Kerberos message ends the exchange with one clear error. */
export function decodeReply(bytes: Uint8Array): ReturnType<typeof decodeMessage> {
  try {
    return decodeMessage(bytes);
  } catch (e) {
    throw new ClientError('KRB5_KDCREP_MODIFIED', `KDC reply did not match expectations (undecodable reply: ${(e as Error).message})`, { cause: e });
  }
}

/**
 * The credential for a reply already checked (§3.1.5, §3.3.4): client from
 * the clear part, server, key, flags, times and addresses from the
 * decrypted part, the ticket re-encoded as received.
 */
export function credentialFromReply(rep: KdcRep, encPart: EncKdcRepPart): Credential {
  return {
    client: { realm: rep.crealm, name: rep.cname },
    server: { realm: encPart.srealm, name: encPart.sname },
    key: encPart.key,
    authtime: encPart.authtime,
    // MIT fills starttime with authtime when the KDC omits it (see the fixtures' ccache).
    starttime: encPart.starttime ?? encPart.authtime,
    endtime: encPart.endtime,
    renewTill: encPart.renewTill ?? new Date(0),
    isSkey: false,
    ticketFlags: encPart.flags,
    addresses: encPart.caddr ?? [],
    authdata: [],
    ticket: encodeTicket(rep.ticket),
    secondTicket: new Uint8Array(0),
  };
}
