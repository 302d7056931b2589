/**
 * LOGIN (draft-murchison-sasl-login-00): server-first, "Username:" then
 * "Password:" prompts; what Outlook-era clients send. Offered, like PLAIN,
 * only inside TLS.
 */
import { SaslError, type PasswordVerifier, type SaslMechanism, type SaslMechanismFactory, type SaslStep } from './mechanism.js';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export class LoginMechanism implements SaslMechanism {
  readonly name = 'LOGIN';
  readonly serverFirst = true;
  private user?: string;
  constructor(private readonly verify: PasswordVerifier) {}

  async start(): Promise<SaslStep> {
    return { challenge: enc.encode('Username:') };
  }

  async step(response: Uint8Array): Promise<SaslStep> {
    let text: string;
    try {
      text = dec.decode(response);
    } catch {
      throw new SaslError('LOGIN response is not UTF-8');
    }
    if (this.user === undefined) {
      if (!text || text.includes('\0')) throw new SaslError('Empty or invalid user name');
      this.user = text;
      return { challenge: enc.encode('Password:') };
    }
    if (!text) throw new SaslError('Empty password');
    const principal = await this.verify(this.user, text);
    return { done: { principal, authcid: this.user, authzid: this.user } };
  }
}

export function loginFactory(verify: PasswordVerifier): SaslMechanismFactory {
  return { name: 'LOGIN', plaintext: true, serverFirst: true, create: () => new LoginMechanism(verify) };
}
