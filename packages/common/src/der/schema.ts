/**
 * ASN.1 types as data, and one interpreter that encodes and decodes them in
 * DER. A Kerberos type is written once, close to its RFC text:
 *
 *   const EncryptionKey = seq('EncryptionKey', [
 *     field('keytype', 0, Int32),
 *     field('keyvalue', 1, OctetString),
 *   ]);
 *
 * Every field is an EXPLICIT context tag, as in RFC 4120's module
 * (`DEFINITIONS EXPLICIT TAGS`); JS property names are the ASN.1 names in
 * camelCase. Decoding is strict (see reader.ts), rejects unknown or
 * out-of-order fields (they could not be re-encoded, so accepting them would
 * lose bytes), and names the failing field in the DerError path.
 */
import { DerError, rethrowWithin } from './errors.js';
import {
  Tag,
  applicationTag,
  contextTag,
  decodeBooleanContent,
  decodeFlagsContent,
  decodeIntegerContent,
  decodeStringContent,
  decodeTimeContent,
  header,
  readHeaderInto,
  tagName,
} from './reader.js';
import { pooledCopy } from './pool.js';
import { DerWriter } from './writer.js';

export interface IntSchema {
  readonly kind: 'int';
  /** The ASN.1 type name, for messages: Int32, UInt32, Microseconds. */
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /**
   * Also accept -2^31..-1 on decode and read them as the unsigned value.
   * MIT (decode_seqno in asn1_k_encode.c) does this for sequence numbers
   * because old implementations encoded them as signed 32-bit integers.
   */
  readonly wrapNegative?: boolean;
}
export interface BooleanSchema { readonly kind: 'bool' }
export interface OctetsSchema { readonly kind: 'octets' }
export interface StringSchema { readonly kind: 'string'; readonly tag: number }
export interface TimeSchema { readonly kind: 'time' }
export interface FlagsSchema { readonly kind: 'flags' }
export interface SeqSchema {
  readonly kind: 'seq';
  /** The ASN.1 type name, which starts error paths when decoded on its own. */
  readonly name: string;
  readonly fields: readonly Field[];
  /** [APPLICATION n] wrapped around the SEQUENCE, if any. */
  readonly app?: number;
}
export interface SeqOfSchema { readonly kind: 'seqOf'; readonly of: Schema }
/**
 * A CHOICE of EXPLICIT-tagged alternatives, as RFC 6113 uses for FAST
 * (`PA-FX-FAST-REQUEST ::= CHOICE { armored-data [0] KrbFastArmoredReq, ... }`).
 * Its value is an object with exactly one property, the chosen alternative's.
 */
export interface ChoiceSchema {
  readonly kind: 'choice';
  readonly name: string;
  readonly alternatives: readonly Field[];
}
export type Schema = IntSchema | BooleanSchema | OctetsSchema | StringSchema | TimeSchema | FlagsSchema | SeqSchema | SeqOfSchema | ChoiceSchema;

export interface Field {
  /** ASN.1 name, e.g. `req-body`. */
  readonly name: string;
  /** JS property, e.g. `reqBody`. */
  readonly key: string;
  /** The context tag number n of `[n]`. */
  readonly tag: number;
  readonly tagByte: number;
  readonly schema: Schema;
  readonly optional: boolean;
  /** The only value allowed (msg-type must match the APPLICATION tag). */
  readonly equals?: number;
  /** On decode, also store the field's DER bytes (a subarray) under this key. */
  readonly capture?: string;
}

export const Int32: IntSchema = { kind: 'int', name: 'Int32', min: -0x80000000, max: 0x7fffffff };
export const UInt32: IntSchema = { kind: 'int', name: 'UInt32', min: 0, max: 0xffffffff };
/** UInt32 that also accepts the signed encodings old peers send (see IntSchema.wrapNegative). */
export const SeqNumber: IntSchema = { kind: 'int', name: 'UInt32', min: 0, max: 0xffffffff, wrapNegative: true };
/**
 * RFC 4120 §5.4.1 gives nonces as UInt32, but Heimdal (krb5.asn1: `nonce
 * [7] krb5int32`) sends its random 32-bit TGS nonce as a signed INTEGER,
 * negative half the time, and MIT's KDC (decoding it as krb5_int32) serves
 * it. So a nonce is any 32-bit value in either reading, -2^31..2^32-1, and is
 * kept as sent, not wrapped: the reply echoes the same INTEGER (the same
 * bytes), which is what the client compares with. Only nonces get this: every
 * other UInt32 stays strict (seq-numbers have SeqNumber's narrower leniency).
 */
