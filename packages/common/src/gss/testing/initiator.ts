/**
 * Test-side initiator built on the genuine MIT 1.20 fixtures
 * (test/fixtures/mit/README.md): the pop/localhost@LAB.TEST service ticket
 * that `kvno pop/localhost` stored in ccache-alice-tgt-and-pop.bin (435 bytes
 * at offset 1058), its session key, and pop.keytab. Tests build AP-REQs the
 * way MIT's krb5_mk_req / GSS initiator do, to drive the acceptor.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encryptData } from '../../crypto/index.js';
import { decodeTicket, encodeApReq, encodeAuthenticator, KeyUsage, type Authenticator, type EncryptionKey, type Ticket } from '../../krb5/index.js';
import { parseKeytab, type Keytab } from '../../keytab/index.js';
import { encodeGssChecksum, GSS_CHECKSUM_TYPE } from '../checksum.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../../../test/fixtures/mit');
/** The instant of the captures (README: 2026-11-29 06:11:57 UTC). */
export const MIT_NOW = new Date('2026-11-29T06:12:30Z');

export function mitPopTicket(): { ticketDer: Uint8Array; ticket: Ticket; sessionKey: EncryptionKey } {
  const cc = readFileSync(join(FIXTURES, 'ccache-alice-tgt-and-pop.bin'));
  const ticketDer = new Uint8Array(cc.subarray(1058, 1058 + 435));
  return {
    ticketDer,
    ticket: decodeTicket(ticketDer),
    sessionKey: { keytype: 18, keyvalue: Buffer.from('d3d6109819ca7bb974172b00fb0a1e8339b59543c2891f71738e3b2b8b4b255f', 'hex') },
  };
}

export function mitPopKeytab(): Keytab {
  return parseKeytab(readFileSync(join(FIXTURES, 'pop.keytab')));
}

export interface ApReqSpec {
  ctime?: Date;
  cusec?: number;
  apOptions?: number;
  /** 0x8003 flags: adds the GSS checksum. */
  gssFlags?: number;
  subkey?: EncryptionKey;
  seqNumber?: number;
  cname?: string[];
  ticket?: Ticket;
  key?: EncryptionKey;
}

export function buildApReq(spec: ApReqSpec = {}): Uint8Array {
  const { ticket, sessionKey } = mitPopTicket();
  const auth: Authenticator = {
    authenticatorVno: 5,
    crealm: 'LAB.TEST',
    cname: { nameType: 1, nameString: spec.cname ?? ['alice'] },
    cusec: spec.cusec ?? 123456,
    ctime: spec.ctime ?? MIT_NOW,
  };
  if (spec.gssFlags !== undefined) auth.cksum = { cksumtype: GSS_CHECKSUM_TYPE, checksum: encodeGssChecksum({ flags: spec.gssFlags }) };
  if (spec.subkey) auth.subkey = spec.subkey;
  if (spec.seqNumber !== undefined) auth.seqNumber = spec.seqNumber;
  const enc = encryptData(spec.key ?? sessionKey, KeyUsage.AP_REQ_AUTH, encodeAuthenticator(auth));
  return encodeApReq({ pvno: 5, msgType: 14, apOptions: spec.apOptions ?? 0, ticket: spec.ticket ?? ticket, authenticator: enc });
}
