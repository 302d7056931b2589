/**
 * NTLM inside SASL (as fetchmail, curl and mpop use it for POP3 AUTH and
 * IMAP AUTHENTICATE): client NEGOTIATE → server CHALLENGE → client
 * AUTHENTICATE. NTLMv2 always; NTLMv1 (24-byte NT response, what fetchmail
 * sends) only when the listener allows it. Only authentication: no
 * signing or sealing is negotiated, so nothing follows the exchange.
 */
import { randomBytes } from 'node:crypto';
import { SaslError, type SaslMechanism, type SaslStep } from '../sasl-types.js';
import { safeEqual, type MechSecrets } from '../secrets.js';
import { AvId, buildChallenge, buildTargetInfo, Flags, NtlmFormatError, parseAuthenticate, parseNegotiate } from './messages.js';
import { ntlmv1Response, ntlmv2Proof, ntowfv1, ntowfv2 } from './responses.js';

export interface NtlmOptions {
  /** Accept NTLMv1 responses (DES of the NT hash: crackable from a capture). Off by default. */
  allowV1?: boolean;
  /** NetBIOS-style domain (target) name sent in the CHALLENGE. */
  domain?: string;
  /** Our host name, for the target info. */
  hostname?: string;
  /** Fixed server challenge (tests only). */
  serverChallenge?: Uint8Array;
}

export class NtlmMechanism implements SaslMechanism {
  readonly name = 'NTLM';
  private state: 'negotiate' | 'authenticate' | 'over' = 'negotiate';
  private flags = 0;
  private readonly challenge: Uint8Array;
  /** Which NTLM version the client used, once verified (for logs and the comparison). */
  version?: 'v1' | 'v2';

  constructor(private readonly secrets: MechSecrets, private readonly opts: NtlmOptions = {}) {
    this.challenge = opts.serverChallenge ?? new Uint8Array(randomBytes(8));
  }

  async step(response: Uint8Array): Promise<SaslStep> {
    try {
      if (this.state === 'negotiate') return this.negotiate(response);
      if (this.state === 'authenticate') return await this.authenticate(response);
    } catch (e) {
      this.state = 'over';
      if (e instanceof NtlmFormatError) throw new SaslError(`NTLM: ${e.message}`);
      throw e;
    }
    throw new SaslError('NTLM exchange already finished');
  }

  private negotiate(msg: Uint8Array): SaslStep {
    const { flags } = parseNegotiate(msg);
    const domain = this.opts.domain ?? 'KPOP';
    const host = (this.opts.hostname ?? 'localhost').split('.')[0]!.toUpperCase().slice(0, 15) || 'KPOP';
    this.flags = (flags & Flags.UNICODE ? Flags.UNICODE : Flags.OEM)
      | Flags.REQUEST_TARGET | Flags.NTLM | Flags.TARGET_TYPE_SERVER | Flags.TARGET_INFO
      | (flags & Flags.EXTENDED_SESSIONSECURITY);
    const targetInfo = buildTargetInfo([
      [AvId.NbDomainName, domain],
      [AvId.NbComputerName, host],
      [AvId.DnsComputerName, this.opts.hostname ?? 'localhost'],
    ]);
    this.state = 'authenticate';
    return { challenge: buildChallenge({ flags: this.flags, serverChallenge: this.challenge, targetName: domain, targetInfo }) };
  }

  private async authenticate(msg: Uint8Array): Promise<SaslStep> {
    this.state = 'over';
    const a = parseAuthenticate(msg, (this.flags & Flags.UNICODE) !== 0);
    const user = a.user;
    if (user.length > 255 || /[\x00-\x1f\x7f]/.test(user)) throw new SaslError('NTLM: invalid user name');
    this.secrets.checkLocked?.(user);
    const password = await this.secrets.password(user);
    // Unknown user: run the same computation on a random hash.
    const ntHash = password !== undefined ? ntowfv1(password) : new Uint8Array(randomBytes(16));
    let ok = false;
    if (a.ntResponse.length === 24) {
      if (!this.opts.allowV1) {
        this.secrets.failed?.(user);
        throw new SaslError('NTLM: NTLMv1 response refused (not allowed on this listener)');
      }
      this.version = 'v1';
      const ess = (this.flags & Flags.EXTENDED_SESSIONSECURITY) !== 0 && a.lmResponse.length === 24
        && a.lmResponse.subarray(8).every((b) => b === 0);
      const expected = ntlmv1Response(ntHash, this.challenge, ess ? a.lmResponse.subarray(0, 8) : undefined);
      ok = safeEqual(expected, a.ntResponse);
    } else if (a.ntResponse.length >= 16 + 28) {
      this.version = 'v2';
      const proof = a.ntResponse.subarray(0, 16);
      const temp = a.ntResponse.subarray(16);
      if (temp[0] !== 1 || temp[1] !== 1) throw new SaslError('NTLM: unknown NTLMv2 response version');
      const key = ntowfv2(ntHash, user, a.domain);
      ok = safeEqual(ntlmv2Proof(key, this.challenge, temp), proof);
    } else {
      throw new SaslError('NTLM: no usable NT response (LM-only answers are refused)');
    }
    if (!ok || password === undefined) {
      this.secrets.failed?.(user);
      throw new SaslError(password === undefined ? `NTLM: no secret for ${user}` : `NTLM${this.version}: wrong response`);
    }
    this.secrets.succeeded?.(user);
    return { done: { authcid: user, authzid: user } };
  }
}
