/**
 * The framing of MIT's krb5 "sendauth" convenience protocol (no RFC; MIT
 * krb5 src/lib/krb5/krb/sendauth.c and recvauth.c are the specification,
 * protocols.md §2.3), which KPOP runs before POP3:
 *   C: len ‖ "KRB5_SENDAUTH_V1.0\0"   len ‖ "KPOPV1.0\0"   (one write)
 *   S: 1 byte: 0 ok, 1 bad sendauth version, 2 bad application version
 *   C: len ‖ AP-REQ
 *   S: len 0 (accepted) [then len ‖ AP-REP if mutual-required]
 *      or len ‖ KRB-ERROR, then close
 * Every len is a 4-byte big-endian integer (krb5_write_message).
 */
import { frameMessage, LengthPrefixedReader } from './framing.js';

export const SENDAUTH_VERSION = 'KRB5_SENDAUTH_V1.0';
export const KPOP_APP_VERSION = 'KPOPV1.0';

/** The one-byte answer to the two version strings. */
export const SendauthReply = { OK: 0, BAD_SENDAUTH_VERSION: 1, BAD_APP_VERSION: 2 } as const;

/** Largest AP-REQ we read (a ticket with a big PAC is a few KiB). */
export const MAX_SENDAUTH_MESSAGE = 64 * 1024;

const enc = new TextEncoder();

/** A NUL-terminated version string as sendauth sends it (the NUL is counted). */
export function versionString(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** What the client sends first: both version messages. */
export function encodeSendauthPreamble(appVersion = KPOP_APP_VERSION): Uint8Array {
  const a = frameMessage(versionString(SENDAUTH_VERSION));
  const b = frameMessage(versionString(appVersion));
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A version message as text without its NUL, or undefined if it isn't NUL-terminated printable ASCII. */
export function parseVersionString(msg: Uint8Array): string | undefined {
  if (msg.length < 2 || msg[msg.length - 1] !== 0) return undefined;
  const body = msg.subarray(0, msg.length - 1);
  if (!body.every((c) => c >= 0x20 && c < 0x7f)) return undefined;
  return String.fromCharCode(...body);
}

export const sendauthAccepted = (): Uint8Array => frameMessage(new Uint8Array(0));
export const sendauthRejected = (krbErrorDer: Uint8Array): Uint8Array => frameMessage(krbErrorDer);
export const sendauthApRep = (apRepDer: Uint8Array): Uint8Array => frameMessage(apRepDer);

/**
 * Reads the client's side of a sendauth exchange: the sendauth version, the
 * application version, the AP-REQ, in that order. Frames are reassembled by
 * LengthPrefixedReader; this class also keeps count of the bytes each frame
 * took, so that whatever follows the AP-REQ (the application protocol) is
 * handed back untouched instead of being parsed as another frame.
 */
export class SendauthServerReader {
  private readonly reader = new LengthPrefixedReader({ maxFrame: MAX_SENDAUTH_MESSAGE, rejectHighBit: false });
  private received = 0;
  private readonly head = new Uint8Array(4);
  private headFill = 0;
  private bodyLeft = 0;

  /** Frames received so far (0-3). */
  get count(): number {
    return this.received;
  }

  /** Whether part of a frame is buffered (a message under way). */
  get partial(): boolean {
    return this.headFill > 0;
  }

  /**
   * Add bytes; returns the frames this chunk completed and, once the third
   * frame is complete, `rest`: the bytes after it. Throws FramingError on a
   * length over MAX_SENDAUTH_MESSAGE.
   */
  push(chunk: Uint8Array): { frames: Uint8Array[]; rest?: Uint8Array } {
    const frames: Uint8Array[] = [];
    let pos = 0;
    while (pos < chunk.length && this.received < 3) {
      const start = pos;
      const headerWasComplete = this.headFill === 4;
      while (pos < chunk.length && this.headFill < 4) this.head[this.headFill++] = chunk[pos++]!;
      if (this.headFill === 4) {
        if (!headerWasComplete) this.bodyLeft = new DataView(this.head.buffer).getUint32(0);
        const take = Math.min(this.bodyLeft, chunk.length - pos);
        pos += take;
        this.bodyLeft -= take;
      }
      for (const f of this.reader.push(chunk.subarray(start, pos))) {
        frames.push(f);
        this.received++;
      }
      if (this.headFill === 4 && this.bodyLeft === 0) this.headFill = 0;
    }
    return this.received === 3 ? { frames, rest: chunk.subarray(pos) } : { frames };
  }
}
