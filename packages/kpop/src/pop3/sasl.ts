/**
 * SASL for POP3 (RFC 5034): the mechanism interface the AUTH command drives,
 * and PLAIN (RFC 4616). GSSAPI (RFC 4752) lives in ../auth/gssapi.ts on top of
 * @kpop/common's gss/.
 */
import type { Principal } from '@kpop/common';

export interface SaslOutcome {
  /** The authenticated identity. */
  principal: Principal;
  /** RFC 4422 §3.4.1 authorization identity ('' = act as yourself). */
  authzid: string;
}

export type SaslStep = { challenge: Uint8Array } | { done: SaslOutcome };

/** A client-first mechanism: every step takes the client's response. */
export interface SaslMechanism {
  readonly name: string;
  step(response: Uint8Array): Promise<SaslStep>;
}

/** A SASL failure whose message may go to the client after "-ERR [AUTH] ". */
export class SaslError extends Error {
  constructor(message: string, readonly temporary = false, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'SaslError';
  }
}

export type PasswordVerifier = (user: string, password: string) => Promise<Principal>;

/** RFC 4616: message = [authzid] NUL authcid NUL passwd, all UTF-8. */
export function parsePlain(msg: Uint8Array): { authzid: string; authcid: string; password: string } {
  const first = msg.indexOf(0);
  const second = first === -1 ? -1 : msg.indexOf(0, first + 1);
  if (first === -1 || second === -1 || msg.indexOf(0, second + 1) !== -1) throw new SaslError('Malformed PLAIN message');
  const dec = new TextDecoder('utf-8', { fatal: true });
  try {
    const authzid = dec.decode(msg.subarray(0, first));
    const authcid = dec.decode(msg.subarray(first + 1, second));
    const password = dec.decode(msg.subarray(second + 1));
    if (!authcid || !password) throw new SaslError('Empty user name or password');
    return { authzid, authcid, password };
  } catch (e) {
    if (e instanceof SaslError) throw e;
    throw new SaslError('PLAIN message is not UTF-8');
  }
}

export class PlainMechanism implements SaslMechanism {
  readonly name = 'PLAIN';
  constructor(private readonly verify: PasswordVerifier) {}

  async step(response: Uint8Array): Promise<SaslStep> {
    const { authzid, authcid, password } = parsePlain(response);
    const principal = await this.verify(authcid, password);
    return { done: { principal, authzid: authzid || authcid } };
  }
}

/** Strict base64 (RFC 4648 §4) as SASL requires; undefined when malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}