export const Nonce: IntSchema = { kind: 'int', name: 'nonce (UInt32, or Int32 as Heimdal sends it)', min: -0x80000000, max: 0xffffffff };
/** RFC 4120 §5.2.4: Microseconds ::= INTEGER (0..999999) */
export const Microseconds: IntSchema = { kind: 'int', name: 'Microseconds', min: 0, max: 999999 };
export const Bool: BooleanSchema = { kind: 'bool' };
export const OctetString: OctetsSchema = { kind: 'octets' };
/** RFC 4120 §5.2.1: KerberosString ::= GeneralString (IA5String) */
export const KerberosStringSchema: StringSchema = { kind: 'string', tag: Tag.GeneralString };
export const IA5String: StringSchema = { kind: 'string', tag: Tag.IA5String };
/** RFC 4120 §5.2.3 */
export const KerberosTimeSchema: TimeSchema = { kind: 'time' };
/** RFC 4120 §5.2.8 */
export const KerberosFlagsSchema: FlagsSchema = { kind: 'flags' };

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export interface FieldOptions {
  optional?: boolean;
  equals?: number;
  capture?: string;
  /** JS property name when it is not camelCase(name). */
  key?: string;
}

/** `name [tag] schema` */
export function field(name: string, tag: number, schema: Schema, options: FieldOptions = {}): Field {
  return {
    name,
    key: options.key ?? camel(name),
    tag,
    tagByte: contextTag(tag),
    schema,
    optional: options.optional ?? false,
    ...(options.equals !== undefined ? { equals: options.equals } : {}),
    ...(options.capture !== undefined ? { capture: options.capture } : {}),
  };
}

/** `name [tag] schema OPTIONAL` */
export function optional(name: string, tag: number, schema: Schema, options: FieldOptions = {}): Field {
  return field(name, tag, schema, { ...options, optional: true });
}

/** `Name ::= [APPLICATION app] SEQUENCE { fields }` (app omitted: a plain SEQUENCE). */
export function seq(name: string, fields: Field[], app?: number): SeqSchema {
  for (let i = 1; i < fields.length; i++) {
    if (fields[i]!.tag <= fields[i - 1]!.tag) throw new Error(`${name}: fields must be in tag order`);
  }
  return app === undefined ? { kind: 'seq', name, fields } : { kind: 'seq', name, fields, app };
}

/** `SEQUENCE OF of` */
export function seqOf(of: Schema): SeqOfSchema {
  return { kind: 'seqOf', of };
}

/** `Name ::= CHOICE { alternatives }`, each alternative `name [tag] Type`. */
export function choice(name: string, alternatives: Field[]): ChoiceSchema {
  return { kind: 'choice', name, alternatives };
}

/** Nesting allowed while decoding; RFC 4120 types need fewer than 16 levels. */
export const MAX_DEPTH = 32;

// Set by decodeElement: the offset just past the element it read.
let cursor = 0;

/** What a schema expects, for error messages (built only when there is an error). */
function expected(s: Schema): string {
  switch (s.kind) {
    case 'int':
      return `INTEGER (${s.name})`;
    case 'bool':
      return 'BOOLEAN';
    case 'octets':
      return 'OCTET STRING';
    case 'string':
      return tagName(s.tag);
    case 'time':
      return 'GeneralizedTime (KerberosTime)';
    case 'flags':
      return 'BIT STRING (KerberosFlags)';
    case 'seq':
      return s.app === undefined ? `SEQUENCE (${s.name})` : `[APPLICATION ${s.app}] (${s.name})`;
    case 'seqOf':
      return 'SEQUENCE OF';
    case 'choice':
      return `CHOICE (${s.name})`;
  }
}

