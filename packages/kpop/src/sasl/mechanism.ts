/**
 * The SASL layer (RFC 4422) shared by POP3 AUTH (RFC 5034) and IMAP
 * AUTHENTICATE (RFC 3501 §6.2.2, SASL-IR RFC 4959). This file is the
 * interface every mechanism implements; keep it stable (additions only).
 *
 *   SaslMechanismFactory  one per mechanism name, registered per listener in
 *                         a SaslRegistry (./registry.ts): `create(ctx)` makes
 *                         a fresh SaslMechanism for one exchange; `plaintext`
 *                         marks mechanisms that expose a password (or a
 *                         password-equivalent) and are offered only inside
 *                         TLS unless the listener allows plaintext auth.
 *   SaslMechanism         one exchange, a state machine:
 *                         - client-first (PLAIN, GSSAPI, SCRAM): the driver
 *                           calls step(initial response or the answer to an
 *                           empty challenge);
 *                         - server-first (CRAM-MD5, LOGIN): `serverFirst` is
 *                           true; the driver calls start() for the first
 *                           challenge and refuses an initial response
 *                           (RFC 4422 §4: a mechanism that is server-first
 *                           has no initial response);
 *                         step() returns { challenge } (sent to the client,
 *                         whose answer comes to the next step()) or
 *                         { done: SaslOutcome }, or throws SaslError.
 *   SaslOutcome           who authenticated: `principal` when a Kerberos
 *                         principal was proved (GSSAPI, or a password the KDC
 *                         checked), else only `authcid`, a plain user name
 *                         (mechanisms with local secrets: CRAM-MD5, APOP,
 *                         SCRAM, NTLM); `authzid` (RFC 4422 §3.4.1, '' = act
 *                         as yourself); `final`: a server-final message
 *                         (SCRAM's "v=…", RFC 5802 §5) that the driver sends
 *                         as one more challenge, expecting an empty answer,
 *                         before the protocol's success reply (neither POP3
 *                         nor IMAP4rev1 carries data with success).
 *   runSaslExchange       (./exchange.ts) drives a mechanism over a protocol's
 *                         framing (SaslTransport): "+ base64" challenges, one
 *                         base64 line back, "*" aborts.
 */
import type { Principal } from '@kpop/common';

export interface SaslOutcome {
  /** The Kerberos principal proved, when the mechanism proves one. */
  principal?: Principal;
  /** The authentication identity as the client named it (a user name or a principal's text). */
  authcid: string;
  /** RFC 4422 §3.4.1 authorization identity ('' = act as yourself). */
  authzid: string;
  /** Server-final data sent as a last challenge before success (SCRAM). */
  final?: Uint8Array;
}

export type SaslStep = { challenge: Uint8Array } | { done: SaslOutcome };

export interface SaslMechanism {
  readonly name: string;
  /** True for mechanisms whose first message comes from the server (CRAM-MD5, LOGIN). */
  readonly serverFirst?: boolean;
  /** Server-first mechanisms: the first challenge. */
  start?(): Promise<SaslStep>;
  /** The client's response (or initial response) to the last challenge. */
  step(response: Uint8Array): Promise<SaslStep>;
}

/** What a mechanism may need to know about the connection it runs on. */
export interface SaslContext {
  /** The connection is inside TLS. */
  tls: boolean;
  /** The protocol's service name ("pop", "imap"), as in pop/HOST, imap/HOST. */
  service: string;
  /** Our host name (CRAM-MD5 challenges, SCRAM nonces). */
  hostname: string;
  /** TLS channel binding data (RFC 5929 tls-unique / RFC 9266 tls-exporter) when available. */
  channelBinding?: { type: string; data: Uint8Array };
}

export interface SaslMechanismFactory {
  readonly name: string;
  /** Exposes a password or its equivalent on the wire: offered only inside TLS (unless allowed). */
  readonly plaintext: boolean;
  /** Server-first (no initial response accepted). */
  readonly serverFirst?: boolean;
  create(ctx: SaslContext): SaslMechanism;
}

/** A SASL failure whose message is logged (the client sees only the protocol's generic refusal). */
export class SaslError extends Error {
  constructor(message: string, readonly temporary = false, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'SaslError';
  }
}

/** Checks a user's password (against the KDC) and returns the principal. */
export type PasswordVerifier = (user: string, password: string) => Promise<Principal>;
