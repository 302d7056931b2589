/**
 * The kpasswd service (RFC 3244; MIT's kadmind schpw.c): bytes in, reply
 * bytes (or null: silence) out, and one log record per request.
 *
 *   1. header: declared length = datagram length (else silence), version
 *      0x0001 or 0xff80, an AP-REQ that leaves room for a KRB-PRIV;
 *   2. the AP-REQ for kadmin/changepw@REALM, checked as any AP-REQ is
 *      (ticket, authenticator, skew) and against a replay cache: MIT 1.20's
 *      kadmind keeps none, and a captured request replayed within the skew
 *      sets the password again; here it is KRB_AP_ERR_REPEAT;
 *   3. the AP-REP (with our sequence number) and the KRB-PRIV, sealed in
 *      the authenticator's subkey, its sequence number and sender address
 *      checked;
 *   4. version 1: the client's own password, with an INITIAL ticket;
 *      0xff80: ChangePasswdData, another principal only for an admin;
 *   5. the change under the principal's policy; a refusal is result code 4
 *      (soft error) with MIT's words.
 * Before an AP-REP exists, the answer is a KRB-ERROR whose e-data holds the
 * result (framed with an empty AP-REP, as MIT's kadmind sends it). The new
 * password is never logged.
 */
import {
  ErrorCode,
  KPASSWD_VERSION_CHANGE,
  KPASSWD_VERSION_SET,
  KpasswdResult,
  KrbError,
  NameType,
  ReplayCache,
  TicketFlags,
  acceptApReq,
  decodeChangePasswdData,
  encodeKpasswdReply,
  encodeKpasswdResult,
  encodeKrbErrorMessage,
  formatPrincipal,
  hostAddressEquals,
  hostAddressOf,
  makeApRep,
  makeKrbPriv,
  makeNonce,
  parseKpasswdRequest,
  readKrbPriv,
  type AcceptedApReq,
  type EncryptionKey,
  type Keytab,
  type Principal,
} from '@kpop/common';
import { andThen, changePasswordUnderPolicy, KdcDbError, lookupLoaded, PolicyRefusal, settle, type Awaitable, type PrincipalRecord, type RealmDatabase } from '../db/index.js';
import { globMatch } from '../db/names.js';
import type { RequestOrigin } from '../exchange/context.js';
import type { KdcLogger } from '../exchange/log.js';


export interface KpasswdContext {
  /** SQLite's KdcDatabase answers synchronously (processKpasswd); PostgreSQL's asynchronously (processKpasswdAsync). */
  readonly db: RealmDatabase;
  now(): Date;
  readonly replayCache: ReplayCache;
  /** Principal globs (kadmin's forms: 'admin', '*\/admin') allowed to set others' passwords (RFC 3244 targets). */
  readonly admins: readonly string[];
  readonly log?: KdcLogger;
}

export interface KpasswdOutcome {
  reply: Uint8Array | null;
  status: string;
  result?: number;
}

/** Status tokens of the log line, one per way a request ends. */
export const KpasswdStatus = {
  CHANGED: 'CHANGED',
  SILENT: 'DROPPED',
  MALFORMED: 'MALFORMED',
  BAD_VERSION: 'BAD_VERSION',
  AUTH_FAILED: 'AUTH_FAILED',
  REPLAY: 'REPLAY',
  BAD_PRIV: 'BAD_PRIV',
  NOT_INITIAL: 'NOT_INITIAL',
  ACCESS_DENIED: 'ACCESS_DENIED',
  POLICY: 'POLICY',
  UNKNOWN_TARGET: 'UNKNOWN_TARGET',
  HARD_ERROR: 'HARD_ERROR',
} as const;

class Refusal {
  constructor(
    readonly result: number,
    readonly text: string,
    readonly status: string,
    readonly krbCode: number = ErrorCode.KRB_ERR_GENERIC,
    readonly detail?: string,
  ) {}
}