/** Checks the tag at pos (before trusting its length) and reads the header into `header`. */
function openElement(buf: Uint8Array, pos: number, limit: number, tag: number, s: Schema | null): void {
  if (pos < limit && buf[pos] !== tag) throw new DerError(`expected ${s === null ? tagName(tag) : expected(s)}, found ${tagName(buf[pos]!)}`);
  readHeaderInto(buf, pos, limit);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function decodeElement(s: Schema, buf: Uint8Array, pos: number, limit: number, depth: number): any {
  if (depth > MAX_DEPTH) throw new DerError(`nesting deeper than ${MAX_DEPTH}`);
  switch (s.kind) {
    case 'int': {
      openElement(buf, pos, limit, Tag.INTEGER, s);
      cursor = header.end;
      let v = decodeIntegerContent(buf, header.start, header.end);
      if (s.wrapNegative && v < 0 && v >= -0x80000000) v = v >>> 0;
      if (v < s.min || v > s.max) throw new DerError(`${v} is out of range for ${s.name}`);
      return v;
    }
    case 'bool':
      openElement(buf, pos, limit, Tag.BOOLEAN, s);
      cursor = header.end;
      return decodeBooleanContent(buf, header.start, header.end);
    case 'octets':
      openElement(buf, pos, limit, Tag.OCTET_STRING, s);
      cursor = header.end;
      // A view into decodeWith's private copy of the input (see there).
      return buf.subarray(header.start, header.end);
    case 'string':
      openElement(buf, pos, limit, s.tag, s);
      cursor = header.end;
      return decodeStringContent(buf, header.start, header.end);
    case 'time':
      openElement(buf, pos, limit, Tag.GeneralizedTime, s);
      cursor = header.end;
      return decodeTimeContent(buf, header.start, header.end);
    case 'flags':
      openElement(buf, pos, limit, Tag.BIT_STRING, s);
      cursor = header.end;
      return decodeFlagsContent(buf, header.start, header.end);
    case 'seq': {
      let end: number;
      if (s.app !== undefined) {
        openElement(buf, pos, limit, applicationTag(s.app), s);
        end = header.end;
        openElement(buf, header.start, end, Tag.SEQUENCE, null);
        if (header.end !== end) throw new DerError(`trailing bytes inside [APPLICATION ${s.app}]`);
      } else {
        openElement(buf, pos, limit, Tag.SEQUENCE, s);
        end = header.end;
      }
      const value = decodeFields(s, buf, header.start, end, depth);
      cursor = end;
      return value;
    }
    case 'seqOf': {
      openElement(buf, pos, limit, Tag.SEQUENCE, s);
      const end = header.end;
      const out: any[] = [];
      let p = header.start;
      try {
        while (p < end) {
          out.push(decodeElement(s.of, buf, p, end, depth + 1));
          p = cursor;
        }
      } catch (e) {
        rethrowWithin(e, `[${out.length}]`);
      }
      cursor = end;
      return out;
    }
    case 'choice': {
      const f = pos < limit ? s.alternatives.find((a) => a.tagByte === buf[pos]) : undefined;
      if (f === undefined) throw new DerError(pos < limit ? `${tagName(buf[pos]!)} is not an alternative of ${s.name}` : `truncated: expected ${s.name}`);
      readHeaderInto(buf, pos, limit);
      const end = header.end;
      let value: any;
      try {
        value = decodeElement(f.schema, buf, header.start, end, depth + 1);
        if (cursor !== end) throw new DerError(`trailing bytes inside [${f.tag}]`);
      } catch (e) {
        rethrowWithin(e, f.name);
      }
      cursor = end;
      return { [f.key]: value };
    }
  }
}

function decodeFields(s: SeqSchema, buf: Uint8Array, start: number, end: number, depth: number): any {
  const obj: any = {};
  const fields = s.fields;
  let p = start;
  let i = 0;
  try {
    for (; i < fields.length; i++) {
      const f = fields[i]!;
      if (p < end && buf[p] === f.tagByte) {
        readHeaderInto(buf, p, end);
        const cs = header.start;
        const ce = header.end;
        const v = decodeElement(f.schema, buf, cs, ce, depth + 1);
        if (cursor !== ce) throw new DerError(`trailing bytes inside [${f.tag}]`);
        if (f.equals !== undefined && v !== f.equals) throw new DerError(`is ${v}, must be ${f.equals} here`);
        obj[f.key] = v;
        if (f.capture !== undefined) obj[f.capture] = buf.subarray(cs, ce);
        p = ce;
      } else if (!f.optional) {
        throw new DerError(p < end ? `missing (found ${tagName(buf[p]!)} instead)` : 'missing (end of SEQUENCE)');
      }
    }
  } catch (e) {
    rethrowWithin(e, fields[i]!.name);
  }
  if (p < end) throw new DerError(`unexpected ${tagName(buf[p]!)} in ${s.name} (unknown or out-of-order field)`);
  return obj;
}

function encodeElement(s: Schema, v: any, w: DerWriter): void {
  switch (s.kind) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new DerError(`expected an integer (${s.name}), got ${typeof v === 'number' ? v : typeof v}`);
      if (s.wrapNegative && v < 0 && v >= -0x80000000) v = v >>> 0;
      if (v < s.min || v > s.max) throw new DerError(`${v} is out of range for ${s.name}`);
      w.integer(v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new DerError(`expected a boolean, got ${typeof v}`);
      w.boolean(v);
      return;
    case 'octets':
      w.octets(v);
      return;
    case 'string':
      w.string(v, s.tag);
      return;
    case 'time':
      w.time(v);
      return;
    case 'flags':
      w.flags(v);
      return;
    case 'seq': {
      if (typeof v !== 'object' || v === null) throw new DerError(`expected an object (${s.name}), got ${v === null ? 'null' : typeof v}`);
      const mark = w.length;
      const fields = s.fields;
      for (let i = fields.length - 1; i >= 0; i--) {
        const f = fields[i]!;
        const fv = v[f.key];
        try {
          if (fv === undefined || fv === null) {
            if (!f.optional) throw new DerError('missing');
            continue;
          }
          if (f.equals !== undefined && fv !== f.equals) throw new DerError(`is ${fv}, must be ${f.equals} here`);
          const m = w.length;
          encodeElement(f.schema, fv, w);
          w.header(f.tagByte, w.length - m);
        } catch (e) {
          rethrowWithin(e, f.name);
        }
      }
      w.header(Tag.SEQUENCE, w.length - mark);
      if (s.app !== undefined) w.header(applicationTag(s.app), w.length - mark);
      return;
    }
    case 'seqOf': {
      if (!Array.isArray(v)) throw new DerError(`expected an array, got ${typeof v}`);
      const mark = w.length;
      for (let i = v.length - 1; i >= 0; i--) {
        try {
          encodeElement(s.of, v[i], w);
        } catch (e) {
          rethrowWithin(e, `[${i}]`);
        }
      }
      w.header(Tag.SEQUENCE, w.length - mark);
      return;
    }
    case 'choice': {
      const keys = typeof v === 'object' && v !== null ? Object.keys(v).filter((k) => v[k] !== undefined) : [];
      const f = keys.length === 1 ? s.alternatives.find((a) => a.key === keys[0]) : undefined;
      if (f === undefined) throw new DerError(`expected one of ${s.alternatives.map((a) => a.key).join(', ')} (${s.name})`);
      const mark = w.length;
      try {
        encodeElement(f.schema, v[f.key], w);
      } catch (e) {
        rethrowWithin(e, f.name);
      }
      w.header(f.tagByte, w.length - mark);
      return;
    }
  }
}

// One writer reused by every top-level encode (encoding is synchronous); a
// nested call, which only a getter on the value could cause, gets its own.
const shared = new DerWriter(4096);
let sharedBusy = false;

/** Encodes `value` as `schema`; `name` starts the path of any DerError. */
export function encodeWith<T>(schema: Schema, value: T, name: string): Uint8Array {
  const own = !sharedBusy;
  const w = own ? shared : new DerWriter(512);
  if (own) {
    sharedBusy = true;
    w.reset();
  }
  try {
    encodeElement(schema, value, w);
  } catch (e) {
    rethrowWithin(e, name);
  } finally {
    if (own) sharedBusy = false;
  }
  return w.toBytes();
}

/**
 * Decodes exactly one `schema` element filling all of `bytes`; `name` starts
 * the path of any DerError.
 *
 * The input is copied once, and the OCTET STRINGs of the result (and captured
 * bytes such as reqBodyBytes) are views into that private copy: they never
 * alias the caller's buffer, which may be reused (a socket's, say), and the
 * decoder allocates one buffer instead of one per OCTET STRING, which was
 * most of its cost. The copy of a small input is cut from a shared slab
 * (pool.ts). Use byteOffset/byteLength with `.buffer` as for any view.
 */
export function decodeWith<T>(schema: Schema, bytes: Uint8Array, name: string): T {
  if (!(bytes instanceof Uint8Array)) throw new DerError(`expected a Uint8Array`, name);
  const own = pooledCopy(bytes, 0, bytes.length);
  let value: T;
  try {
    value = decodeElement(schema, own, 0, own.length, 0) as T;
  } catch (e) {
    rethrowWithin(e, name);
  }
  if (cursor !== own.length) throw new DerError(`${own.length - cursor} trailing bytes after the ${name}`, name);
  return value;
}

/**
 * Decodes one `schema` element at `pos`, which may be followed by other
 * bytes before `limit`; returns the value and the offset after it.
 */
export function decodeAt<T>(schema: Schema, bytes: Uint8Array, pos: number, limit: number, name: string): { value: T; end: number } {
  const own = pooledCopy(bytes, pos, limit);
  let value: T;
  try {
    value = decodeElement(schema, own, 0, own.length, 0) as T;
  } catch (e) {
    rethrowWithin(e, name);
  }
  return { value, end: pos + cursor };
}

export interface Codec<T> {
  readonly schema: Schema;
  readonly name: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** The encode/decode pair of one named type. */
export function codec<T>(schema: Schema, name: string): Codec<T> {
  return {
    schema,
    name,
    encode: (value: T) => encodeWith(schema, value, name),
    decode: (bytes: Uint8Array) => decodeWith<T>(schema, bytes, name),
  };
}
