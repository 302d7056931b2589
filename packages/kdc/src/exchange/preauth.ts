/**
 * Pre-authentication (RFC 4120 §5.2.7): the METHOD-DATA sent with
 * KDC_ERR_PREAUTH_REQUIRED, PA-ENC-TIMESTAMP verification, and the
 * PA-ETYPE-INFO2 of the AS-REP (RFC 4120 §5.2.7.5).
 */
import { ErrorCode, KeyUsage, PaDataType, decodeEncryptedData, decodePaEncTsEnc, encodeEtypeInfo2, encodeMethodData, getEnctype } from '@kpop/common';
import type { EtypeInfo2Entry, PaData } from '@kpop/common';
import type { PrincipalKey, PrincipalRecord } from '../db/types.js';
import { clientKeysInRequestOrder } from './keys.js';
import { KdcFailure, Status, fail } from './status.js';

export function etypeInfo2Entry(k: PrincipalKey): EtypeInfo2Entry {
  const e: EtypeInfo2Entry = { etype: k.etype, salt: k.salt };
  if (k.s2kparams) e.s2kparams = k.s2kparams;
  return e;
}

/** PA-ETYPE-INFO2 for the AS-REP padata: the reply key's salt and parameters. */
export function etypeInfo2PaData(keys: PrincipalKey[]): PaData {
  return { padataType: PaDataType.PA_ETYPE_INFO2, padataValue: encodeEtypeInfo2(keys.map(etypeInfo2Entry)) };
}

/**
 * METHOD-DATA for PREAUTH_REQUIRED / PREAUTH_FAILED: PA-ETYPE-INFO2 (entries
 * in the client's order, so an MIT client picks its first choice) and an
 * empty PA-ENC-TIMESTAMP. No PA-FX-FAST: we do not do FAST, and announcing
 * it would make MIT clients armour their TGS-REQs.
 */
export function preauthMethodData(client: PrincipalRecord, requested: readonly number[], permitted: readonly number[]): Uint8Array {
  const keys = clientKeysInRequestOrder(client, requested, permitted);
  const md: PaData[] = [];
  if (keys.length) md.push(etypeInfo2PaData(keys));
  md.push({ padataType: PaDataType.PA_ENC_TIMESTAMP, padataValue: new Uint8Array(0) });
  return encodeMethodData(md);
}

export function findPaData(padata: PaData[] | undefined, type: number): PaData | undefined {
  if (!padata) return undefined;
  for (const p of padata) if (p.padataType === type) return p;
  return undefined;
}

/**
 * RFC 4120 §5.2.7.2: PA-ENC-TIMESTAMP is PA-ENC-TS-ENC encrypted in the
 * client's key with usage 1, and its time must lie within the clock skew.
 * Returns the key that opened it. A timestamp that does not open is
 * PREAUTH_FAILED (MIT's client then says "Password incorrect"); a good one
 * out of the skew is KRB_AP_ERR_SKEW, never masked as a preauth failure.
 */
export function verifyEncTimestamp(pa: PaData, client: PrincipalRecord, permitted: readonly number[], now: Date, skewSeconds: number, methodData: () => Uint8Array): PrincipalKey {
  const failed = (detail: string, cause?: unknown): never => {
    throw new KdcFailure(ErrorCode.KDC_ERR_PREAUTH_FAILED, Status.PREAUTH_FAILED, { detail, eData: methodData(), cause });
  };
  let enc;
  try {
    enc = decodeEncryptedData(pa.padataValue);
  } catch (e) {
    return failed('malformed PA-ENC-TIMESTAMP', e);
  }
  if (!permitted.includes(enc.etype)) return failed(`PA-ENC-TIMESTAMP in enctype ${enc.etype}, not permitted`);
  // The client may use any of its current keys (it chose from our ETYPE-INFO2).
  let key: PrincipalKey | undefined;
  for (const k of client.keys) {
    if (k.etype === enc.etype && k.kvno === (enc.kvno ?? client.kvno)) key = k;
    if (key) break;
  }
  if (!key) return failed(`no key of enctype ${enc.etype}`);
  let plain: Uint8Array;
  try {
    plain = getEnctype(enc.etype).decrypt(key.key, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, enc.cipher);
  } catch (e) {
    return failed('PA-ENC-TIMESTAMP does not decrypt', e);
  }
  let ts;
  try {
    ts = decodePaEncTsEnc(plain);
  } catch (e) {
    return failed('PA-ENC-TS-ENC does not decode', e);
  }
  const t = ts.patimestamp.getTime() + Math.floor((ts.pausec ?? 0) / 1000);
  if (Math.abs(t - now.getTime()) > skewSeconds * 1000) fail(ErrorCode.KRB_AP_ERR_SKEW, Status.SKEW, 'PA-ENC-TIMESTAMP outside the clock skew');
  return key;
}
