/**
 * The Kerberos set/change password protocol (RFC 3244, and the older
 * version 1 it extends, draft-ietf-cat-kerb-chg-password-02, MIT's
 * chpw.c/schpw.c): framing, result codes and ChangePasswdData.
 *
 *   request:  msg length (2) | version (2) | AP-REQ length (2) | AP-REQ | KRB-PRIV
 *   reply:    msg length (2) | version 1 (2) | AP-REP length (2) | AP-REP | KRB-PRIV
 *             or the same with AP-REP length 0 and a KRB-ERROR, or a bare KRB-ERROR
 *
 * Version 0x0001 carries the new password itself in the KRB-PRIV; 0xff80
 * (RFC 3244) carries ChangePasswdData, which may name a target principal.
 * All integers are big-endian. Pure functions, no I/O.
 */
import { OctetString, codec, field, optional, seq } from '../der/index.js';
import { PrincipalNameSchema, RealmSchema } from '../krb5/basic-types.js';
import type { PrincipalName } from '../krb5/types.js';

export const KPASSWD_VERSION_CHANGE = 0x0001;
export const KPASSWD_VERSION_SET = 0xff80;
/** RFC 3244 §2: the kpasswd service's port. */
export const KPASSWD_PORT = 464;

/** RFC 3244 §2 result codes (MIT's KRB5_KPASSWD_*). */
export const KpasswdResult = {
  SUCCESS: 0,
  MALFORMED: 1,
  HARDERROR: 2,
  AUTHERROR: 3,
  SOFTERROR: 4,
  ACCESSDENIED: 5,
  BAD_VERSION: 6,
  INITIAL_FLAG_NEEDED: 7,
} as const;

/** MIT's krb5_chpw_result_code_string(): what kpasswd prints before the server's text. */
export function kpasswdResultCodeString(code: number): string {
  switch (code) {
    case 0: return 'Success';
    case 1: return 'Malformed request error';
    case 2: return 'Server error';
    case 3: return 'Authentication error';
    case 4: return 'Password change rejected';
    case 5: return 'Access denied';
    case 6: return 'Wrong protocol version';
    case 7: return 'Initial password required';
    default: return 'Password change failed';
  }
}

export class KpasswdFormatError extends Error {
  override readonly name = 'KpasswdFormatError';
}

export interface KpasswdRequest {
  version: number;
  apReq: Uint8Array;
  /** The KRB-PRIV bytes. */
  priv: Uint8Array;
}

export function encodeKpasswdRequest(r: KpasswdRequest): Uint8Array {
  const total = 6 + r.apReq.length + r.priv.length;
  if (total > 0xffff || r.apReq.length > 0xffff) throw new KpasswdFormatError(`kpasswd request too long (${total} bytes)`);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint16(0, total);
  v.setUint16(2, r.version);
  v.setUint16(4, r.apReq.length);
  out.set(r.apReq, 6);
  out.set(r.priv, 6 + r.apReq.length);
  return out;
}

/**
 * The three header fields, checked as MIT's schpw.c checks them: the
 * declared length must be the datagram's (else: silence), the AP-REQ must
 * leave room for a KRB-PRIV.
 */
export type KpasswdRequestParse =
  | { ok: true; request: KpasswdRequest }
  | { ok: false; silent: true }
  | { ok: false; silent: false; version?: number; result: number; text: string };

export function parseKpasswdRequest(b: Uint8Array): KpasswdRequestParse {
  if (b.length < 4) return { ok: false, silent: false, result: KpasswdResult.MALFORMED, text: 'Request was truncated' };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint16(0) !== b.length) return { ok: false, silent: true };
  const version = v.getUint16(2);
  if (version !== KPASSWD_VERSION_CHANGE && version !== KPASSWD_VERSION_SET) {
    return { ok: false, silent: false, version, result: KpasswdResult.BAD_VERSION, text: `Request contained unknown protocol version number ${version}` };
  }
  if (b.length < 6) return { ok: false, silent: false, version, result: KpasswdResult.MALFORMED, text: 'Request was truncated' };
  const apLen = v.getUint16(4);
  if (6 + apLen >= b.length) return { ok: false, silent: false, version, result: KpasswdResult.MALFORMED, text: 'Request was truncated in AP-REQ' };
  return { ok: true, request: { version, apReq: b.subarray(6, 6 + apLen), priv: b.subarray(6 + apLen) } };
}

