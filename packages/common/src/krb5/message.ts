/**
 * decodeMessage: any Kerberos message, told apart by its APPLICATION tag
 * (RFC 4120 §5.10: "the tag of the outermost type is the message type").
 */
import { DerError, tagName } from '../der/index.js';
import { decodeApRep } from './ap-rep.js';
import { decodeApReq } from './ap-req.js';
import { decodeAsRep, decodeTgsRep } from './kdc-rep.js';
import { decodeAsReq, decodeTgsReq } from './kdc-req.js';
import { decodeKrbCred } from './krb-cred.js';
import { decodeKrbErrorMessage } from './krb-error.js';
import { decodeKrbPriv } from './krb-priv.js';
import { decodeKrbSafe } from './krb-safe.js';
import type { KrbMessage } from './types.js';

const decoders: Record<number, (b: Uint8Array) => KrbMessage> = {
  0x6a: decodeAsReq,
  0x6b: decodeAsRep,
  0x6c: decodeTgsReq,
  0x6d: decodeTgsRep,
  0x6e: decodeApReq,
  0x6f: decodeApRep,
  0x74: decodeKrbSafe,
  0x75: decodeKrbPriv,
  0x76: decodeKrbCred,
  0x7e: decodeKrbErrorMessage,
};

/** The APPLICATION tag number of a message (its msg-type), without decoding it; undefined if none. */
export function peekMessageType(bytes: Uint8Array): number | undefined {
  const b = bytes[0];
  return b !== undefined && (b & 0xe0) === 0x60 && (b & 0x1f) !== 0x1f ? b & 0x1f : undefined;
}

/** Decodes a KDC or application message; `msgType` says which one it is. */
export function decodeMessage(bytes: Uint8Array): KrbMessage {
  if (!(bytes instanceof Uint8Array)) throw new DerError('expected a Uint8Array', 'message');
  if (bytes.length === 0) throw new DerError('empty input', 'message');
  const decode = decoders[bytes[0]!];
  if (decode === undefined) throw new DerError(`not a Kerberos message: ${tagName(bytes[0]!)}`, 'message');
  return decode(bytes);
}
