/**
 * Hostile input: 100,000 mutated exchanges per mechanism (APOP, CRAM-MD5,
 * SCRAM-SHA-1, SCRAM-SHA-256, NTLM). Each step must answer with a
 * challenge, a success, or a SaslError: never another exception, never a
 * hang (the loop runs under the test's timeout), and a success only for
 * the user whose secret was proved. Mutations: bit flips, byte edits,
 * insertions, deletions, truncations, duplicated spans, random 16/32-bit
 * values over NTLM's length/offset fields, and wholly random messages.
 * A seeded generator makes a failure reproducible.
 */
import { describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { SaslError } from '../sasl/mechanism.js';
import { CramMd5Mechanism, cramDigest } from './cram-md5.js';
import { apopDigest, verifyApop } from './apop.js';
import { ScramMechanism, scramCredential } from './scram.js';
import { NtlmMechanism } from './ntlm/mechanism.js';
import { ntowfv1, ntowfv2, ntlmv2Proof } from './ntlm/responses.js';
import type { MechSecrets } from './secrets.js';

const RUNS = 100_000;
const PW = 'fuzz-Secret-1';
const enc = new TextEncoder();

/** xorshift32: deterministic, fast. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  return { next, below: (n: number) => next() % n };
}

function mutate(r: ReturnType<typeof rng>, msg: Uint8Array): Uint8Array {
  let b = Buffer.from(msg);
  const edits = 1 + r.below(4);
  for (let e = 0; e < edits; e++) {
    const at = b.length ? r.below(b.length) : 0;
    switch (r.below(9)) {
      case 0: if (b.length) b[at]! ^= 1 << r.below(8); break;
      case 1: if (b.length) b[at] = r.below(256); break;
      case 2: b = Buffer.concat([b.subarray(0, at), Buffer.from([r.below(256)]), b.subarray(at)]); break;
      case 3: b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.below(8))]); break;
      case 4: b = b.subarray(0, at); break;
      case 5: b = Buffer.concat([b, b.subarray(at, at + r.below(64))]); break;
      case 6: if (b.length >= 2) b.writeUInt16LE(r.below(65536), Math.min(at, b.length - 2)); break;
      case 7: if (b.length >= 4) b.writeUInt32LE(r.next(), Math.min(at, b.length - 4) & ~3); break;
      case 8: b = Buffer.from(Array.from({ length: r.below(300) }, () => r.below(256))); break;
    }
  }
  return new Uint8Array(b);
}

function secrets(): MechSecrets {
  const creds = { 'SHA-1': scramCredential('SHA-1', PW, Buffer.alloc(16, 1)), 'SHA-256': scramCredential('SHA-256', PW, Buffer.alloc(16, 2)) };
  return { password: async (u) => (u === 'alice' ? PW : undefined), scram: async (u, h) => (u === 'alice' ? creds[h] : undefined) };
}

/** Runs one step; only SaslError may escape. */
async function guarded<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof SaslError)) throw e;
    return undefined;
  }
}

