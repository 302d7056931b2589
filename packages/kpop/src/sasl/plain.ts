/** PLAIN (RFC 4616): one client message, the password checked by the KDC. */
import { SaslError, type PasswordVerifier, type SaslMechanism, type SaslMechanismFactory, type SaslStep } from './mechanism.js';

/** RFC 4616 §2: message = [authzid] NUL authcid NUL passwd, all UTF-8. */
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
    return { done: { principal, authcid, authzid: authzid || authcid } };
  }
}

export function plainFactory(verify: PasswordVerifier): SaslMechanismFactory {
  return { name: 'PLAIN', plaintext: true, create: () => new PlainMechanism(verify) };
}
