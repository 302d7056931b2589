/**
 * The request handler the UDP and TCP listeners call: bytes in, reply bytes
 * (or null: drop) out. Every failure, expected or not, ends here as a
 * KRB-ERROR with its status token, so no input can crash the server.
 */
import { ErrorCode, KrbError, NameType, decodeAsReq, decodeTgsReq, encodeKrbErrorMessage } from '@kpop/common';
import type { KrbErrorMessage } from '@kpop/common';
import { processAsReq } from './as-req.js';
import { newRequestInfo } from './context.js';
import type { KdcContext, RequestInfo, RequestOrigin } from './context.js';
import { logRecord } from './log.js';
import type { KdcLogger } from './log.js';
import type { Lookaside } from './lookaside.js';
import { KdcFailure, Status, eTextFor, statusForCode } from './status.js';
import type { StatusToken } from './status.js';
import { processTgsReq } from './tgs-req.js';
import { NotLoaded } from '../db/types.js';

export interface HandlerContext extends KdcContext {
  readonly lookaside?: Lookaside;
  readonly log?: KdcLogger;
  /** UDP replies longer than this become KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 §7.2.1). */
  readonly maxUdpReply?: number;
}

export interface HandlerResult {
  /** null: nothing to send (UDP datagram that is not a KDC request). */
  reply: Uint8Array | null;
  status: StatusToken | 'LOOKASIDE' | 'DROPPED';
  /** The request was not a well-formed KDC-REQ: a TCP listener closes the connection after replying. */
  malformed: boolean;
}

const AS_REQ_TAG = 0x6a;
const TGS_REQ_TAG = 0x6c;
const DEFAULT_MAX_UDP_REPLY = 1400;

/** Principals one request may wait for, one after another (client, server, the ticket's issuer, and one to spare). */
const MAX_LOADS = 4;

/** The contract's pure form: reply bytes or null. */
export function handleRequest(bytes: Uint8Array, ctx: HandlerContext, origin: RequestOrigin = { transport: 'local' }): Uint8Array | null {
  return processRequest(bytes, ctx, origin).reply;
}

/** serveRequest over a store that answers from memory or synchronously (SQLite): the result now. */
export function processRequest(bytes: Uint8Array, ctx: HandlerContext, origin: RequestOrigin): HandlerResult {
  const out = serveRequest(bytes, ctx, origin);
  if (out instanceof Promise) {
    out.catch(() => {});
    throw new TypeError('processRequest: this store reads principals asynchronously; use serveRequest');
  }
  return out;
}

/**
 * One request to its result: at once, unless the store must first read a
 * principal the exchange asked for (lookup threw NotLoaded: PostgreSQL);
 * then the exchange runs again once it is in memory. An exchange records
 * nothing before its lookups, so running it again is safe. A read that
 * fails (the database away) is answered KDC_ERR_SVC_UNAVAILABLE: MIT's
 * clients (test/kdc-postgres) and ours then ask the next KDC.
 */
export function serveRequest(bytes: Uint8Array, ctx: HandlerContext, origin: RequestOrigin, t0 = performance.now(), loads = 0): HandlerResult | Promise<HandlerResult> {
  const tag = bytes.length ? bytes[0] : -1;
  if (tag !== AS_REQ_TAG && tag !== TGS_REQ_TAG && origin.transport === 'udp') {
    // Not a KDC request: silence on UDP, so we can't be used to reflect junk.
    return { reply: null, status: 'DROPPED', malformed: true };
  }
  const lookaside = ctx.lookaside;
  const cached = lookaside?.get(bytes);
  if (cached) {
    const reply = capForTransport(cached, ctx, origin, undefined);
    ctx.log?.({ time: ctx.now().toISOString(), from: fromOf(origin), transport: origin.transport, msg: 'LOOKASIDE', status: 'LOOKASIDE', bytes: reply.length, us: Math.round((performance.now() - t0) * 1000) });
    return { reply, status: 'LOOKASIDE', malformed: false };
  }

  let info: RequestInfo;
  try {
    info = newRequestInfo(origin, ctx.now());
  } catch {
    info = newRequestInfo(origin, new Date());
  }
  let reply: Uint8Array;
  let malformed = false;
  let decoded = false;
  try {
    if (tag === AS_REQ_TAG) {
      info.msgType = 'AS_REQ';
      const req = decodeAsReq(bytes);
      decoded = true;
      reply = processAsReq(ctx, info, req);
    } else if (tag === TGS_REQ_TAG) {
      info.msgType = 'TGS_REQ';
      const req = decodeTgsReq(bytes);
      decoded = true;
      reply = processTgsReq(ctx, info, req);
    } else {
      throw new KdcFailure(ErrorCode.KRB_AP_ERR_MSG_TYPE, Status.GENERIC, { detail: 'not a KDC-REQ' });
    }
    info.status = Status.ISSUE;
    info.code = 0;
  } catch (e) {
    if (e instanceof NotLoaded) {
      // A store that cannot load (none should throw this then), or a request whose principals keep leaving
      // memory before it can use them (a cache far too small): the database cannot serve it now.
      if (ctx.store.loadPrincipal === undefined || loads >= MAX_LOADS) return unavailable(ctx, origin, info, t0, e.canonicalName);
      return ctx.store.loadPrincipal(e.canonicalName).then(
        () => serveRequest(bytes, ctx, origin, t0, loads + 1),
        () => unavailable(ctx, origin, info, t0, e.canonicalName),
      );
    }
    // No new Error objects here: stack capture is the dearest part of a junk request.
    const f = describeFailure(e, decoded);
    malformed = f.status === Status.GENERIC;
    info.status = f.status;
    info.code = f.code;
    if (f.detail !== undefined) info.detail = f.detail;
    reply = errorReply(ctx, info, f.code, eTextFor(f.status), f.eData);
  }
  if (malformed && origin.transport === 'udp' && reply.length > bytes.length) {
    // Junk over UDP never gets an answer larger than itself: the KDC must
    // not amplify a spoofed-source flood (cf. Heimdal's UDP reply limits).
    info.status = Status.GENERIC;
    ctx.log?.(logRecord(info, (performance.now() - t0) * 1000, 0));
    return { reply: null, status: 'DROPPED', malformed: true };
  }
  lookaside?.put(bytes, reply);
  const sent = capForTransport(reply, ctx, origin, info);
  ctx.log?.(logRecord(info, (performance.now() - t0) * 1000, sent.length));
  return { reply: sent, status: info.status ?? Status.ISSUE, malformed };
}

