/**
 * What every exchange reads: the principal store, the clock, the enctypes
 * this KDC permits, and the per-request record that gathers what the log
 * line says (MIT's gather → check → issue over one request-info object).
 */
import type { KdcReq, PrincipalName } from '@kpop/common';
import type { PrincipalStore } from '../db/types.js';
import type { StatusToken } from './status.js';

export interface KdcContext {
  readonly store: PrincipalStore;
  /** The KDC's clock; tests pin it to a capture's time. */
  now(): Date;
  /** Enctypes this KDC will use for reply keys, tickets and session keys. */
  readonly enctypes: readonly number[];
}

export type Transport = 'udp' | 'tcp' | 'local';

/** Where a request came from, as the listener knows it. */
export interface RequestOrigin {
  transport: Transport;
  address?: string;
  port?: number;
}

/** One request as it moves through the exchange; becomes the log record. */
export interface RequestInfo {
  readonly origin: RequestOrigin;
  /** The request clock: whole seconds (KerberosTime has no sub-second part). */
  readonly now: Date;
  /** Microseconds for stime/susec of a KRB-ERROR. */
  readonly usec: number;
  msgType?: 'AS_REQ' | 'TGS_REQ';
  req?: KdcReq;
  realm?: string;
  cname?: PrincipalName;
  crealm?: string;
  sname?: PrincipalName;
  reqEtypes?: number[];
  /** Reply key enctype (AS: the client's long-term key; TGS: session/subkey). */
  replyEtype?: number;
  ticketEtype?: number;
  sessionEtype?: number;
  authtime?: Date;
  status?: StatusToken;
  code?: number;
  detail?: string;
}

export function newRequestInfo(origin: RequestOrigin, clock: Date): RequestInfo {
  const ms = clock.getTime();
  const seconds = Math.floor(ms / 1000);
  return { origin, now: new Date(seconds * 1000), usec: (ms - seconds * 1000) * 1000 };
}
