/**
 * NTLM messages (MS-NLMP §2.2.1): NEGOTIATE (Type 1) and AUTHENTICATE
 * (Type 3) parsed, CHALLENGE (Type 2) built. Pure functions; every length
 * and offset is checked against the message, so hostile input only ever
 * raises NtlmFormatError.
 */

export const SIGNATURE = new Uint8Array([0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00]); // "NTLMSSP\0"

/** §2.2.2.5 NegotiateFlags used here. */
export const Flags = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
} as const;

/** §2.2.2.1 AV_PAIR ids. */
export const AvId = { EOL: 0, NbComputerName: 1, NbDomainName: 2, DnsComputerName: 3, DnsDomainName: 4, Timestamp: 7 } as const;

export class NtlmFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NtlmFormatError';
  }
}

function header(msg: Uint8Array, type: number): DataView {
  if (msg.length < 12) throw new NtlmFormatError('NTLM message too short');
  for (let i = 0; i < 8; i++) if (msg[i] !== SIGNATURE[i]) throw new NtlmFormatError('not an NTLMSSP message');
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  if (v.getUint32(8, true) !== type) throw new NtlmFormatError(`expected an NTLM type ${type} message`);
  return v;
}

/** §2.2.1: a (Len, MaxLen, Offset) field; the bytes it points to. */
function field(msg: Uint8Array, v: DataView, at: number): Uint8Array {
  if (at + 8 > msg.length) throw new NtlmFormatError('NTLM message truncated');
  const len = v.getUint16(at, true);
  const off = v.getUint32(at + 4, true);
  if (len === 0) return new Uint8Array(0);
  if (off > msg.length || off + len > msg.length) throw new NtlmFormatError('NTLM field outside the message');
  return msg.subarray(off, off + len);
}

export interface Negotiate {
  flags: number;
}

export function parseNegotiate(msg: Uint8Array): Negotiate {
  const v = header(msg, 1);
  if (msg.length < 16) throw new NtlmFormatError('NTLM NEGOTIATE truncated');
  return { flags: v.getUint32(12, true) };
}

export interface Authenticate {
  flags: number;
  lmResponse: Uint8Array;
  ntResponse: Uint8Array;
  domain: string;
  user: string;
  workstation: string;
}

/** Strings are UTF-16LE when NEGOTIATE_UNICODE was agreed, else OEM (Latin-1 here). */
function text(b: Uint8Array, unicode: boolean): string {
  if (unicode) {
    if (b.length % 2) throw new NtlmFormatError('odd-length UTF-16 string');
    return Buffer.from(b).toString('utf16le');
  }
  return Buffer.from(b).toString('latin1');
}

export function parseAuthenticate(msg: Uint8Array, negotiatedUnicode: boolean): Authenticate {
  const v = header(msg, 3);
  if (msg.length < 52) throw new NtlmFormatError('NTLM AUTHENTICATE truncated');
  // Old clients (fetchmail's libntlm) end the header after the session key field: flags are optional.
  const flags = msg.length >= 64 ? v.getUint32(60, true) : 0;
  const unicode = flags ? (flags & Flags.UNICODE) !== 0 : negotiatedUnicode;
  const a: Authenticate = {
    flags,
    lmResponse: field(msg, v, 12),
    ntResponse: field(msg, v, 20),
    domain: text(field(msg, v, 28), unicode),
    user: text(field(msg, v, 36), unicode),
    workstation: text(field(msg, v, 44), unicode),
  };
  if (!a.user) throw new NtlmFormatError('NTLM AUTHENTICATE without a user name');
  return a;
}

export interface ChallengeSpec {
  flags: number;
  serverChallenge: Uint8Array;
  targetName: string;
  targetInfo: Uint8Array;
}

/** §2.2.1.2 CHALLENGE_MESSAGE, without the VERSION field (we do not set NEGOTIATE_VERSION). */
export function buildChallenge(c: ChallengeSpec): Uint8Array {
  const unicode = (c.flags & Flags.UNICODE) !== 0;
  const name = unicode ? Buffer.from(c.targetName, 'utf16le') : Buffer.from(c.targetName, 'latin1');
  const base = 48;
  const out = Buffer.alloc(base + name.length + c.targetInfo.length);
  Buffer.from(SIGNATURE).copy(out, 0);
  out.writeUInt32LE(2, 8);
  out.writeUInt16LE(name.length, 12);
  out.writeUInt16LE(name.length, 14);
  out.writeUInt32LE(base, 16);
  out.writeUInt32LE(c.flags >>> 0, 20);
  Buffer.from(c.serverChallenge).copy(out, 24);
  // 32..39 reserved (zero)
  out.writeUInt16LE(c.targetInfo.length, 40);
  out.writeUInt16LE(c.targetInfo.length, 42);
  out.writeUInt32LE(base + name.length, 44);
  name.copy(out, base);
  Buffer.from(c.targetInfo).copy(out, base + name.length);
  return new Uint8Array(out);
}

/** §2.2.2.1: AV_PAIRs (values UTF-16LE) ending with MsvAvEOL. */
export function buildTargetInfo(pairs: Array<[number, string]>): Uint8Array {
  const parts: Buffer[] = [];
  for (const [id, value] of pairs) {
    const v = Buffer.from(value, 'utf16le');
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(v.length, 2);
    parts.push(h, v);
  }
  parts.push(Buffer.alloc(4));
  return new Uint8Array(Buffer.concat(parts));
}
