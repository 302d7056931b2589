/**
 * MIT FILE keytab codec (MIT doc/formats/keytab_file_format.rst), pure.
 *
 *   file   ::= 0x05 version(1|2) { record-length(i32) (entry | hole) }* [0 | EOF]
 *   entry  ::= principal timestamp(u32) kvno(u8) enctype(u16) keylen(u16) key
 *              [kvno(u32), present when at least 4 bytes of the record remain]
 *   principal ::= count(u16) realm component* name-type(u32)
 *
 * Version 0x0502 is big-endian. Version 0x0501 used the writer's native byte
 * order, counted the realm among the components and had no name type; it is
 * read (and written on request) with the native order of this host.
 * A negative record length marks a deleted slot (a zero-filled hole of that
 * many bytes), skipped on reading. A record may be longer than its entry when
 * the entry was written into a larger hole; the slack is ignored.
 */
import { NameType, principalEquals } from '../krb5/principal.js';
import type { EncryptionKey, Principal } from '../krb5/types.js';
import { ByteReader, ByteWriter, FileFormatError, NATIVE_LITTLE_ENDIAN, checkUint, encodeUtf8, toU16 } from './binary.js';

export const KEYTAB_V1 = 0x0501;
export const KEYTAB_V2 = 0x0502;

export interface KeytabEntry {
  principal: Principal;
  /** When the key was written (whole seconds). */
  timestamp: Date;
  /** Full key version number (the 32-bit field when present, else the 8-bit one). */
  kvno: number;
  key: EncryptionKey;
}

export interface Keytab {
  /** 0x0502 (every current writer) or 0x0501. */
  version: number;
  entries: KeytabEntry[];
}


function readPrincipal(r: ByteReader, version: number): Principal {
  const start = r.offset;
  let count = r.u16('component count');
  if (version === KEYTAB_V1) {
    // v1 counted the realm as a component.
    if (count < 1) r.fail('principal has no realm', start);
    count -= 1;
  }
  const realm = r.utf8N(r.u16('realm length'), 'realm');
  const nameString: string[] = [];
  for (let i = 0; i < count; i++) nameString.push(r.utf8N(r.u16('component length'), 'principal component'));
  const nameType = version === KEYTAB_V1 ? NameType.NT_UNKNOWN : r.u32('name type');
  return { realm, name: { nameType, nameString } };
}

function readEntry(r: ByteReader, version: number): KeytabEntry {
  const principal = readPrincipal(r, version);
  const timestamp = new Date(r.u32('timestamp') * 1000);
  const kvno8 = r.u8('kvno');
  const keytype = r.u16('enctype');
  const keyvalue = r.bytesN(r.u16('key length'), 'key');
  let kvno = kvno8;
  // MIT 1.14+: the 32-bit kvno overrides the 8-bit one when present and non-zero.
  if (r.remaining >= 4) {
    const kvno32 = r.u32('32-bit kvno');
    if (kvno32 !== 0) kvno = kvno32;
  }
  return { principal, timestamp, kvno, key: { keytype, keyvalue } };
}

/** Parse a keytab file's bytes. `file` names the file in error messages. */
export function parseKeytab(bytes: Uint8Array, file = 'keytab'): Keytab {
  if (bytes.length < 2) throw new FileFormatError(file, 0, 'not a keytab: file is shorter than its 2-byte version', true);
  const version = (bytes[0]! << 8) | bytes[1]!;
  if (version !== KEYTAB_V1 && version !== KEYTAB_V2) {
    throw new FileFormatError(file, 0, `not a keytab: unsupported version 0x${version.toString(16).padStart(4, '0')}`);
  }
  const r = new ByteReader(bytes, version === KEYTAB_V1 ? NATIVE_LITTLE_ENDIAN : false, file);
  r.offset = 2;
  const entries: KeytabEntry[] = [];
  // A file may end without the 0 terminator; MIT also treats a 1–3 byte tail
  // as the end (its fread of the length fails), so do we.
  while (r.remaining >= 4) {
    const at = r.offset;
    const size = r.i32('record length');
    if (size === 0) break; // explicit end of the keytab
    if (size < 0) {
      r.skip(-size, 'deleted slot'); // hole left by a removed entry
      continue;
    }
    const saved = r.enter(size, 'keytab record', at);
    entries.push(readEntry(r, version));
    r.leave(saved); // any slack after the entry (a record reusing a larger hole) is skipped
  }
  return { version, entries };
}

function writePrincipal(w: ByteWriter, p: Principal, version: number): void {
  const comps = p.name.nameString.map(encodeUtf8);
  const realm = encodeUtf8(p.realm);
  w.u16(checkUint(comps.length + (version === KEYTAB_V1 ? 1 : 0), 16, 'principal component count'));
  w.u16(checkUint(realm.length, 16, 'realm length'));
  w.bytes(realm);
  for (const c of comps) {
    w.u16(checkUint(c.length, 16, 'principal component length'));
    w.bytes(c);
  }
  if (version !== KEYTAB_V1) w.u32(checkUint(p.name.nameType >>> 0, 32, 'name type'));
}

/** One entry as MIT writes it, 32-bit kvno included. */
function writeEntry(w: ByteWriter, e: KeytabEntry, version: number): void {
  writePrincipal(w, e.principal, version);
  w.u32(checkUint(Math.floor(e.timestamp.getTime() / 1000), 32, 'keytab timestamp'));
  checkUint(e.kvno, 32, 'kvno');
  w.u8(e.kvno & 0xff); // the low byte, as MIT stores it; the u32 below carries the rest
  w.u16(toU16(e.key.keytype, 'enctype'));
  w.u16(checkUint(e.key.keyvalue.length, 16, 'key length'));
  w.bytes(e.key.keyvalue);
  w.u32(e.kvno);
}

/** Serialise a keytab: records back to back, no holes, no terminator (as MIT's ktadd leaves it). */
export function serializeKeytab(kt: Keytab): Uint8Array {
  const version = kt.version ?? KEYTAB_V2;
  if (version !== KEYTAB_V1 && version !== KEYTAB_V2) {
    throw new FileFormatError('keytab', 0, `cannot write keytab version 0x${version.toString(16)}`);
  }
  const w = new ByteWriter(version === KEYTAB_V1 ? NATIVE_LITTLE_ENDIAN : false);
  // The leading 0x05 and version byte are single bytes, so byte order does not matter.
  w.u8(0x05);
  w.u8(version & 0xff);
  for (const e of kt.entries) {
    const at = w.length;
    w.i32(0);
    writeEntry(w, e, version);
    w.patchI32(at, w.length - at - 4);
  }
  return w.finish();
}

/**
 * The key for `principal` and `etype`: with `kvno`, exactly that version;
 * without, the highest version held (what MIT's krb5_kt_get_entry does for
 * kvno 0). Principals compare without their name type (RFC 4120 §6.2), since
 * clients such as fetchmail name pop/HOST with NT_UNKNOWN.
 */
export function findKeytabKey(kt: Keytab, principal: Principal, etype: number, kvno?: number): KeytabEntry | undefined {
  let best: KeytabEntry | undefined;
  for (const e of kt.entries) {
    if (e.key.keytype !== etype || !principalEquals(e.principal, principal)) continue;
    if (kvno !== undefined) {
      if (e.kvno === kvno) return e;
    } else if (best === undefined || e.kvno > best.kvno) {
      best = e;
    }
  }
  return best;
}