function changepwKeytab(r: PrincipalRecord | undefined): { keytab: Keytab; principal: Principal } | undefined {
  if (r === undefined) return undefined;
  return {
    principal: r.principal,
    keytab: { version: 0x0502, entries: r.keys.map((k) => ({ principal: r.principal, timestamp: new Date(0), kvno: k.kvno, key: { keytype: k.etype, keyvalue: k.key } })) },
  };
}

/**
 * One request to its answer. Synchronous over SQLite's store (tests and the
 * benchmark call it directly); over a store that answers asynchronously
 * (PostgreSQL) use processKpasswdAsync, as the server does.
 */
export function processKpasswd(bytes: Uint8Array, ctx: KpasswdContext, origin: RequestOrigin): KpasswdOutcome {
  const out = run(bytes, ctx, origin);
  if (out instanceof Promise) {
    out.catch(() => {});
    throw new Error('processKpasswd: this database answers asynchronously; use processKpasswdAsync');
  }
  return out;
}

export async function processKpasswdAsync(bytes: Uint8Array, ctx: KpasswdContext, origin: RequestOrigin): Promise<KpasswdOutcome> {
  return run(bytes, ctx, origin);
}

function run(bytes: Uint8Array, ctx: KpasswdContext, origin: RequestOrigin): Awaitable<KpasswdOutcome> {
  const t0 = performance.now();
  // A change is judged on the database as it is now (an admin's cpw or modpol a moment ago), whether or
  // not a KDC in this process re-reads it on a timer (with --workers the KDCs serve from other processes).
  // A busy (or, for PostgreSQL, unreachable) database leaves the cached view, at most one refresh old.
  return settle(() => ctx.db.refresh(), () => answer(bytes, ctx, origin, t0), () => answer(bytes, ctx, origin, t0));
}

function answer(bytes: Uint8Array, ctx: KpasswdContext, origin: RequestOrigin, t0: number): Awaitable<KpasswdOutcome> {
  const now = ctx.now();
  const rec: Record<string, unknown> = {
    time: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
    from: origin.address !== undefined ? `${origin.address}:${origin.port ?? ''}` : origin.transport,
    transport: origin.transport,
    msg: 'KPASSWD',
  };
  const finish = (o: KpasswdOutcome): KpasswdOutcome => {
    if (o.reply !== null && origin.transport === 'udp' && o.result !== KpasswdResult.SUCCESS && o.reply.length > bytes.length && rec.cname === undefined) {
      // Junk over UDP never gets an answer larger than itself (no amplification of a spoofed source).
      o = { reply: null, status: KpasswdStatus.SILENT, ...(o.result !== undefined ? { result: o.result } : {}) };
    }
    rec.status = o.status;
    if (o.result !== undefined) rec.result = o.result;
    rec.bytes = o.reply?.length ?? 0;
    rec.us = Math.round((performance.now() - t0) * 1000);
    ctx.log?.(rec);
    return o;
  };
  return settle(() => serve(bytes, ctx, origin, now, rec), finish, (e) => {
    // Nothing may escape: an unexpected failure is a hard error, answered.
    rec.detail = `internal: ${String((e as Error)?.message ?? e).slice(0, 200)}`;
    return finish({ reply: errorReply(ctx.db.realm, now, new Refusal(KpasswdResult.HARDERROR, 'Internal error', KpasswdStatus.HARD_ERROR)), status: KpasswdStatus.HARD_ERROR, result: KpasswdResult.HARDERROR });
  });
}

function serve(bytes: Uint8Array, ctx: KpasswdContext, origin: RequestOrigin, now: Date, rec: Record<string, unknown>): Awaitable<KpasswdOutcome> {
  const realm = ctx.db.realm;
  const parsed = parseKpasswdRequest(bytes);
  if (!parsed.ok) {
    if (parsed.silent) return { reply: null, status: KpasswdStatus.SILENT };
    const code = parsed.result === KpasswdResult.BAD_VERSION ? ErrorCode.KDC_ERR_BAD_PVNO : ErrorCode.KRB_AP_ERR_MODIFIED;
    const status = parsed.result === KpasswdResult.BAD_VERSION ? KpasswdStatus.BAD_VERSION : KpasswdStatus.MALFORMED;
    return { reply: errorReply(realm, now, new Refusal(parsed.result, parsed.text, status, code)), status, result: parsed.result };
  }
  const req = parsed.request;
  rec.version = req.version;
  const fail = (r: Refusal): KpasswdOutcome => {
    if (r.detail) rec.detail = r.detail;
    return { reply: errorReply(realm, now, r), status: r.status, result: r.result };
  };

  // 2. The AP-REQ (kadmin/changepw read first where the store reads on demand: nothing is recorded before it).
  return andThen(lookupLoaded(ctx.db, ['kadmin', 'changepw']), (changepw) => authenticated(ctx, origin, now, rec, req, changepwKeytab(changepw), fail));
}

