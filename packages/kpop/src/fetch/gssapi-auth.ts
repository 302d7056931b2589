/**
 * POP3 AUTH GSSAPI as the initiator (RFC 5034 framing, RFC 4752 §3.1 steps,
 * the krb5 mechanism of RFC 4121; protocols.md §3.2-3.4):
 *   C: AUTH GSSAPI                 S: "+ "
 *   C: InitialContextToken(AP-REQ with the 0x8003 checksum, a subkey and a
 *      sequence number; mutual-required)
 *   S: "+ " InitialContextToken(AP-REP)   C: empty line
 *   S: "+ " Wrap(layers ‖ max size)       (conf = 0)
 *   C: Wrap(0x01 ‖ 00 00 00 ‖ authzid)    S: +OK
 * We never use a security layer: TLS (--tls) protects the session instead.
 * With SEQUENCE asked, the server's first wrap token must carry the AP-REP
 * sequence number (RFC 4121 §4.2.1 with §4.1's exchange of initial numbers).
 */
import { randomInt } from 'node:crypto';
import {
  decodeContextToken,
  encodeContextToken,
  encodeGssChecksum,
  GSS_CHECKSUM_TYPE,
  GssFlags,
  makeWrapToken,
  randomKeyFor,
  readWrapToken,
  SaslLayer,
  TokId,
  type Credential,
  type EncryptionKey,
} from '@kpop/common';
import { buildApReq, serverKrbError, verifyApRep } from './ap-req.js';
import { FetchError } from './errors.js';
import type { Pop3Client } from './pop3-client.js';

export interface GssapiAuthOptions {
  /** RFC 4752 authorization identity: the mailbox to open (empty = the principal's own). */
  authzid?: string;
  /** Ask for mutual authentication (default true). */
  mutual?: boolean;
  kdcOffsetSeconds?: number;
  now?: () => Date;
}

export async function saslGssapi(pop: Pop3Client, cred: Credential, o: GssapiAuthOptions = {}): Promise<void> {
  const where = pop.where();
  const mutual = o.mutual ?? true;
  pop.conn.write('AUTH GSSAPI\r\n');
  await challenge(pop, 'the reply to AUTH GSSAPI');

  const subkey = randomKeyFor(cred.key.keytype);
  const mySeq = randomInt(0, 2 ** 30);
  const flags = (mutual ? GssFlags.MUTUAL : 0) | GssFlags.REPLAY | GssFlags.SEQUENCE | GssFlags.CONF | GssFlags.INTEG;
  const built = buildApReq(cred, {
    mutual,
    cksum: { cksumtype: GSS_CHECKSUM_TYPE, checksum: encodeGssChecksum({ flags }) },
    subkey,
    seqNumber: mySeq,
    ...(o.kdcOffsetSeconds !== undefined ? { kdcOffsetSeconds: o.kdcOffsetSeconds } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  pop.conn.write(`${b64(encodeContextToken(TokId.AP_REQ, built.bytes))}\r\n`);

  // RFC 4121 §4.2.1: without mutual authentication both directions start at the initiator's number.
  let serverSeq = mySeq;
  let acceptorSubkey: EncryptionKey | undefined;
  if (mutual) {
    const tok = decodeOrFail(await challenge(pop, 'the AP-REP'), where);
    if (tok.tokId === TokId.KRB_ERROR) throw serverKrbError(tok.message, where);
    if (tok.tokId !== TokId.AP_REP) throw new FetchError('protocol', `${where} answered our AP-REQ with token type 0x${tok.tokId.toString(16)}`);
    const part = verifyApRep(tok.message, cred.key, built.authenticator, where);
    acceptorSubkey = part.subkey;
    serverSeq = part.seqNumber ?? 0;
    pop.conn.write('\r\n');
  }
  const key = acceptorSubkey ?? subkey;
  const offerToken = await challenge(pop, 'the security layer offer');
  let offer;
  try {
    offer = readWrapToken(offerToken, { key, fromAcceptor: true, acceptorSubkey: acceptorSubkey !== undefined });
  } catch (e) {
    throw new FetchError('auth', `${where} sent a security layer offer that fails its check: ${(e as Error).message}`, { cause: e });
  }
  if (offer.seq !== serverSeq) throw new FetchError('auth', `${where} sent its wrap token with sequence number ${offer.seq}, expected ${serverSeq}`);
  if (offer.plaintext.length !== 4) throw new FetchError('protocol', `${where} sent a ${offer.plaintext.length}-byte security layer offer, not 4 (RFC 4752 §3.1)`);
  if (!(offer.plaintext[0]! & SaslLayer.NONE)) throw new FetchError('auth', `${where} requires a SASL security layer, which kpop fetch does not offer: use --tls instead`);

  const authz = new TextEncoder().encode(o.authzid ?? '');
  const reply = new Uint8Array(4 + authz.length);
  reply[0] = SaslLayer.NONE; // and max size 0, as RFC 4752 requires with no layer
  reply.set(authz, 4);
  pop.conn.write(`${b64(makeWrapToken(reply, { key, seq: mySeq, fromAcceptor: false, acceptorSubkey: acceptorSubkey !== undefined }))}\r\n`);
  const done = await pop.reply('the end of AUTH GSSAPI');
  if (!done.ok) throw new FetchError('auth', `${where} refused us after GSSAPI: ${done.text}`);
}

/** A "+ base64" challenge line (RFC 5034 §4); -ERR ends the exchange. */
async function challenge(pop: Pop3Client, what: string): Promise<Uint8Array> {
  const line = await pop.conn.readLine(what);
  if (line.startsWith('-ERR')) {
    const text = line.slice(4).trim();
    if (what.startsWith('the reply to AUTH')) throw new FetchError('auth', `${pop.where()} does not take AUTH GSSAPI: ${text} (is its keytab set up? or use --kpop on the KPOP port)`);
    throw new FetchError('auth', `${pop.where()} refused GSSAPI authentication: ${text}`);
  }
  if (line !== '+' && !line.startsWith('+ ')) throw new FetchError('protocol', `${pop.where()} sent ${JSON.stringify(line.slice(0, 60))} instead of a SASL challenge for ${what}`);
  const text = line.slice(2).trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new FetchError('protocol', `${pop.where()} sent a challenge that is not base64 for ${what}`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function decodeOrFail(token: Uint8Array, where: string): { tokId: number; message: Uint8Array } {
  try {
    return decodeContextToken(token);
  } catch (e) {
    throw new FetchError('protocol', `${where} sent a malformed GSS-API token: ${(e as Error).message}`, { cause: e });
  }
}

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
}
