/**
 * What an eavesdropper gets from a capture (./relay.ts): the transcript,
 * whether the password is in it, a verifier to guess passwords against
 * offline, and whether the client authenticated the server. Everything
 * here reads only captured bytes.
 */
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import {
  ApOptions, decodeApReq, decodeAsReq, decodeEncryptedData, decodeEtypeInfo2, decodeKrbErrorMessage, decodeMethodData, decryptData,
  KeyUsage, PaDataType, stringToKey, type ApReq, type EncryptedData,
} from '@kpop/common';
import { ntlmv1Response, ntlmv2Proof, ntowfv1, ntowfv2 } from '../mechs/ntlm/responses.js';
import { parseAuthenticate } from '../mechs/ntlm/messages.js';
import type { Chunk } from './relay.js';

const pbkdf2Async = promisify(pbkdf2);

export interface Line {
  conn: number;
  dir: 'c2s' | 's2c';
  /** Text, or undefined for binary (TLS records, Kerberos). */
  text?: string;
  bytes: Buffer;
  note?: string;
}

/** TLS record header: content type 20–23, version 3.x. */
export function looksLikeTls(b: Buffer): boolean {
  return b.length >= 5 && b[0]! >= 0x14 && b[0]! <= 0x17 && b[1] === 0x03;
}

/** Splits a text protocol's chunks into lines; binary chunks stay whole. */
export function transcript(chunks: Chunk[]): Line[] {
  const out: Line[] = [];
  const pending = new Map<string, Buffer>();
  for (const c of chunks) {
    const key = `${c.conn}:${c.dir}`;
    if (looksLikeTls(c.data) || (c.data.length > 0 && !isText(c.data))) {
      out.push({ conn: c.conn, dir: c.dir, bytes: c.data });
      continue;
    }
    let buf = Buffer.concat([pending.get(key) ?? Buffer.alloc(0), c.data]);
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      const line = buf.subarray(0, i + 1);
      out.push({ conn: c.conn, dir: c.dir, text: line.toString('latin1').replace(/\r?\n$/, ''), bytes: line });
      buf = buf.subarray(i + 1);
    }
    pending.set(key, buf);
  }
  return out;
}

function isText(b: Buffer): boolean {
  let bad = 0;
  for (const x of b.subarray(0, 512)) if ((x < 0x20 && x !== 0x0a && x !== 0x0d && x !== 0x09) || x === 0x7f) bad++;
  return bad === 0;
}

/** Every base64 token of the text lines, decoded (SASL messages, LOGIN's and PLAIN's passwords). */
function decodedTokens(lines: Line[]): Buffer[] {
  const out: Buffer[] = [];
  for (const l of lines) {
    if (!l.text) continue;
    for (const tok of l.text.split(' ')) {
      if (tok.length >= 4 && tok.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(tok)) out.push(Buffer.from(tok, 'base64'));
    }
  }
  return out;
}

/** Is the password in the capture, as sent or base64-encoded (UTF-8 or UTF-16LE)? */
export function passwordOnWire(chunks: Chunk[], password: string): boolean {
  const needles = [Buffer.from(password, 'utf8'), Buffer.from(password, 'utf16le')];
  const hay = [...chunks.map((c) => c.data), ...decodedTokens(transcript(chunks))];
  // TCP may split a password over two chunks: join each direction of each connection too.
  const joined = new Map<string, Buffer[]>();
  for (const c of chunks) joined.set(`${c.channel}:${c.conn}:${c.dir}`, [...(joined.get(`${c.channel}:${c.conn}:${c.dir}`) ?? []), c.data]);
  for (const parts of joined.values()) hay.push(Buffer.concat(parts));
  return hay.some((h) => needles.some((n) => h.includes(n)));
}

/** The data visible on the wire includes `marker` (e.g. a message's subject): the session is not encrypted. */
export function seenInClear(chunks: Chunk[], marker: string): boolean {
  const joined = new Map<string, Buffer[]>();
  for (const c of chunks) joined.set(`${c.conn}:${c.dir}`, [...(joined.get(`${c.conn}:${c.dir}`) ?? []), c.data]);
  return [...joined.values()].some((p) => Buffer.concat(p).includes(marker));
}

