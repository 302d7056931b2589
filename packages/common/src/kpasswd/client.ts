/**
 * The kpasswd client (MIT's krb5_change_password / krb5_set_password,
 * changepw.c and chpw.c): with a ticket for kadmin/changepw, send the new
 * password to the realm's kpasswd servers and read the result.
 *
 * Servers: [realms] R kpasswd_server (default port 464), else the hosts of
 * admin_server on port 464, as MIT's locate_kpasswd does. The KRB-PRIV
 * carries the local address of the route to the server, as MIT's client
 * takes it from getsockname(): servers (ours, MIT's kadmind) compare it with
 * where the request came from.
 */
import { createSocket } from 'node:dgram';
import { decryptData, encryptData, randomKeyFor } from '../crypto/index.js';
import type { Credential } from '../ccache/index.js';
import { KeyUsage, MsgType } from '../krb5/constants.js';
import { decodeApRep, decodeEncApRepPart } from '../krb5/ap-rep.js';
import { encodeApReq, encodeAuthenticator } from '../krb5/ap-req.js';
import { decodeKrbErrorMessage } from '../krb5/krb-error.js';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { decodeTicket } from '../krb5/ticket.js';
import type { EncryptionKey, Principal } from '../krb5/types.js';
import { type Krb5Config, type KdcAddress, parseKdcAddress } from '../client/config.js';
import { ClientError } from '../client/errors.js';
import { makeNonce, splitTime } from '../client/as.js';
import { sendToKdc } from '../client/transport.js';
import { hostAddressOf, makeKrbPriv, readKrbPriv } from './priv.js';
import {
  KPASSWD_PORT,
  KPASSWD_VERSION_CHANGE,
  KPASSWD_VERSION_SET,
  KpasswdFormatError,
  decodeKpasswdResult,
  encodeChangePasswdData,
  encodeKpasswdRequest,
  kpasswdMessage,
  kpasswdResultCodeString,
  parseKpasswdReply,
} from './protocol.js';

/** The kpasswd servers of a realm, in krb5.conf order. */
export function kpasswdServers(config: Krb5Config, realm: string): KdcAddress[] {
  const own = config.realmValues(realm, 'kpasswd_server').map((e) => parseKdcAddress(e, KPASSWD_PORT)).filter((a): a is KdcAddress => a !== undefined);
  if (own.length > 0) return own;
  return config.adminServers(realm).map((a) => ({ host: a.host, port: KPASSWD_PORT }));
}

export interface ChangePasswordOptions {
  config: Krb5Config;
  /** A ticket for kadmin/changepw@REALM (an initial one, for a change of one's own password). */
  credential: Credential;
  newPassword: string;
  /** RFC 3244 set-password for another principal; without it, version 1 (change one's own). */
  target?: Principal;
  /** Use RFC 3244's message even for one's own password. */
  setPasswordProtocol?: boolean;
  servers?: KdcAddress[];
  now?: () => Date;
  timeoutMs?: number;
  trace?: (line: string) => void;
}

export interface ChangePasswordResult {
  /** RFC 3244 result code, 0 = success. */
  resultCode: number;
  /** MIT's words for the code ("Password change rejected"). */
  codeString: string;
  /** The server's result string, raw. */
  resultString: Uint8Array;
  /** What MIT's kpasswd prints after the code string (krb5_chpw_message), '' when the server said nothing. */
  message: string;
}

/** The local address the kernel would use to reach host (a connected UDP socket sends nothing). */
function localAddressTowards(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const family = host.includes(':') ? 'udp6' : 'udp4';
    const s = createSocket(family);
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.connect(port, host, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
}

export async function changePassword(opts: ChangePasswordOptions): Promise<ChangePasswordResult> {
  const { credential: cred } = opts;
  const realm = cred.server.realm;
  const servers = opts.servers ?? kpasswdServers(opts.config, realm);
  if (servers.length === 0) throw new ClientError('KRB5_REALM_UNKNOWN', `Cannot find KDC for realm "${realm}"`);
  let lastError: unknown;
  for (const server of servers) {
    let local: string;
    try {
      local = await localAddressTowards(server.host, server.port);
    } catch (e) {
      lastError = e;
      continue;
    }
    // A fresh authenticator per server: a second one with the same would be a replay.
    const { request, state } = makeKpasswdRequest(opts, local);
    let reply: Uint8Array;
    try {
      reply = await sendToKdc(opts.config, realm, request, { kdcs: [server], ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.trace ? { trace: opts.trace } : {}) });
    } catch (e) {
      lastError = e;
      continue;
    }
    return readKpasswdReply(reply, state);
  }
  if (lastError instanceof ClientError) throw new ClientError(lastError.code, lastError.message.replace(/any KDC/, 'any KPASSWD server'));
  throw new ClientError('KRB5_KDC_UNREACH', `Cannot contact any KPASSWD server for realm '${realm}'`);
}

