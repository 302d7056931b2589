/**
 * One JSON log record per request (MIT logs one syslog line per request:
 * "AS_REQ (etypes) addr: ISSUE: authtime N, etypes {rep=…, tkt=…, ses=…},
 * cname for sname"). Never a key, a password or any other secret: only
 * names, numbers and the status token.
 */
import { formatPrincipalName } from '@kpop/common';
import type { RequestInfo } from './context.js';

export type KdcLogger = (record: Record<string, unknown>) => void;

export function logRecord(info: RequestInfo, micros: number, replyBytes: number): Record<string, unknown> {
  const r: Record<string, unknown> = {
    time: info.now.toISOString(),
    from: info.origin.address !== undefined ? `${info.origin.address}:${info.origin.port ?? ''}` : info.origin.transport,
    transport: info.origin.transport,
    msg: info.msgType ?? 'UNKNOWN',
  };
  if (info.cname) r.cname = `${safeName(info.cname.nameString)}@${info.crealm ?? info.realm ?? ''}`;
  if (info.sname) r.sname = `${safeName(info.sname.nameString)}@${info.realm ?? ''}`;
  if (info.reqEtypes) r.reqEtypes = info.reqEtypes.slice(0, 16);
  if (info.replyEtype !== undefined) r.repEtype = info.replyEtype;
  if (info.ticketEtype !== undefined) r.tktEtype = info.ticketEtype;
  if (info.sessionEtype !== undefined) r.sesEtype = info.sessionEtype;
  if (info.authtime) r.authtime = Math.floor(info.authtime.getTime() / 1000);
  r.status = info.status ?? 'ISSUE';
  r.code = info.code ?? 0;
  if (info.detail) r.detail = info.detail;
  r.bytes = replyBytes;
  r.us = Math.round(micros);
  return r;
}

/** Names come from the wire: cap their length so a hostile name can't flood the log. */
function safeName(parts: readonly string[]): string {
  const s = formatPrincipalName({ nameType: 0, nameString: parts.slice(0, 8).map((p) => p.slice(0, 256)) });
  return s.length > 512 ? s.slice(0, 512) + '…' : s;
}

/** The default logger: one JSON line per request on stdout. */
export const stdoutLogger: KdcLogger = (record) => {
  process.stdout.write(JSON.stringify(record) + '\n');
};