export interface KpasswdReply {
  version: number;
  /** Empty when the reply is an error. */
  apRep: Uint8Array;
  /** KRB-PRIV after an AP-REP, else KRB-ERROR. */
  body: Uint8Array;
}

export function encodeKpasswdReply(r: KpasswdReply): Uint8Array {
  return encodeKpasswdRequest({ version: r.version, apReq: r.apRep, priv: r.body });
}

/** A reply as MIT's client reads it: a bare KRB-ERROR, or the framed form. */
export function parseKpasswdReply(b: Uint8Array): { bareError: Uint8Array } | KpasswdReply {
  if (b.length > 0 && b[0] === 0x7e) return { bareError: b };
  if (b.length < 6) throw new KpasswdFormatError('kpasswd reply truncated');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint16(0) !== b.length) throw new KpasswdFormatError('kpasswd reply length does not match');
  const version = v.getUint16(2);
  if (version !== KPASSWD_VERSION_CHANGE && version !== KPASSWD_VERSION_SET) throw new KpasswdFormatError(`kpasswd reply has version ${version}`);
  const apLen = v.getUint16(4);
  if (6 + apLen > b.length) throw new KpasswdFormatError('kpasswd reply AP-REP length runs past its end');
  return { version, apRep: b.subarray(6, 6 + apLen), body: b.subarray(6 + apLen) };
}

/** Result code (2 bytes) and result string, the user data of the reply's KRB-PRIV or the KRB-ERROR's e-data. */
export function encodeKpasswdResult(code: number, text: string): Uint8Array {
  const t = new TextEncoder().encode(text);
  const out = new Uint8Array(2 + t.length);
  out[0] = (code >> 8) & 0xff;
  out[1] = code & 0xff;
  out.set(t, 2);
  return out;
}

export function decodeKpasswdResult(b: Uint8Array): { code: number; data: Uint8Array } {
  if (b.length < 2) throw new KpasswdFormatError('kpasswd result shorter than its code');
  return { code: (b[0]! << 8) | b[1]!, data: b.subarray(2) };
}

/**
 * RFC 3244 §2:
 *   ChangePasswdData ::=  SEQUENCE {
 *       newpasswd[0]   OCTET STRING,
 *       targname[1]    PrincipalName OPTIONAL,
 *       targrealm[2]   Realm OPTIONAL
 *   }
 */
export interface ChangePasswdData {
  newpasswd: Uint8Array;
  targname?: PrincipalName;
  targrealm?: string;
}
export const ChangePasswdDataSchema = seq('ChangePasswdData', [field('newpasswd', 0, OctetString), optional('targname', 1, PrincipalNameSchema), optional('targrealm', 2, RealmSchema)]);
const changePasswdData = codec<ChangePasswdData>(ChangePasswdDataSchema, 'ChangePasswdData');
export const encodeChangePasswdData = changePasswdData.encode;
export const decodeChangePasswdData = changePasswdData.decode;

/**
 * MIT's krb5_chpw_message(): the server's result string as the user should
 * see it. A 30-byte Active Directory policy block (starting with two zero
 * bytes) is spelled out; valid UTF-8 without NUL is shown as is; anything
 * else becomes MIT's advice.
 */
export function kpasswdMessage(data: Uint8Array): string {
  if (data.length === 30 && data[0] === 0 && data[1] === 0) {
    const v = new DataView(data.buffer, data.byteOffset, 30);
    const minLen = v.getUint32(2), history = v.getUint32(6), props = v.getUint32(10);
    const minAge = v.getBigUint64(22);
    const parts: string[] = [];
    if (props & 1) parts.push("The password must include numbers or symbols.  Don't include any part of your name in the password.");
    if (minLen > 0) parts.push(`The password must contain at least ${minLen} character${minLen === 1 ? '' : 's'}.`);
    if (history) parts.push(history === 1 ? 'The password must be different from the previous password.' : `The password must be different from the previous ${history} passwords.`);
    if (minAge) {
      let days = Number(minAge / (86400n * 10000000n));
      if (days === 0) days = 1;
      parts.push(days === 1 ? 'The password can only be changed once a day.' : `The password can only be changed every ${days} days.`);
    }
    if (parts.length) return parts.join('  ');
  }
  if (data.length > 0 && !data.includes(0)) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      /* not UTF-8: fall through */
    }
  }
  return 'Try a more complex password, or contact your administrator.';
}
