/**
 * The shared SASL layer's interface (../sasl/mechanism.ts on the imap
 * branch), repeated here until that layer lands; the mechanisms in this
 * folder implement it structurally.
 */
import type { Principal } from '@kpop/common';

export interface SaslOutcome {
  principal?: Principal;
  authcid: string;
  authzid: string;
  final?: Uint8Array;
}

export type SaslStep = { challenge: Uint8Array } | { done: SaslOutcome };

export interface SaslMechanism {
  readonly name: string;
  readonly serverFirst?: boolean;
  start?(): Promise<SaslStep>;
  step(response: Uint8Array): Promise<SaslStep>;
}

export class SaslError extends Error {
  constructor(message: string, readonly temporary = false, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'SaslError';
  }
}
