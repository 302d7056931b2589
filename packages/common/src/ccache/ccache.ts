/**
 * MIT FILE credential cache codec (MIT doc/formats/ccache_file_format.rst), pure.
 *
 *   file       ::= 0x05 version(1..4) [header (v4 only)] principal credential*
 *   header     ::= length(u16) { tag(u16) length(u16) value }*
 *   principal  ::= [name-type(u32), not in v1] count(u32, v1 counts the realm) realm component*
 *   credential ::= client server keyblock authtime starttime endtime renew-till (u32 each)
 *                  is-skey(u8) ticket-flags(u32) addresses authdata ticket second-ticket
 *   keyblock   ::= enctype(u16) [enctype again in v3] data
 *   data       ::= length(u32) bytes
 *
 * Versions 3 and 4 are big-endian; 1 and 2 used the writer's native byte
 * order and are read (and written on request) in this host's order. There is
 * no credential count: credentials run to the end of the file.
 */
import { NameType } from '../krb5/principal.js';
import type { AuthorizationDataEntry, EncryptionKey, HostAddress, Principal } from '../krb5/types.js';
import { ByteReader, ByteWriter, FileFormatError, NATIVE_LITTLE_ENDIAN, checkUint, encodeUtf8, toU16 } from '../keytab/binary.js';

export interface Credential {
  client: Principal;
  server: Principal;
  /** The session key. */
  key: EncryptionKey;
  authtime: Date;
  /** MIT stores authtime here when the KDC sent no starttime. */
  starttime: Date;
  endtime: Date;
  /** new Date(0) when unset, as the file stores 0. */
  renewTill: Date;
  /** True for a user-to-user ticket (encrypted in a session key). */
  isSkey: boolean;
  /** TicketFlags as a uint32 (RFC bit n = 2 ** (31 - n)). */
  ticketFlags: number;
  addresses: HostAddress[];
  authdata: AuthorizationDataEntry[];
  /** DER Ticket; for a configuration entry, the configuration value. */
  ticket: Uint8Array;
  secondTicket: Uint8Array;
}

export interface HeaderField {
  tag: number;
  value: Uint8Array;
}

export interface Ccache {
  /** 4 (0x0504, what MIT writes) down to 1. */
  version: number;
  /** v4 header tag 1: KDC time minus local time, set when the clocks differ. */
  kdcOffset?: { seconds: number; microseconds: number };
  defaultPrincipal: Principal;
  credentials: Credential[];
  /** v4 header fields other than tag 1, kept so that rewriting a cache loses nothing. */
  headerFields?: HeaderField[];
}

/** Header tag 1 (ccache_file_format.rst "Header format"). */
export const HEADER_KDC_OFFSET = 1;

const littleEndianFor = (version: number): boolean => version <= 2 && NATIVE_LITTLE_ENDIAN;

function checkVersion(version: number, file: string): void {
  if (!Number.isInteger(version) || version < 1 || version > 4) throw new FileFormatError(file, 0, `unsupported credentials cache version ${version}`);
}

// ---------------------------------------------------------------- reading

function readData(r: ByteReader, what: string): Uint8Array {
  return r.bytesN(r.u32(`${what} length`), what);
}

function readPrincipal(r: ByteReader, version: number, what: string): Principal {
  const start = r.offset;
  const nameType = version === 1 ? NameType.NT_UNKNOWN : r.u32(`${what} name type`);
  let count = r.u32(`${what} component count`);
  if (version === 1) {
    if (count < 1) r.fail(`${what} has no realm`, start);
    count -= 1;
  }
  // Each component takes at least its 4-byte length: refuse absurd counts before allocating.
  if (count * 4 > r.remaining) r.fail(`${what} claims ${count} components, more than the file holds`, start);
  const realm = r.utf8N(r.u32(`${what} realm length`), `${what} realm`);
  const nameString: string[] = [];
  for (let i = 0; i < count; i++) nameString.push(r.utf8N(r.u32(`${what} component length`), `${what} component`));
  return { realm, name: { nameType, nameString } };
}

function readTime(r: ByteReader, what: string): Date {
  // Unsigned: MIT 1.17+ reads timestamps past 2038 as unsigned.
  return new Date(r.u32(what) * 1000);
}

function readList<T>(r: ByteReader, what: string, minSize: number, one: () => T): T[] {
  const at = r.offset;
  const n = r.u32(`${what} count`);
  if (n * minSize > r.remaining) r.fail(`${what} count ${n} is more than the file holds`, at);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(one());
  return out;
}

function readCredential(r: ByteReader, version: number): Credential {
  const client = readPrincipal(r, version, 'client');
  const server = readPrincipal(r, version, 'server');
  const keytype = r.u16('key enctype');
  if (version === 3) r.u16('key enctype (v3 copy)');
  const key: EncryptionKey = { keytype, keyvalue: readData(r, 'key') };
  const authtime = readTime(r, 'authtime');
  const starttime = readTime(r, 'starttime');
  const endtime = readTime(r, 'endtime');
  const renewTill = readTime(r, 'renew_till');
  const isSkey = r.u8('is_skey') !== 0;
  const ticketFlags = r.u32('ticket flags');
  const addresses = readList(r, 'address', 6, () => ({ addrType: r.u16('address type'), address: readData(r, 'address') }));
  const authdata = readList(r, 'authdata', 6, () => ({ adType: r.u16('authdata type'), adData: readData(r, 'authdata') }));
  const ticket = readData(r, 'ticket');
  const secondTicket = readData(r, 'second ticket');
  return { client, server, key, authtime, starttime, endtime, renewTill, isSkey, ticketFlags, addresses, authdata, ticket, secondTicket };
}

