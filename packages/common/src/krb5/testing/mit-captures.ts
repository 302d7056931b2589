// Test support: the genuine MIT krb5 1.20 message captures of
// test/fixtures/mit (NN-*.hex, README there), and re-encoding a decoded
// message with the encoder of its own type (for the byte-identity checks).
import { readFileSync, readdirSync } from 'node:fs';
import { encodeAsRep, encodeAsReq, encodeKrbErrorMessage, encodeTgsRep, encodeTgsReq } from '../index.js';
import type { KrbMessage } from '../types.js';

const dir = new URL('../../../../../test/fixtures/mit/', import.meta.url);

/** The bytes of a hex fixture file. */
export function mitFixture(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(new URL(name, dir), 'utf8').trim(), 'hex'));
}

/** The names of the message captures (NN-….hex), in capture order. */
export const mitCaptureNames: readonly string[] = readdirSync(dir)
  .filter((f) => /^\d\d-.*\.hex$/.test(f))
  .sort();

/** m encoded again by its own type's encoder; the captures hold AS-REQ/REP, TGS-REQ/REP and KRB-ERROR only. */
export function reencode(m: KrbMessage): Uint8Array {
  switch (m.msgType) {
    case 10:
      return encodeAsReq(m as never);
    case 11:
      return encodeAsRep(m as never);
    case 12:
      return encodeTgsReq(m as never);
    case 13:
      return encodeTgsRep(m as never);
    case 30:
      return encodeKrbErrorMessage(m);
    default:
      throw new Error(`no capture of message type ${m.msgType}`);
  }
}
