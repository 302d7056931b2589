/**
 * AUTH GSSAPI (RFC 5034 + RFC 4752) for the POP3 engine: adapts
 * @kpop/common's GssapiSaslServer to the session's SaslMechanism interface,
 * with the server's acceptor (keytab, replay cache, clock).
 */
import { GssapiSaslServer, GssError, KrbError } from '@kpop/common';
import { SaslError, type SaslMechanism, type SaslStep } from '../pop3/sasl.js';
import type { KerberosAcceptor } from './acceptor.js';

export class GssapiMechanism implements SaslMechanism {
  readonly name = 'GSSAPI';
  private readonly server: GssapiSaslServer;

  constructor(acceptor: KerberosAcceptor) {
    this.server = new GssapiSaslServer({ accept: (apReq) => acceptor.accept(apReq) });
  }

  async step(response: Uint8Array): Promise<SaslStep> {
    try {
      const r = this.server.step(response);
      if ('challenge' in r) return r;
      return { done: { principal: r.done.principal, authzid: r.done.authzid } };
    } catch (e) {
      if (e instanceof KrbError) throw new SaslError(`${e.codeName}: ${e.message}`, false, e);
      if (e instanceof GssError) throw new SaslError(`GSS ${e.major}: ${e.message}`, false, e);
      throw new SaslError(`GSSAPI: ${(e as Error).message}`, false, e);
    }
  }
}
