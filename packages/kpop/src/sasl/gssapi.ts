/**
 * GSSAPI (RFC 4752) over @kpop/common's GssapiSaslServer, with the server's
 * acceptor (keytab, replay cache, clock). Security layers are negotiated as
 * the common engine does (none offered beyond what it supports; a client's
 * sealed wrap tokens are accepted there).
 */
import { formatPrincipal, GssapiSaslServer, GssError, KrbError } from '@kpop/common';
import { SaslError, type SaslMechanism, type SaslMechanismFactory, type SaslStep } from './mechanism.js';
import type { KerberosAcceptor } from '../auth/acceptor.js';

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
      const { principal, authzid } = r.done;
      return { done: { principal, authcid: formatPrincipal(principal), authzid } };
    } catch (e) {
      if (e instanceof KrbError) throw new SaslError(`${e.codeName}: ${e.message}`, false, e);
      if (e instanceof GssError) throw new SaslError(`GSS ${e.major}: ${e.message}`, false, e);
      throw new SaslError(`GSSAPI: ${(e as Error).message}`, false, e);
    }
  }
}

export function gssapiFactory(acceptor: KerberosAcceptor): SaslMechanismFactory {
  return { name: 'GSSAPI', plaintext: false, create: () => new GssapiMechanism(acceptor) };
}