function authenticated(ctx: KpasswdContext, origin: RequestOrigin, now: Date, rec: Record<string, unknown>, req: Extract<ReturnType<typeof parseKpasswdRequest>, { ok: true }>['request'], service: ReturnType<typeof changepwKeytab>, fail: (r: Refusal) => KpasswdOutcome): Awaitable<KpasswdOutcome> {
  const realm = ctx.db.realm;
  if (service === undefined) return fail(new Refusal(KpasswdResult.HARDERROR, 'Failed building kadmin/changepw principal', KpasswdStatus.HARD_ERROR, ErrorCode.KRB_ERR_GENERIC, 'no kadmin/changepw in the database'));
  let accepted: AcceptedApReq;
  try {
    accepted = acceptApReq(req.apReq, {
      keytab: service.keytab,
      acceptService: (p) => p.realm === realm && p.name.nameString.length === 2 && p.name.nameString[0] === 'kadmin' && p.name.nameString[1] === 'changepw',
      replayCache: ctx.replayCache,
      now,
      clockSkew: ctx.db.settings().clockSkew,
    });
  } catch (e) {
    const code = e instanceof KrbError ? e.code : ErrorCode.KRB_AP_ERR_MODIFIED;
    const status = code === ErrorCode.KRB_AP_ERR_REPEAT ? KpasswdStatus.REPLAY : KpasswdStatus.AUTH_FAILED;
    return fail(new Refusal(KpasswdResult.AUTHERROR, 'Failed reading application request', status, code > 0 && code <= 128 ? code : ErrorCode.KRB_ERR_GENERIC, String((e as Error)?.message ?? e).slice(0, 200)));
  }
  const client = accepted.client;
  rec.cname = formatPrincipal(client).slice(0, 512);

  // 3. AP-REP, then the KRB-PRIV in the subkey.
  const key: EncryptionKey = accepted.authenticator.subkey ?? accepted.sessionKey;
  const ourSeq = makeNonce();
  const apRep = makeApRep(accepted, { seqNumber: ourSeq });
  const reply = (result: number, text: string, status: string): KpasswdOutcome => {
    const priv = makeKrbPriv(key, { userData: encodeKpasswdResult(result, text), seqNumber: ourSeq, sAddress: localAddress(origin) });
    return { reply: encodeKpasswdReply({ version: KPASSWD_VERSION_CHANGE, apRep, body: priv }), status, result };
  };
  let clear: Uint8Array;
  try {
    const part = readKrbPriv(key, req.priv);
    if (accepted.authenticator.seqNumber !== undefined && part.seqNumber !== accepted.authenticator.seqNumber) throw new Error('sequence number differs from the authenticator\'s');
    if (origin.address !== undefined && part.sAddress !== undefined && (part.sAddress.addrType === 2 || part.sAddress.addrType === 24)) {
      if (!hostAddressEquals(part.sAddress, hostAddressOf(origin.address))) throw new Error('sender address is not where the request came from');
    }
    clear = part.userData;
  } catch (e) {
    rec.detail = String((e as Error)?.message ?? e).slice(0, 200);
    return reply(KpasswdResult.HARDERROR, 'Failed decrypting request', KpasswdStatus.BAD_PRIV);
  }

  // 4. Whose password.
  let target: Principal = client;
  let password: Uint8Array = clear;
  if (req.version === KPASSWD_VERSION_SET) {
    try {
      const d = decodeChangePasswdData(clear);
      password = d.newpasswd;
      if (d.targname !== undefined) target = { realm: d.targrealm ?? realm, name: d.targname };
    } catch {
      return reply(KpasswdResult.MALFORMED, 'Failed decoding ChangePasswdData', KpasswdStatus.MALFORMED);
    }
  }
  const self = target.realm === client.realm && target.name.nameString.length === client.name.nameString.length && target.name.nameString.every((c, i) => c === client.name.nameString[i]);
  rec.target = formatPrincipal(target).slice(0, 512);
  // An initial ticket always: MIT's KDC never issues kadmin/changepw from a TGT (DISALLOW_TGT_BASED),
  // so a stolen TGT cannot set passwords; ours may, so the service refuses what did not come from a password.
  if ((accepted.ticket.flags & TicketFlags.INITIAL) === 0) return reply(KpasswdResult.INITIAL_FLAG_NEEDED, 'Ticket must be derived from a password', KpasswdStatus.NOT_INITIAL);
  if (!self) {
    const who = formatPrincipal(client);
    const allowed = client.realm === realm && ctx.admins.some((g) => globMatch(g.includes('@') ? g : `${g}@${realm}`, who));
    if (!allowed) return reply(KpasswdResult.ACCESSDENIED, 'Unauthorized request', KpasswdStatus.ACCESS_DENIED);
  }
  if (target.realm !== realm) return reply(KpasswdResult.HARDERROR, 'Principal not in this realm', KpasswdStatus.UNKNOWN_TARGET);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(password);
  } catch {
    return reply(KpasswdResult.SOFTERROR, 'The new password is not valid UTF-8', KpasswdStatus.POLICY);
  }
  if (text.length === 0 || text.includes('\0')) return reply(KpasswdResult.SOFTERROR, 'Empty passwords are not allowed', KpasswdStatus.POLICY);

  // 5. The change.
  const targetName = formatPrincipal({ realm, name: { nameType: NameType.NT_PRINCIPAL, nameString: target.name.nameString } });
  return andThen(lookupLoaded(ctx.db, target.name.nameString), (known) => {
    if (known === undefined) return reply(KpasswdResult.HARDERROR, 'Principal does not exist', KpasswdStatus.UNKNOWN_TARGET);
    return settle(() => changePasswordUnderPolicy(ctx.db, targetName, text, { self, now }), () => reply(KpasswdResult.SUCCESS, '', KpasswdStatus.CHANGED), (e) => {
      if (e instanceof PolicyRefusal) {
        rec.detail = e.kind;
        return reply(KpasswdResult.SOFTERROR, e.serviceText, KpasswdStatus.POLICY);
      }
      rec.detail = e instanceof KdcDbError ? e.reason : 'change failed';
      return reply(KpasswdResult.HARDERROR, e instanceof KdcDbError ? e.message : 'Server error', KpasswdStatus.HARD_ERROR);
    });
  });
}

/** The server's address for the reply's s-address: the listening socket's (MIT: getsockname). */
function localAddress(origin: RequestOrigin & { localAddress?: string }): { addrType: number; address: Uint8Array } {
  try {
    return hostAddressOf(origin.localAddress ?? '127.0.0.1');
  } catch {
    return hostAddressOf('127.0.0.1');
  }
}

/** The KRB-ERROR answer (result code and text in e-data), framed after an empty AP-REP as MIT's kadmind frames it. */
function errorReply(realm: string, now: Date, r: Refusal): Uint8Array {
  const ms = now.getTime();
  const err = encodeKrbErrorMessage({
    pvno: 5,
    msgType: 30,
    stime: new Date(Math.floor(ms / 1000) * 1000),
    susec: (ms % 1000) * 1000,
    errorCode: r.krbCode,
    realm,
    sname: { nameType: NameType.NT_PRINCIPAL, nameString: ['kadmin', 'changepw'] },
    eData: encodeKpasswdResult(r.result, r.text),
  });
  return encodeKpasswdReply({ version: KPASSWD_VERSION_CHANGE, apRep: new Uint8Array(0), body: err });
}