function readHeader(r: ByteReader, c: Ccache): void {
  const start = r.offset;
  const saved = r.enter(r.u16('header length'), 'ccache header', start);
  while (r.remaining > 0) {
    const at = r.offset;
    const tag = r.u16('header tag');
    const value = r.bytesN(r.u16('header field length'), 'header field');
    if (tag === HEADER_KDC_OFFSET) {
      if (value.length !== 8) r.fail(`KDC time offset field has length ${value.length}, not 8`, at);
      const dv = new DataView(value.buffer, value.byteOffset, 8);
      c.kdcOffset = { seconds: dv.getInt32(0), microseconds: dv.getInt32(4) };
    } else {
      // Unknown tags are to be ignored (format spec); keep them to write them back.
      (c.headerFields ??= []).push({ tag, value });
    }
  }
  r.leave(saved);
}

/** Parse a ccache file's bytes. `file` names the file in error messages. */
export function parseCcache(bytes: Uint8Array, file = 'credentials cache'): Ccache {
  if (bytes.length < 2) throw new FileFormatError(file, 0, 'not a credentials cache: file is shorter than its 2-byte version', true);
  if (bytes[0] !== 5) throw new FileFormatError(file, 0, `not a credentials cache: first byte is 0x${bytes[0]!.toString(16)}, not 0x05`);
  const version = bytes[1]!;
  checkVersion(version, file);
  const r = new ByteReader(bytes, littleEndianFor(version), file);
  r.offset = 2;
  const c = { version } as Ccache;
  if (version === 4) readHeader(r, c);
  c.defaultPrincipal = readPrincipal(r, version, 'default principal');
  c.credentials = [];
  while (r.remaining > 0) c.credentials.push(readCredential(r, version));
  return c;
}

// ---------------------------------------------------------------- writing

function writeData(w: ByteWriter, b: Uint8Array, what: string): void {
  w.u32(checkUint(b.length, 32, `${what} length`));
  w.bytes(b);
}

function writePrincipal(w: ByteWriter, p: Principal, version: number): void {
  const comps = p.name.nameString;
  if (version !== 1) w.u32(checkUint(p.name.nameType >>> 0, 32, 'name type'));
  w.u32(comps.length + (version === 1 ? 1 : 0));
  writeData(w, encodeUtf8(p.realm), 'realm');
  for (const s of comps) writeData(w, encodeUtf8(s), 'principal component');
}

function writeTime(w: ByteWriter, d: Date, what: string): void {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new FileFormatError('credentials cache', w.length, `${what} is an invalid Date`);
  w.u32(checkUint(Math.floor(ms / 1000), 32, what));
}

/** A config entry built without a client (makeConfigEntry) takes the cache's default principal. */
function isUnsetPrincipal(p: Principal): boolean {
  return p.realm === '' && p.name.nameString.length === 0;
}

function writeCredential(w: ByteWriter, c: Credential, version: number, defaultPrincipal: Principal): void {
  writePrincipal(w, isUnsetPrincipal(c.client) ? defaultPrincipal : c.client, version);
  writePrincipal(w, c.server, version);
  w.u16(toU16(c.key.keytype, 'key enctype'));
  if (version === 3) w.u16(toU16(c.key.keytype, 'key enctype'));
  writeData(w, c.key.keyvalue, 'key');
  writeTime(w, c.authtime, 'authtime');
  writeTime(w, c.starttime, 'starttime');
  writeTime(w, c.endtime, 'endtime');
  writeTime(w, c.renewTill, 'renew_till');
  w.u8(c.isSkey ? 1 : 0);
  w.u32(checkUint(c.ticketFlags >>> 0, 32, 'ticket flags'));
  w.u32(c.addresses.length);
  for (const a of c.addresses) {
    w.u16(toU16(a.addrType, 'address type'));
    writeData(w, a.address, 'address');
  }
  w.u32(c.authdata.length);
  for (const ad of c.authdata) {
    w.u16(toU16(ad.adType, 'authdata type'));
    writeData(w, ad.adData, 'authdata');
  }
  writeData(w, c.ticket, 'ticket');
  writeData(w, c.secondTicket, 'second ticket');
}

function writeHeader(w: ByteWriter, c: Ccache): void {
  const fields: HeaderField[] = [];
  if (c.kdcOffset) {
    const v = new Uint8Array(8);
    const dv = new DataView(v.buffer);
    dv.setInt32(0, c.kdcOffset.seconds);
    dv.setInt32(4, c.kdcOffset.microseconds);
    fields.push({ tag: HEADER_KDC_OFFSET, value: v });
  }
  fields.push(...(c.headerFields ?? []));
  const total = fields.reduce((n, f) => n + 4 + f.value.length, 0);
  w.u16(checkUint(total, 16, 'ccache header length'));
  for (const f of fields) {
    w.u16(checkUint(f.tag, 16, 'header tag'));
    w.u16(checkUint(f.value.length, 16, 'header field length'));
    w.bytes(f.value);
  }
}

/** Serialise a ccache (version 4 unless `c.version` says otherwise). */
export function serializeCcache(c: Ccache): Uint8Array {
  const version = c.version ?? 4;
  checkVersion(version, 'credentials cache');
  const w = new ByteWriter(littleEndianFor(version));
  w.u8(0x05);
  w.u8(version);
  if (version === 4) writeHeader(w, c);
  writePrincipal(w, c.defaultPrincipal, version);
  for (const cred of c.credentials) writeCredential(w, cred, version, c.defaultPrincipal);
  return w.finish();
}