/** The principal could not be read (the database away, or too slow): SVC_UNAVAILABLE, logged, not kept in the lookaside. */
function unavailable(ctx: HandlerContext, origin: RequestOrigin, info: RequestInfo, t0: number, name: string): HandlerResult {
  info.status = Status.DB_UNAVAILABLE;
  info.code = ErrorCode.KDC_ERR_SVC_UNAVAILABLE;
  info.detail = `cannot read ${name.slice(0, 256)} from the database`;
  const reply = errorReply(ctx, info, ErrorCode.KDC_ERR_SVC_UNAVAILABLE, eTextFor(Status.DB_UNAVAILABLE), undefined);
  const sent = capForTransport(reply, ctx, origin, info);
  ctx.log?.(logRecord(info, (performance.now() - t0) * 1000, sent.length));
  return { reply: sent, status: Status.DB_UNAVAILABLE, malformed: false };
}

interface FailureInfo {
  code: number;
  status: StatusToken;
  detail?: string;
  eData?: Uint8Array;
}

function describeFailure(e: unknown, decoded: boolean): FailureInfo {
  if (e instanceof KdcFailure) return { code: e.code, status: e.status, ...(e.detail !== undefined ? { detail: e.detail } : {}), ...(e.eData ? { eData: e.eData } : {}) };
  const message = String((e as Error)?.message ?? e).slice(0, 200);
  // RFC 4120 §7.5.9: a request that does not decode is KRB_ERR_GENERIC.
  if (!decoded) return { code: ErrorCode.KRB_ERR_GENERIC, status: Status.GENERIC, detail: `malformed request: ${message}` };
  if (e instanceof KrbError) return { code: e.code, status: statusForCode(e.code), detail: message };
  // A bug or a value our code did not expect: answer, don't crash.
  return { code: ErrorCode.KRB_ERR_GENERIC, status: Status.GENERIC, detail: `internal: ${message}` };
}

function fromOf(origin: RequestOrigin): string {
  return origin.address !== undefined ? `${origin.address}:${origin.port ?? ''}` : origin.transport;
}

/**
 * RFC 4120 §7.2.1: a reply too long for UDP is replaced by
 * KRB_ERR_RESPONSE_TOO_BIG, and the client retries over TCP (the lookaside
 * holds the full reply for that retry).
 */
function capForTransport(reply: Uint8Array, ctx: HandlerContext, origin: RequestOrigin, info: RequestInfo | undefined): Uint8Array {
  if (origin.transport !== 'udp' || reply.length <= (ctx.maxUdpReply ?? DEFAULT_MAX_UDP_REPLY)) return reply;
  const i = info ?? newRequestInfo(origin, ctx.now());
  if (info) {
    info.status = Status.RESPONSE_TOO_BIG;
    info.code = ErrorCode.KRB_ERR_RESPONSE_TOO_BIG;
  }
  return errorReply(ctx, i, ErrorCode.KRB_ERR_RESPONSE_TOO_BIG, eTextFor(Status.RESPONSE_TOO_BIG), undefined);
}

/** RFC 4120 §5.9.1 KRB-ERROR, with the server time (users need it on SKEW). */
function errorReply(ctx: HandlerContext, info: RequestInfo, code: number, eText: string, eData: Uint8Array | undefined): Uint8Array {
  const realm = ctx.store.realm;
  const msg: KrbErrorMessage = {
    pvno: 5,
    msgType: 30,
    stime: info.now,
    susec: info.usec,
    errorCode: code,
    realm: info.realm && info.realm.length <= 256 ? info.realm : realm,
    sname: info.sname && info.sname.nameString.length <= 8 ? info.sname : { nameType: NameType.NT_SRV_INST, nameString: ['krbtgt', realm] },
    eText,
  };
  if (info.cname && info.cname.nameString.length <= 8) {
    msg.cname = info.cname;
    msg.crealm = info.crealm ?? msg.realm;
  }
  if (eData) msg.eData = eData;
  try {
    return encodeKrbErrorMessage(msg);
  } catch {
    // Echoed names that will not encode: answer with our own names only.
    return encodeKrbErrorMessage({ pvno: 5, msgType: 30, stime: info.now, susec: info.usec, errorCode: code, realm, sname: { nameType: NameType.NT_SRV_INST, nameString: ['krbtgt', realm] }, eText });
  }
}

/** A KRB-ERROR for input that never became a request (e.g. a TCP frame over the size limit). */
export function transportErrorReply(ctx: HandlerContext, origin: RequestOrigin, code: number, status: StatusToken, detail: string): Uint8Array {
  const info = newRequestInfo(origin, ctx.now());
  info.status = status;
  info.code = code;
  info.detail = detail;
  ctx.log?.(logRecord(info, 0, 0));
  return errorReply(ctx, info, code, eTextFor(status), undefined);
}