/** What the reply is checked against: the ticket's session key, our subkey and authenticator time. */
export interface KpasswdRequestState {
  credential: Credential;
  subkey: EncryptionKey;
  time: { time: Date; usec: number };
  seq: number;
}

/** One request (AP-REQ with a fresh subkey and sequence number, KRB-PRIV from `localAddress`), and what its reply must match. */
export function makeKpasswdRequest(opts: Pick<ChangePasswordOptions, 'credential' | 'newPassword' | 'target' | 'setPasswordProtocol' | 'now'>, localAddress: string): { request: Uint8Array; state: KpasswdRequestState } {
  const cred = opts.credential;
  const subkey = randomKeyFor(cred.key.keytype);
  const seq = makeNonce();
  const ts = splitTime((opts.now ?? (() => new Date()))());
  const authenticator = encodeAuthenticator({ authenticatorVno: 5, crealm: cred.client.realm, cname: cred.client.name, cusec: ts.usec, ctime: ts.time, subkey, seqNumber: seq });
  const apReq = encodeApReq({ pvno: 5, msgType: MsgType.AP_REQ as 14, apOptions: 0, ticket: decodeTicket(cred.ticket), authenticator: encryptData(cred.key, KeyUsage.AP_REQ_AUTH, authenticator) });
  const setpw = opts.target !== undefined || opts.setPasswordProtocol === true;
  const pw = new TextEncoder().encode(opts.newPassword);
  const userData = setpw ? encodeChangePasswdData({ newpasswd: pw, ...(opts.target ? { targname: opts.target.name, targrealm: opts.target.realm } : {}) }) : pw;
  const priv = makeKrbPriv(subkey, { userData, seqNumber: seq, sAddress: hostAddressOf(localAddress) });
  const request = encodeKpasswdRequest({ version: setpw ? KPASSWD_VERSION_SET : KPASSWD_VERSION_CHANGE, apReq, priv });
  return { request, state: { credential: cred, subkey, time: ts, seq } };
}

function modified(why: string): never {
  throw new KrbError(ErrorCode.KRB_AP_ERR_MODIFIED, `Message stream modified (${why})`);
}

/** MIT's krb5int_rd_chpw_rep: an error (framed or bare) or AP-REP + KRB-PRIV, then the result code and string. */
export function readKpasswdReply(reply: Uint8Array, state: KpasswdRequestState): ChangePasswordResult {
  const { credential: cred, subkey, time: ts } = state;
  let clear: Uint8Array;
  let isError = false;
  let parsed;
  try {
    parsed = parseKpasswdReply(reply);
  } catch (e) {
    if (e instanceof KpasswdFormatError) modified(e.message);
    throw e;
  }
  if ('bareError' in parsed || parsed.apRep.length === 0) {
    isError = true;
    const err = decodeKrbErrorMessage('bareError' in parsed ? parsed.bareError : parsed.body);
    if (!err.eData || err.eData.length === 0) throw new KrbError(err.errorCode, err.eText ?? `KDC error ${err.errorCode}`, err.eText !== undefined ? { eText: err.eText } : {});
    clear = err.eData;
  } else {
    const rep = decodeApRep(parsed.apRep);
    const part = decodeEncApRepPart(decryptData(cred.key, KeyUsage.AP_REP_ENCPART, rep.encPart));
    if (part.ctime.getTime() !== ts.time.getTime() || part.cusec !== ts.usec) modified('AP-REP does not answer our authenticator');
    // The reply is sealed in our subkey ("smash recv_subkey to be send_subkey").
    const priv = readKrbPriv(subkey, parsed.body);
    if (part.seqNumber !== undefined && priv.seqNumber !== undefined && priv.seqNumber !== part.seqNumber) {
      throw new KrbError(ErrorCode.KRB_AP_ERR_BADORDER, 'Message out of order');
    }
    clear = priv.userData;
  }
  let result;
  try {
    result = decodeKpasswdResult(clear);
  } catch {
    modified('result too short');
  }
  if (result.code > 7) modified(`result code ${result.code}`);
  if (isError && result.code === 0) modified('success inside an error');
  return {
    resultCode: result.code,
    codeString: kpasswdResultCodeString(result.code),
    resultString: result.data,
    message: result.data.length === 0 ? '' : kpasswdMessage(result.data),
  };
}
