/**
 * Client-side request builders for tests and the load generator: fresh
 * AS-REQs (optionally with PA-ENC-TIMESTAMP) and TGS-REQs (PA-TGS-REQ
 * AP-REQ with a req-body checksum), and openers for the replies. They build
 * what RFC 4120 §5.4.1 / §5.5.1 describe, with @kpop/common's codecs.
 */
import { randomInt } from 'node:crypto';
import {
  KdcOptions,
  KeyUsage,
  NameType,
  PaDataType,
  decodeAsRep,
  decodeEncKdcRepPart,
  decodeTgsRep,
  encodeApReq,
  encodeAsReq,
  encodeAuthenticator,
  encodeEncryptedData,
  encodeKdcReqBody,
  encodePaEncTsEnc,
  encodeTgsReq,
  getEnctype,
} from '@kpop/common';
import type { EncKdcRepPart, EncryptionKey, KdcRep, KdcReqBody, PaData, PrincipalName, Ticket } from '@kpop/common';

/** The KDC-REQ-BODY settings both requests take (RFC 4120 §5.4.1); each has a default but from and rtime. */
export interface ReqBodySpec {
  etypes?: number[];
  nonce?: number;
  kdcOptions?: number;
  from?: Date;
  /** Default now + 10 hours, in whole seconds. */
  till?: Date;
  rtime?: Date;
}

export interface AsReqSpec extends ReqBodySpec {
  realm: string;
  cname: string[];
  /** Default krbtgt/REALM. */
  sname?: string[];
  /** The client's long-term key: adds PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2). */
  preauthKey?: EncryptionKey;
  /** Clock for the timestamp and till (default now). */
  now?: Date;
}

const DEFAULT_ETYPES = [18, 17, 20, 19];

function name(parts: string[], type: number = NameType.NT_PRINCIPAL): PrincipalName {
  return { nameType: type, nameString: parts };
}

/** The request body: the names given, the rest from the spec or its defaults (kdc-options differ per request). */
function requestBody(
  spec: ReqBodySpec,
  now: Date,
  defaultOptions: number,
  names: Pick<KdcReqBody, 'cname' | 'realm' | 'sname'>,
): KdcReqBody {
  const body: KdcReqBody = {
    kdcOptions: spec.kdcOptions ?? defaultOptions,
    ...names,
    till: spec.till ?? new Date(Math.floor(now.getTime() / 1000) * 1000 + 10 * 3600_000),
    nonce: spec.nonce ?? randomInt(0, 0x7fffffff),
    etype: spec.etypes ?? DEFAULT_ETYPES,
  };
  if (spec.from) body.from = spec.from;
  if (spec.rtime) body.rtime = spec.rtime;
  return body;
}

export function buildAsReq(spec: AsReqSpec): Uint8Array {
  const now = spec.now ?? new Date();
  const padata: PaData[] = [];
  if (spec.preauthKey) {
    const ms = now.getTime();
    const ts = encodePaEncTsEnc({ patimestamp: new Date(Math.floor(ms / 1000) * 1000), pausec: (ms % 1000) * 1000 });
    const k = spec.preauthKey;
    const cipher = getEnctype(k.keytype).encrypt(k.keyvalue, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ts);
    padata.push({ padataType: PaDataType.PA_ENC_TIMESTAMP, padataValue: encodeEncryptedData({ etype: k.keytype, cipher }) });
  }
  const body = requestBody(spec, now, KdcOptions.FORWARDABLE | KdcOptions.RENEWABLE_OK, {
    cname: name(spec.cname),
    realm: spec.realm,
    sname: spec.sname ? name(spec.sname, NameType.NT_SRV_INST) : name(['krbtgt', spec.realm], NameType.NT_SRV_INST),
  });
  return encodeAsReq({ pvno: 5, msgType: 10, ...(padata.length ? { padata } : {}), reqBody: body });
}

export interface TgsReqSpec extends ReqBodySpec {
  realm: string;
  /** The TGT (or, for RENEW/VALIDATE, the ticket itself). */
  ticket: Ticket;
  sessionKey: EncryptionKey;
  crealm: string;
  cname: PrincipalName;
  sname: string[];
  snameType?: number;
  /** Authenticator subkey: the reply is then sealed in it (usage 9). */
  subkey?: EncryptionKey;
  now?: Date;
  /** Tamper hooks for negative tests. */
  mutateBody?: (body: KdcReqBody) => void;
}

export function buildTgsReq(spec: TgsReqSpec): Uint8Array {
  const now = spec.now ?? new Date();
  const body = requestBody(spec, now, KdcOptions.FORWARDABLE | KdcOptions.CANONICALIZE, {
    realm: spec.realm,
    sname: name(spec.sname, spec.snameType ?? NameType.NT_PRINCIPAL),
  });
  const bodyBytes = encodeKdcReqBody(body);
  const sk = spec.sessionKey;
  const et = getEnctype(sk.keytype);
  const ms = now.getTime();
  const auth = encodeAuthenticator({
    authenticatorVno: 5,
    crealm: spec.crealm,
    cname: spec.cname,
    cksum: { cksumtype: et.checksumType, checksum: et.checksum(sk.keyvalue, KeyUsage.TGS_REQ_AUTH_CKSUM, bodyBytes) },
    cusec: (ms % 1000) * 1000,
    ctime: new Date(Math.floor(ms / 1000) * 1000),
    ...(spec.subkey ? { subkey: spec.subkey } : {}),
  });
  const apReq = encodeApReq({
    pvno: 5,
    msgType: 14,
    apOptions: 0,
    ticket: spec.ticket,
    authenticator: { etype: sk.keytype, cipher: et.encrypt(sk.keyvalue, KeyUsage.TGS_REQ_AUTH, auth) },
  });
  spec.mutateBody?.(body);
  return encodeTgsReq({ pvno: 5, msgType: 12, padata: [{ padataType: PaDataType.PA_TGS_REQ, padataValue: apReq }], reqBody: body });
}

export interface OpenedRep {
  rep: KdcRep;
  part: EncKdcRepPart;
}

/** Decode an AS-REP and open its enc-part with the client's key (usage 3). */
export function openAsRep(bytes: Uint8Array, key: EncryptionKey): OpenedRep {
  const rep = decodeAsRep(bytes);
  return { rep, part: decodeEncKdcRepPart(getEnctype(key.keytype).decrypt(key.keyvalue, KeyUsage.AS_REP_ENCPART, rep.encPart.cipher)) };
}

/** Decode a TGS-REP and open its enc-part (usage 8 with the session key, 9 with a subkey). */
export function openTgsRep(bytes: Uint8Array, key: EncryptionKey, usage: number = KeyUsage.TGS_REP_ENCPART_SESSKEY): OpenedRep {
  const rep = decodeTgsRep(bytes);
  return { rep, part: decodeEncKdcRepPart(getEnctype(key.keytype).decrypt(key.keyvalue, usage, rep.encPart.cipher)) };
}
