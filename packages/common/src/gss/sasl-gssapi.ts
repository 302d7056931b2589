/**
 * The server side of SASL GSSAPI (RFC 4752 §3) over the krb5 mechanism, as
 * real clients drive it (protocols.md §3.2, §3.5):
 * 1. the client's initial context token (AP-REQ with the 0x8003 checksum);
 * 2. if it asked for mutual authentication: the AP-REP token (with a random
 *    seq-number N and no subkey), answered by an empty response; otherwise
 *    N = the initiator's own seq-number (MIT: seq_send = seq_recv);
 * 3. a wrap token (conf 0, usage 22, seq N) offering layer 1 "none" with
 *    max size 0: `01 00 00 00` (§3.3);
 * 4. the client's wrap token (usage 24, seq = its authenticator seq-number):
 *    the chosen layer, its max size (ignored), then the authzid.
 * Tokens use the initiator's subkey (no acceptor subkey is sent), so the
 * AcceptorSubkey flag stays clear both ways.
 */
import { randomBytes } from 'node:crypto';
import { KrbError, type EncryptionKey, type Principal } from '../krb5/index.js';
import { makeApRep, type AcceptedApReq } from './acceptor.js';
import { decodeGssChecksum, GSS_CHECKSUM_TYPE, GssFlags } from './checksum.js';
import { GssError } from './errors.js';
import { decodeContextToken, encodeContextToken, TokId } from './token.js';
import { makeWrapToken, readWrapToken } from './wrap.js';

/** RFC 4752 §3.3 security layer bits. */
export const SaslLayer = { NONE: 0x01, INTEGRITY: 0x02, CONFIDENTIALITY: 0x04 } as const;

export interface GssapiSaslResult {
  principal: Principal;
  /** '' when the client asked to act as itself. */
  authzid: string;
  accepted: AcceptedApReq;
  gssFlags: number;
}

export type GssapiSaslStep = { challenge: Uint8Array } | { done: GssapiSaslResult };

export interface GssapiSaslServerOptions {
  /** Verifies the AP-REQ (keytab, replay cache, clock): acceptApReq with the server's options. */
  accept: (apReq: Uint8Array) => AcceptedApReq;
  /** Source of the AP-REP seq-number (tests pin it). */
  randomSeq?: () => number;
}

export class GssapiSaslServer {
  private state: 'token' | 'ap-rep-sent' | 'offer-sent' | 'done' = 'token';
  private key?: EncryptionKey;
  private sendSeq = 0;
  private recvSeq = 0;
  private accepted?: AcceptedApReq;
  private flags = 0;

  constructor(private readonly opts: GssapiSaslServerOptions) {}

  step(input: Uint8Array): GssapiSaslStep {
    switch (this.state) {
      case 'token':
        return this.initial(input);
      case 'ap-rep-sent':
        // RFC 4752 §3.1: after the last context token the client sends an
        // empty response; its content carries nothing for us.
        return this.offer();
      case 'offer-sent':
        return this.finish(input);
      default:
        throw new GssError('FAILURE', 'SASL GSSAPI exchange already complete');
    }
  }

  private initial(token: Uint8Array): GssapiSaslStep {
    const { tokId, message } = decodeContextToken(token);
    if (tokId !== TokId.AP_REQ) throw new GssError('DEFECTIVE_TOKEN', `expected an AP-REQ token, got TOK_ID ${tokId.toString(16)}`);
    const accepted = this.opts.accept(message);
    const a = accepted.authenticator;
    // MIT's acceptor tolerates a missing or non-0x8003 checksum (flags = 0).
    if (a.cksum && a.cksum.cksumtype === GSS_CHECKSUM_TYPE) this.flags = decodeGssChecksum(a.cksum.checksum).flags;
    this.accepted = accepted;
    this.key = a.subkey ?? accepted.sessionKey;
    this.recvSeq = a.seqNumber ?? 0;
    const mutual = (this.flags & GssFlags.MUTUAL) !== 0 || accepted.mutualRequired;
    if (mutual) {
      this.sendSeq = this.opts.randomSeq ? this.opts.randomSeq() : randomBytes(4).readUInt32BE(0) & 0x3fffffff;
      this.state = 'ap-rep-sent';
      return { challenge: encodeContextToken(TokId.AP_REP, makeApRep(accepted, { seqNumber: this.sendSeq })) };
    }
    this.sendSeq = this.recvSeq;
    return this.offer();
  }

  private offer(): GssapiSaslStep {
    this.state = 'offer-sent';
    // Layer "none" only; RFC 4752 §3.3: max size MUST be 0 when no layer is offered.
    const offer = Uint8Array.of(SaslLayer.NONE, 0, 0, 0);
    return { challenge: makeWrapToken(offer, { key: this.key!, seq: this.sendSeq, fromAcceptor: true }) };
  }

  private finish(token: Uint8Array): GssapiSaslStep {
    const { plaintext, seq } = readWrapToken(token, { key: this.key!, fromAcceptor: false });
    if (seq !== this.recvSeq) throw new GssError('UNSEQ_TOKEN', `client wrap token has seq ${seq}, expected ${this.recvSeq}`);
    if (plaintext.length < 4) throw new GssError('DEFECTIVE_TOKEN', 'security layer message shorter than 4 bytes');
    if (plaintext[0] !== SaslLayer.NONE) {
      throw new KrbError(60, `client chose security layer 0x${plaintext[0]!.toString(16)}, only "none" (1) was offered`);
    }
    // The client's max size is ignored: fetchmail and mutt echo ours, mpop sends ffffff.
    let id = plaintext.subarray(4);
    // curl <= 7.78 and fetchmail < 6.4.0 sent a trailing NUL.
    if (id.length && id[id.length - 1] === 0) id = id.subarray(0, id.length - 1);
    if (id.includes(0)) throw new GssError('DEFECTIVE_TOKEN', 'authorization identity contains NUL');
    let authzid: string;
    try {
      authzid = new TextDecoder('utf-8', { fatal: true }).decode(id);
    } catch {
      throw new GssError('DEFECTIVE_TOKEN', 'authorization identity is not UTF-8');
    }
    this.state = 'done';
    return { done: { principal: this.accepted!.client, authzid, accepted: this.accepted!, gssFlags: this.flags } };
  }
}
