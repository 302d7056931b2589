/**
 * KPOP as the client sees it (protocols.md §2.2-2.3; MIT krb5_sendauth is
 * the specification): before any POP3 byte,
 *   C: len ‖ "KRB5_SENDAUTH_V1.0\0"  len ‖ "KPOPV1.0\0"   (one write)
 *   S: 1 byte, 0 = versions accepted
 *   C: len ‖ AP-REQ (mutual-required, as fetchmail and movemail ask)
 *   S: len 0 = accepted, or len ‖ KRB-ERROR and close
 *   S: len ‖ AP-REP (we asked for mutual), then the POP3 greeting.
 * The AP-REQ authenticator carries no checksum, subkey or sequence number,
 * as MIT's sendauth writes it (§2.4). Afterwards USER names the mailbox and
 * PASS carries a fixed word the server ignores (fetchmail's "krb_ticket"),
 * so no real password is ever sent.
 */
import { encodeSendauthPreamble, frameMessage, MAX_SENDAUTH_MESSAGE, SendauthReply, type Credential } from '@kpop/common';
import { buildApReq, serverKrbError, verifyApRep } from './ap-req.js';
import type { PopConnection } from './connection.js';
import { FetchError } from './errors.js';

/** What fetchmail sends as PASS after KPOP: the server must not look at it. */
export const KPOP_DUMMY_PASS = 'krb_ticket';

export async function kpopSendauth(conn: PopConnection, cred: Credential, o: { kdcOffsetSeconds?: number; now?: () => Date } = {}): Promise<void> {
  const where = `${conn.host}:${conn.port}`;
  conn.write(encodeSendauthPreamble());
  const verdict = (await conn.readExact(1, 'the sendauth version reply'))[0]!;
  if (verdict === SendauthReply.BAD_SENDAUTH_VERSION) throw new FetchError('protocol', `${where} does not speak krb5 sendauth (it rejected KRB5_SENDAUTH_V1.0): is this the KPOP port?`);
  if (verdict === SendauthReply.BAD_APP_VERSION) throw new FetchError('protocol', `${where} rejected the application version KPOPV1.0`);
  if (verdict !== SendauthReply.OK) {
    const hint = verdict === 0x2b ? ' (it sent "+": a plain POP3 server; drop --kpop or use the KPOP port)' : '';
    throw new FetchError('protocol', `${where} answered sendauth with byte 0x${verdict.toString(16).padStart(2, '0')}, not 0${hint}`);
  }
  const built = buildApReq(cred, { mutual: true, ...(o.kdcOffsetSeconds !== undefined ? { kdcOffsetSeconds: o.kdcOffsetSeconds } : {}), ...(o.now ? { now: o.now } : {}) });
  conn.write(frameMessage(built.bytes));
  const len = (await conn.readExact(4, 'the sendauth verdict')).readUInt32BE(0);
  if (len !== 0) {
    if (len > MAX_SENDAUTH_MESSAGE) throw new FetchError('protocol', `${where} sent a ${len}-byte sendauth message`);
    throw serverKrbError(await conn.readExact(len, 'the KRB-ERROR'), where);
  }
  const repLen = (await conn.readExact(4, 'the AP-REP')).readUInt32BE(0);
  if (repLen === 0 || repLen > MAX_SENDAUTH_MESSAGE) throw new FetchError('protocol', `${where} sent a ${repLen}-byte AP-REP`);
  verifyApRep(await conn.readExact(repLen, 'the AP-REP'), cred.key, built.authenticator, where);
}
