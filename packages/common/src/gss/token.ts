/**
 * RFC 2743 §3.1 mechanism-independent token framing, as the krb5 mechanism
 * uses it for context tokens (RFC 1964 §1.1, kept by RFC 4121 §4.1):
 *   0x60 <DER length> 06 09 <krb5 OID> <TOK_ID, 2 bytes> <Kerberos message>
 * MIT frames the AP-REP and KRB-ERROR replies the same way and its initiator
 * insists on it (g_verify_token_header). Per-message tokens (RFC 4121 §4.2)
 * are not framed.
 */
import { GssError } from './errors.js';

/** 1.2.840.113554.1.2.2, DER-encoded with its tag and length. */
export const KRB5_MECH_OID = Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02);

/** RFC 4121 §4.1 TOK_ID values of context tokens. */
export const TokId = {
  AP_REQ: 0x0100,
  AP_REP: 0x0200,
  KRB_ERROR: 0x0300,
} as const;

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** Frame a Kerberos message (AP-REQ, AP-REP, KRB-ERROR) as a context token. */
export function encodeContextToken(tokId: number, message: Uint8Array): Uint8Array {
  const innerLen = KRB5_MECH_OID.length + 2 + message.length;
  const len = derLength(innerLen);
  const out = new Uint8Array(1 + len.length + innerLen);
  out[0] = 0x60;
  out.set(len, 1);
  let o = 1 + len.length;
  out.set(KRB5_MECH_OID, o);
  o += KRB5_MECH_OID.length;
  out[o++] = tokId >> 8;
  out[o++] = tokId & 0xff;
  out.set(message, o);
  return out;
}

/** Unframe a context token; throws GssError for anything but a well-formed krb5 token. */
export function decodeContextToken(token: Uint8Array): { tokId: number; message: Uint8Array } {
  if (token.length < 2 || token[0] !== 0x60) throw new GssError('DEFECTIVE_TOKEN', 'not a GSS-API initial context token (no 0x60 tag)');
  let o = 1;
  let len = token[o++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || o + n > token.length) throw new GssError('DEFECTIVE_TOKEN', 'bad token length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + token[o++]!;
  }
  if (o + len !== token.length) throw new GssError('DEFECTIVE_TOKEN', `token length ${len} does not match the ${token.length - o} bytes present`);
  const oid = token.subarray(o, o + KRB5_MECH_OID.length);
  if (oid.length !== KRB5_MECH_OID.length || !oid.every((b, i) => b === KRB5_MECH_OID[i])) {
    throw new GssError('BAD_MECH', 'token is not for the Kerberos 5 mechanism (1.2.840.113554.1.2.2)');
  }
  o += KRB5_MECH_OID.length;
  if (o + 2 > token.length) throw new GssError('DEFECTIVE_TOKEN', 'token has no TOK_ID');
  const tokId = (token[o]! << 8) | token[o + 1]!;
  return { tokId, message: token.subarray(o + 2) };
}
