/**
 * The KPOP port (1109): the client speaks first with krb5 sendauth
 * ("KRB5_SENDAUTH_V1.0", "KPOPV1.0", AP-REQ; protocols.md §2.3 and §2.7),
 * the AP-REQ is checked with the pop/* keytab, and only then does POP3 start,
 * with the principal already authenticated. A state machine over the socket:
 * VERSIONS → AP_REQ → (handed to POP3) | CLOSED.
 */
import type { Socket } from 'node:net';
import {
  encodeKrbErrorMessage,
  ErrorCode,
  formatPrincipal,
  KPOP_APP_VERSION,
  KrbError,
  makeApRep,
  parseVersionString,
  sendauthAccepted,
  sendauthApRep,
  sendauthRejected,
  SendauthReply,
  SendauthServerReader,
  SENDAUTH_VERSION,
  type ConnectionGuard,
  type Principal,
} from '@kpop/common';
import type { KerberosAcceptor } from '../auth/acceptor.js';
import type { LogRecord } from '../pop3/session.js';

/** The whole sendauth exchange must finish within this time. */
const SENDAUTH_TIMEOUT_MS = 30_000;

/** MIT recvauth: codes above 127 (library errors) go out as KRB_ERR_GENERIC. */
function wireCode(code: number): number {
  return code >= 0 && code <= 127 ? code : ErrorCode.KRB_ERR_GENERIC;
}

export function handleKpopConnection(
  socket: Socket,
  acceptor: KerberosAcceptor,
  log: (r: LogRecord) => void,
  onAuthenticated: (principal: Principal, rest: Buffer) => void,
  /** The admission layer's handle: its deadlines (accept to login, per frame) replace the sendauth timer. */
  guard?: ConnectionGuard,
): void {
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  const reader = new SendauthServerReader();
  let state: 'VERSIONS' | 'AP_REQ' | 'DONE' = 'VERSIONS';
  let appVersion = '';

  const timer = guard
    ? undefined
    : setTimeout(() => {
        log({ event: 'auth', listener: 'kpop', remote, mech: 'KPOP', ok: false, reason: 'sendauth timeout' });
        socket.destroy();
      }, SENDAUTH_TIMEOUT_MS);
  const stop = () => {
    state = 'DONE';
    clearTimeout(timer);
    socket.off('data', onData);
  };
  socket.on('close', () => clearTimeout(timer));

  const refuse = (byte: number, reason: string) => {
    log({ event: 'auth', listener: 'kpop', remote, mech: 'KPOP', ok: false, reason });
    stop();
    socket.end(Uint8Array.of(byte));
  };

  const reject = (e: KrbError, client?: Principal) => {
    const now = acceptor.now();
    const server = acceptor.serverPrincipal;
    // As MIT's recvauth: the error text with its trailing NUL, sname/realm = us.
    const der = encodeKrbErrorMessage({
      pvno: 5, msgType: 30,
      stime: new Date(Math.floor(now.getTime() / 1000) * 1000), susec: (now.getTime() % 1000) * 1000,
      errorCode: wireCode(e.code), realm: server.realm, sname: server.name, eText: e.rfcText + '\0',
    });
    log({ event: 'auth', listener: 'kpop', remote, mech: 'KPOP', app: appVersion, principal: client && formatPrincipal(client), ok: false, code: e.codeName, reason: e.message });
    stop();
    socket.end(sendauthRejected(der));
  };

  const onFrame = (frame: Uint8Array, index: number, rest: Buffer | undefined) => {
    if (index === 0) {
      if (parseVersionString(frame) !== SENDAUTH_VERSION) return refuse(SendauthReply.BAD_SENDAUTH_VERSION, 'bad sendauth version');
      return;
    }
    if (index === 1) {
      const v = parseVersionString(frame);
      if (v === undefined) return refuse(SendauthReply.BAD_APP_VERSION, 'malformed application version');
      appVersion = v;
      // Lenient (protocols.md §2.6): Eudora's shim and others send other strings.
      if (v !== KPOP_APP_VERSION) log({ event: 'kpop-app-version', remote, version: v });
      state = 'AP_REQ';
      socket.write(Uint8Array.of(SendauthReply.OK));
      return;
    }
    let accepted;
    try {
      accepted = acceptor.accept(frame);
    } catch (e) {
      return reject(e instanceof KrbError ? e : new KrbError(ErrorCode.KRB_ERR_GENERIC, (e as Error).message));
    }
    stop();
    socket.write(sendauthAccepted());
    if (accepted.mutualRequired) socket.write(sendauthApRep(makeApRep(accepted)));
    log({ event: 'auth', listener: 'kpop', remote, mech: 'KPOP-sendauth', app: appVersion, principal: formatPrincipal(accepted.client), server: formatPrincipal(accepted.server), ok: true });
    onAuthenticated(accepted.client, rest ?? Buffer.alloc(0));
  };

  function onData(chunk: Buffer): void {
    if (state === 'DONE') return;
    let got;
    try {
      got = reader.push(chunk);
    } catch (e) {
      // Kerberos 4 KPOP starts "AUTHV0.1": that is a huge "length" here.
      return refuse(SendauthReply.BAD_SENDAUTH_VERSION, `bad sendauth framing: ${(e as Error).message}`);
    }
    if (guard) {
      if (got.frames.length) guard.activity();
      guard.partial(reader.partial);
    }
    const first = reader.count - got.frames.length;
    for (let i = 0; i < got.frames.length && (state as string) !== 'DONE'; i++) {
      const index = first + i;
      const rest = index === 2 && got.rest ? Buffer.from(got.rest) : undefined;
      onFrame(got.frames[i]!, index, rest);
    }
  }
  socket.on('data', onData);
}