// ---- SASL exchanges out of a transcript -------------------------------------

/** The SASL messages after `AUTH MECH` / `tag AUTHENTICATE MECH`: client and server, in order. */
export function saslMessages(lines: Line[], mech: string): { from: 'c' | 's'; data: Buffer }[] | undefined {
  const start = lines.findIndex((l) => l.dir === 'c2s' && l.text !== undefined && new RegExp(`^(\\S+ AUTHENTICATE|AUTH) ${mech}( |$)`, 'i').test(l.text));
  if (start === -1) return undefined;
  const out: { from: 'c' | 's'; data: Buffer }[] = [];
  const ir = lines[start]!.text!.trim().split(' ').slice(mech.length && /AUTHENTICATE/i.test(lines[start]!.text!) ? 3 : 2)[0];
  if (ir) out.push({ from: 'c', data: ir === '=' ? Buffer.alloc(0) : Buffer.from(ir, 'base64') });
  for (const l of lines.slice(start + 1)) {
    if (l.text === undefined) break;
    if (l.dir === 's2c') {
      if (!(l.text === '+' || l.text.startsWith('+ '))) break; // the final answer (+OK, -ERR, tag OK/NO)
      out.push({ from: 's', data: Buffer.from(l.text.slice(2), 'base64') });
    } else out.push({ from: 'c', data: Buffer.from(l.text.trim(), 'base64') });
  }
  return out;
}

// ---- offline guessing ---------------------------------------------------------

/** Tests one candidate password against what was captured. */
export type Verifier = (word: string) => boolean | Promise<boolean>;

export interface Guessable {
  verifier?: Verifier;
  /** What the verifier is built from, for the report. */
  basis: string;
}