describe(`hostile input: ${RUNS.toLocaleString('en')} mutated exchanges per mechanism`, () => {
  it('CRAM-MD5', async () => {
    const r = rng(1);
    const s = secrets();
    const challenge = '<1.2@h>';
    const good = enc.encode(`alice ${cramDigest(PW, challenge)}`);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const m = new CramMd5Mechanism(s, 'h', challenge);
      await m.start();
      const out = await guarded(() => m.step(mutate(r, good)));
      if (out && 'done' in out) {
        expect(out.done.authcid).toBe('alice');
        accepted++;
      }
    }
    expect(accepted).toBeLessThan(RUNS / 100); // only mutations that happened to keep the proof (e.g. hex case)
  }, 120_000);

  it('APOP', async () => {
    const r = rng(2);
    const s = secrets();
    const ts = '<1.2@h>';
    const good = enc.encode(`alice ${apopDigest(ts, PW)}`);
    for (let i = 0; i < RUNS; i++) {
      const arg = Buffer.from(mutate(r, good)).toString('latin1');
      const user = await guarded(() => verifyApop(arg, ts, s));
      if (user !== undefined) expect(user).toBe('alice');
    }
  }, 120_000);

  for (const h of ['SHA-1', 'SHA-256'] as const) {
    it(`SCRAM-${h}`, async () => {
      const r = rng(h === 'SHA-1' ? 3 : 4);
      const s = secrets();
      const algo = h === 'SHA-1' ? 'sha1' : 'sha256';
      const cred = await s.scram('alice', h);
      // A genuine client's messages, recomputed for each server nonce.
      const salted = (await import('node:crypto')).pbkdf2Sync(PW, cred!.salt, cred!.iterations, h === 'SHA-1' ? 20 : 32, algo);
      const clientKey = createHmac(algo, salted).update('Client Key').digest();
      const storedKey = createHash(algo).update(clientKey).digest();
      const first = enc.encode('n,,n=alice,r=abcdefgh');
      for (let i = 0; i < RUNS; i++) {
        const m = new ScramMechanism(h, s, Buffer.alloc(32), () => 'SERVERNONCE');
        const which = r.below(2);
        const c1 = await guarded(() => m.step(which === 0 ? mutate(r, first) : first));
        if (!c1 || !('challenge' in c1)) continue;
        const serverFirst = Buffer.from(c1.challenge).toString();
        const nonce = /^r=([^,]*)/.exec(serverFirst)?.[1] ?? '';
        const bare = `c=biws,r=${nonce}`;
        const auth = `n=alice,r=abcdefgh,${serverFirst},${bare}`;
        const sig = createHmac(algo, storedKey).update(auth).digest();
        const proof = Buffer.from(clientKey.map((b, k) => b ^ sig[k]!)).toString('base64');
        const final = enc.encode(`${bare},p=${proof}`);
        const c2 = await guarded(() => m.step(which === 1 ? mutate(r, final) : final));
        if (c2 && 'done' in c2) expect(c2.done.authcid).toBe('alice');
      }
    }, 120_000);
  }

  it('NTLM (v1 allowed, so both response paths are reached)', async () => {
    const r = rng(5);
    const s = secrets();
    const serverChallenge = Buffer.from('0123456789abcdef', 'hex');
    const negotiate = Buffer.alloc(32);
    negotiate.write('NTLMSSP\0', 'latin1');
    negotiate.writeUInt32LE(1, 8);
    negotiate.writeUInt32LE(0x00088207, 12);
    // A genuine NTLMv2 AUTHENTICATE for alice.
    const temp = Buffer.concat([Buffer.from('0101000000000000', 'hex'), Buffer.alloc(8), Buffer.alloc(8, 0xaa), Buffer.alloc(4), Buffer.from('02000800440030004d0000000000', 'hex'), Buffer.alloc(4)]);
    const key = ntowfv2(ntowfv1(PW), 'alice', 'DOM');
    const nt = Buffer.concat([ntlmv2Proof(key, serverChallenge, temp), temp]);
    const fields = [Buffer.alloc(24), nt, Buffer.from('DOM', 'utf16le'), Buffer.from('alice', 'utf16le'), Buffer.from('WS', 'utf16le'), Buffer.alloc(0)];
    const head = Buffer.alloc(64);
    head.write('NTLMSSP\0', 'latin1');
    head.writeUInt32LE(3, 8);
    let off = 64;
    fields.forEach((f, k) => { head.writeUInt16LE(f.length, 12 + 8 * k); head.writeUInt16LE(f.length, 14 + 8 * k); head.writeUInt32LE(off, 16 + 8 * k); off += f.length; });
    head.writeUInt32LE(0x00088205, 60);
    const authenticate = new Uint8Array(Buffer.concat([head, ...fields]));
    // The unmutated exchange succeeds: the fuzzing starts from a valid one.
    const ok = new NtlmMechanism(s, { serverChallenge, allowV1: true });
    await ok.step(new Uint8Array(negotiate));
    expect(await ok.step(authenticate)).toEqual({ done: { authcid: 'alice', authzid: 'alice' } });
    for (let i = 0; i < RUNS; i++) {
      const m = new NtlmMechanism(s, { serverChallenge, allowV1: true });
      const which = r.below(3);
      const c1 = await guarded(() => m.step(which === 0 ? mutate(r, negotiate) : new Uint8Array(negotiate)));
      if (!c1) continue;
      const c2 = await guarded(() => m.step(which > 0 ? mutate(r, authenticate) : authenticate));
      if (c2 && 'done' in c2) expect(c2.done.authcid).toBe('alice');
    }
  }, 120_000);
});
