/**
 * The SASL exchange driver (RFC 4422 §3), the same for POP3 AUTH (RFC 5034
 * §4) and IMAP AUTHENTICATE (RFC 3501 §6.2.2, RFC 4959): each protocol
 * supplies only its framing, a SaslTransport that sends a challenge (POP3
 * and IMAP both "+ base64") and reads the client's line back.
 */
import { decodeBase64 } from './base64.js';
import { SaslError, type SaslMechanism, type SaslOutcome } from './mechanism.js';

export interface SaslTransport {
  /**
   * Sends a challenge and resolves with the client's answer line (without
   * CRLF); null when the connection is gone; a symbol (the protocol's
   * TOO_LONG marker) when the line overran the protocol's limit.
   */
  challenge(data: Uint8Array): Promise<string | symbol | null>;
}

export type SaslResult =
  | { status: 'ok'; outcome: SaslOutcome }
  /** The client answered "*" (RFC 4422 §3.5): the protocol replies with its own refusal. */
  | { status: 'aborted' }
  /** The connection went away mid-exchange. */
  | { status: 'gone' };

/**
 * Runs one exchange. `initial` is the initial response (undefined = none;
 * an empty array = present but empty, POP3's and IMAP's "="). Throws
 * SaslError when authentication fails (bad base64, bad proof, …).
 */
export async function runSaslExchange(mech: SaslMechanism, initial: Uint8Array | undefined, transport: SaslTransport): Promise<SaslResult> {
  const ask = async (data: Uint8Array): Promise<Uint8Array | 'aborted' | 'gone'> => {
    const line = await transport.challenge(data);
    if (line === null) return 'gone';
    if (typeof line !== 'string') throw new SaslError('Response too long');
    const t = line.trim();
    if (t === '*') return 'aborted';
    const bytes = decodeBase64(t);
    if (!bytes) throw new SaslError('Invalid base64 in response');
    return bytes;
  };

  let input: Uint8Array | 'aborted' | 'gone';
  if (mech.serverFirst) {
    if (initial !== undefined && initial.length > 0) throw new SaslError(`${mech.name} takes no initial response`);
    const first = await mech.start!();
    if ('done' in first) return finish(first.done);
    input = await ask(first.challenge);
  } else {
    input = initial ?? (await ask(new Uint8Array(0)));
  }
  for (;;) {
    if (input === 'aborted') return { status: 'aborted' };
    if (input === 'gone') return { status: 'gone' };
    const step = await mech.step(input);
    if ('done' in step) return finish(step.done);
    input = await ask(step.challenge);
  }

  async function finish(outcome: SaslOutcome): Promise<SaslResult> {
    if (!outcome.final) return { status: 'ok', outcome };
    // RFC 4422 §5 (7): without "additional data with success", the
    // server-final message is a challenge whose answer must be empty.
    const ack = await ask(outcome.final);
    if (ack === 'aborted') return { status: 'aborted' };
    if (ack === 'gone') return { status: 'gone' };
    if (ack.length !== 0) throw new SaslError('Non-empty response to the server-final message');
    return { status: 'ok', outcome };
  }
}