export function plaintextVerifier(lines: Line[]): Guessable {
  const pass = lines.find((l) => l.dir === 'c2s' && l.text && /^PASS /i.test(l.text));
  if (pass) return { verifier: (w) => w === pass.text!.slice(5), basis: 'the PASS command, in clear' };
  const login = saslMessages(lines, 'LOGIN');
  const pw = login?.filter((m) => m.from === 'c')[1]?.data.toString('utf8');
  if (pw !== undefined) return { verifier: (w) => w === pw, basis: 'AUTH LOGIN\'s second answer, base64 of the password' };
  const imapLogin = lines.find((l) => l.dir === 'c2s' && l.text && /^\S+ LOGIN /i.test(l.text));
  if (imapLogin) {
    const m = /^\S+ LOGIN (\S+|"[^"]*") ("(?:[^"\\]|\\.)*"|\S+)$/i.exec(imapLogin.text!);
    const p = m?.[2]?.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1');
    if (p !== undefined) return { verifier: (w) => w === p, basis: 'the IMAP LOGIN command, in clear' };
  }
  return { basis: 'nothing in clear (TLS)' };
}

export function apopVerifier(lines: Line[]): Guessable {
  const greet = lines.find((l) => l.dir === 's2c' && l.text?.startsWith('+OK'));
  const ts = /<[^>]*>/.exec(greet?.text ?? '')?.[0];
  const cmd = lines.find((l) => l.dir === 'c2s' && l.text && /^APOP /i.test(l.text));
  const digest = cmd?.text!.split(' ')[2]?.toLowerCase();
  if (!ts || !digest) return { basis: 'no APOP exchange in clear' };
  return { verifier: (w) => createHash('md5').update(ts + w).digest('hex') === digest, basis: 'the greeting timestamp and MD5(timestamp ‖ password)' };
}

export function cramVerifier(lines: Line[]): Guessable {
  const m = saslMessages(lines, 'CRAM-MD5');
  const challenge = m?.find((x) => x.from === 's')?.data.toString('latin1');
  const resp = m?.filter((x) => x.from === 'c').at(-1)?.data.toString('latin1');
  const digest = resp?.split(' ').at(-1);
  if (!challenge || !digest) return { basis: 'no CRAM-MD5 exchange in clear' };
  return { verifier: (w) => createHmac('md5', w).update(challenge).digest('hex') === digest, basis: 'the challenge and HMAC-MD5(password, challenge)' };
}

export function scramVerifier(lines: Line[], mech: 'SCRAM-SHA-1' | 'SCRAM-SHA-256'): Guessable {
  const m = saslMessages(lines, mech);
  // Empty messages are the "+ " that asks for the client-first message, and the client's acknowledgement of v=.
  const c = m?.filter((x) => x.from === 'c' && x.data.length).map((x) => x.data.toString('utf8'));
  const s = m?.filter((x) => x.from === 's' && x.data.length).map((x) => x.data.toString('utf8'));
  if (!c || !s || c.length < 2 || s.length < 1) return { basis: `no ${mech} exchange in clear` };
  const bare = c[0]!.replace(/^[^,]*,[^,]*,/, '');
  const sfirst = s[0]!;
  const pIdx = c[1]!.lastIndexOf(',p=');
  const withoutProof = c[1]!.slice(0, pIdx);
  const proof = Buffer.from(c[1]!.slice(pIdx + 3), 'base64');
  const salt = Buffer.from(/(?:^|,)s=([^,]*)/.exec(sfirst)?.[1] ?? '', 'base64');
  const iter = Number(/(?:^|,)i=(\d+)/.exec(sfirst)?.[1] ?? 0);
  if (!(iter >= 1) || pIdx === -1) return { basis: `no complete ${mech} exchange in clear` };
  const [alg, len] = mech === 'SCRAM-SHA-1' ? ['sha1', 20] : ['sha256', 32];
  const authMessage = `${bare},${sfirst},${withoutProof}`;
  return {
    basis: `salt, ${iter} PBKDF2 iterations and the proof (RFC 5802 §3)`,
    verifier: async (w) => {
      const salted = await pbkdf2Async(w, salt, iter, len, alg);
      const clientKey = createHmac(alg, salted).update('Client Key').digest();
      const storedKey = createHash(alg).update(clientKey).digest();
      const sig = createHmac(alg, storedKey).update(authMessage).digest();
      return clientKey.every((b, i) => (b ^ sig[i]!) === proof[i]);
    },
  };
}

export function ntlmVerifier(lines: Line[]): Guessable {
  const m = saslMessages(lines, 'NTLM');
  const type2 = m?.find((x) => x.from === 's' && x.data.length >= 32 && x.data.readUInt32LE(8) === 2)?.data;
  const type3 = m?.find((x) => x.from === 'c' && x.data.length >= 52 && x.data.readUInt32LE(8) === 3)?.data;
  if (!type2 || !type3) return { basis: 'no NTLM exchange in clear' };
  const challenge = type2.subarray(24, 32);
  const unicode = (type2.readUInt32LE(20) & 1) !== 0;
  const a = parseAuthenticate(new Uint8Array(type3), unicode);
  if (a.ntResponse.length === 24) {
    const ess = a.lmResponse.length === 24 && a.lmResponse.subarray(8).every((b) => b === 0) && (type2.readUInt32LE(20) & 0x80000) !== 0;
    const target = Buffer.from(a.ntResponse).toString('hex');
    return {
      basis: 'NTLMv1: DES of the server challenge under the NT hash (MD4 of the password)',
      verifier: (w) => Buffer.from(ntlmv1Response(ntowfv1(w), challenge, ess ? a.lmResponse.subarray(0, 8) : undefined)).toString('hex') === target,
    };
  }
  const proof = Buffer.from(a.ntResponse.subarray(0, 16)).toString('hex');
  const temp = a.ntResponse.subarray(16);
  return {
    basis: 'NTLMv2: HMAC-MD5 under NTOWFv2 (MD4 of the password, user, domain)',
    verifier: (w) => Buffer.from(ntlmv2Proof(ntowfv2(ntowfv1(w), a.user, a.domain), challenge, temp)).toString('hex') === proof,
  };
}

/** KDC messages from the KDC channel: UDP datagrams whole, TCP with its 4-byte length prefix (RFC 4120 §7.2.2). */
export function kdcMessages(chunks: Chunk[]): { dir: 'c2s' | 's2c'; msg: Buffer }[] {
  const out: { dir: 'c2s' | 's2c'; msg: Buffer }[] = [];
  const joined = new Map<string, { dir: 'c2s' | 's2c'; parts: Buffer[] }>();
  for (const c of chunks) {
    if (c.data[0] !== undefined && (c.data[0] & 0xe0) === 0x60) {
      out.push({ dir: c.dir, msg: c.data }); // a datagram: the message itself
      continue;
    }
    const k = `${c.conn}:${c.dir}`;
    const j = joined.get(k) ?? { dir: c.dir, parts: [] };
    j.parts.push(c.data);
    joined.set(k, j);
  }
  for (const { dir, parts } of joined.values()) {
    let b = Buffer.concat(parts);
    while (b.length >= 4) {
      const n = b.readUInt32BE(0);
      if (n > b.length - 4) break;
      out.push({ dir, msg: b.subarray(4, 4 + n) });
      b = b.subarray(4 + n);
    }
  }
  return out;
}

/** The AS-REQ's encrypted timestamp (PA-ENC-TIMESTAMP), guessable with the salt the KDC announced. */
export function asReqVerifier(kdc: Chunk[]): Guessable {
  const msgs = kdcMessages(kdc);
  let enc: EncryptedData | undefined;
  let salt: string | undefined;
  let s2kparams: Uint8Array | undefined;
  let client = '';
  for (const { msg } of msgs) {
    try {
      if (msg[0] === 0x6a) {
        const req = decodeAsReq(msg);
        const pa = req.padata?.find((p) => p.padataType === PaDataType.PA_ENC_TIMESTAMP);
        if (pa) {
          enc = decodeEncryptedData(pa.padataValue);
          client = (req.reqBody.cname?.nameString ?? []).join('/');
          salt ??= `${req.reqBody.realm}${(req.reqBody.cname?.nameString ?? []).join('')}`;
        }
      } else if (msg[0] === 0x7e) {
        const err = decodeKrbErrorMessage(msg);
        if (err.eData) {
          for (const p of decodeMethodData(err.eData)) {
            if (p.padataType !== PaDataType.PA_ETYPE_INFO2) continue;
            const e = decodeEtypeInfo2(p.padataValue)[0];
            if (e?.salt !== undefined) salt = e.salt;
            if (e?.s2kparams) s2kparams = e.s2kparams;
          }
        }
      }
    } catch {
      // not a message we read: skip
    }
  }
  if (!enc || salt === undefined) return { basis: 'no pre-authenticated AS-REQ in the capture' };
  const data = enc;
  const theSalt = salt;
  return {
    basis: `${client}'s AS-REQ: PA-ENC-TIMESTAMP (etype ${data.etype}) under the key from the password and salt "${theSalt}"`,
    verifier: (w) => {
      try {
        decryptData(stringToKey(data.etype, w, theSalt, s2kparams), KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, data);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Runs the word list against a verifier: found or not, and the seconds it took. */
export async function guess(g: Guessable, words: string[]): Promise<{ found: boolean; seconds: number; tried: number }> {
  const t0 = process.hrtime.bigint();
  let tried = 0;
  let found = false;
  if (g.verifier) {
    for (const w of words) {
      tried++;
      if (await g.verifier(w)) {
        found = true;
        break;
      }
    }
  }
  return { found, seconds: Number(process.hrtime.bigint() - t0) / 1e9, tried };
}

// ---- mutual authentication ------------------------------------------------------

/** The first AP-REQ found in these bytes (sendauth, or inside a GSS token). */
export function findApReq(bufs: Buffer[]): ApReq | undefined {
  for (const b of bufs) {
    for (let i = b.indexOf(0x6e); i !== -1; i = b.indexOf(0x6e, i + 1)) {
      try {
        return decodeApReq(b.subarray(i, i + 2 + 4 + (b.length - i)).subarray(0, derLength(b, i)));
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function derLength(b: Buffer, i: number): number {
  const l = b[i + 1];
  if (l === undefined) return 0;
  if (l < 0x80) return 2 + l;
  const n = l & 0x7f;
  let len = 0;
  for (let k = 0; k < n; k++) len = len * 256 + (b[i + 2 + k] ?? 0);
  return 2 + n + len;
}

export function apReqMutual(ap: ApReq | undefined): boolean {
  return !!ap && (ap.apOptions & ApOptions.MUTUAL_REQUIRED) !== 0;
}
