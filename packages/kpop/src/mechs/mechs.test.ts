/**
 * The mechanisms' arithmetic against published vectors: RFC 1320 (MD4),
 * FIPS DES, MS-NLMP §4.2 (NTLMv1, NTLMv1 with extended session security,
 * NTLMv2), RFC 2195 (CRAM-MD5), RFC 1939 (APOP), RFC 5802 / RFC 7677
 * (SCRAM), and OpenSSL's legacy MD4 as an independent oracle.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { md4 } from './md4.js';
import { desEncryptBlock, expandDesKey } from './des.js';
import { desl, lmv2Response, ntlmv1Response, ntlmv2Proof, ntowfv1, ntowfv2 } from './ntlm/responses.js';
import { buildTargetInfo, AvId, parseAuthenticate, parseNegotiate, buildChallenge, Flags } from './ntlm/messages.js';
import { NtlmMechanism } from './ntlm/mechanism.js';
import { CramMd5Mechanism, cramDigest } from './cram-md5.js';
import { apopDigest, apopTimestamp, verifyApop } from './apop.js';
import { ScramMechanism, scramCredential } from './scram.js';
import type { MechSecrets } from './secrets.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const enc = new TextEncoder();
const dec = new TextDecoder();

function secrets(passwords: Record<string, string>, scramHashes: ('SHA-1' | 'SHA-256')[] = ['SHA-1', 'SHA-256']): MechSecrets & { failures: string[] } {
  const creds = new Map<string, ReturnType<typeof scramCredential>>();
  for (const [u, p] of Object.entries(passwords)) for (const h of scramHashes) creds.set(`${u}/${h}`, scramCredential(h, p));
  const failures: string[] = [];
  return {
    failures,
    password: async (u) => passwords[u],
    scram: async (u, h) => creds.get(`${u}/${h}`),
    failed: (u) => failures.push(u),
  };
}

describe('MD4 (RFC 1320 §A.5)', () => {
  const vectors: Array<[string, string]> = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  it.each(vectors)('MD4("%s")', (m, d) => expect(hex(md4(enc.encode(m)))).toBe(d));

  const legacy = spawnSync('openssl', ['dgst', '-md4', '-provider', 'legacy', '-provider', 'default'], { input: 'abc' });
  it.skipIf(legacy.status !== 0)(`agrees with OpenSSL's legacy-provider MD4 on every length around the block boundaries${legacy.status === 0 ? '' : ' (skipped: no openssl with the legacy provider: apt-get install openssl)'}`, () => {
    const lengths = [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4097];
    for (const n of lengths) {
      const data = randomBytes(n);
      const r = spawnSync('openssl', ['dgst', '-md4', '-r', '-provider', 'legacy', '-provider', 'default'], { input: data });
      expect(hex(md4(data)), `length ${n}`).toBe(r.stdout.toString().split(' ')[0]);
    }
  });
});

describe('single DES through des-ede3-ecb', () => {
  it('key 0101010101010101, zero block → 8ca64de9c1b123a7', () => {
    expect(hex(desEncryptBlock(unhex('0101010101010101'), new Uint8Array(8)))).toBe('8ca64de9c1b123a7');
  });
  it('FIPS 81 example: "Now is t" under 0123456789abcdef', () => {
    expect(hex(desEncryptBlock(unhex('0123456789abcdef'), enc.encode('Now is t')))).toBe('3fa40e8a984d4815');
  });
  it('expands 7 key bytes to 8 with odd parity', () => {
    expect(hex(expandDesKey(unhex('00000000000000')))).toBe('0101010101010101');
    expect(hex(expandDesKey(unhex('ffffffffffffff')))).toBe('fefefefefefefefe');
  });
});

// MS-NLMP §4.2.1 common values.
const USER = 'User', DOMAIN = 'Domain', PASSWORD = 'Password';
const SERVER_CHALLENGE = unhex('0123456789abcdef');
const CLIENT_CHALLENGE = unhex('aaaaaaaaaaaaaaaa');

describe('NTLM (MS-NLMP §4.2)', () => {
  it('§4.2.2.1.2 NTOWFv1', () => expect(hex(ntowfv1(PASSWORD))).toBe('a4f49c406510bdcab6824ee7c30fd852'));
  it('§4.2.2.2.1 NTLMv1 response', () => {
    expect(hex(ntlmv1Response(ntowfv1(PASSWORD), SERVER_CHALLENGE))).toBe('67c43011f30298a2ad35ece64f16331c44bdbed927841f94');
  });
  it('§4.2.3.2.2 NTLMv1 with extended session security', () => {
    expect(hex(ntlmv1Response(ntowfv1(PASSWORD), SERVER_CHALLENGE, CLIENT_CHALLENGE))).toBe('7537f803ae367128ca458204bde7caf81e97ed2683267232');
  });
  it('§4.2.2.2.2 LMv1 via DESL of the LM hash', () => {
    expect(hex(desl(unhex('e52cac67419a9a224a3b108f3fa6cb6d'), SERVER_CHALLENGE))).toBe('98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13');
  });
  const targetInfo = buildTargetInfo([[AvId.NbDomainName, 'Domain'], [AvId.NbComputerName, 'Server']]);
  const temp = new Uint8Array(Buffer.concat([unhex('0101000000000000'), new Uint8Array(8), CLIENT_CHALLENGE, new Uint8Array(4), targetInfo, new Uint8Array(4)]));
  it('§4.2.4.1.1 NTOWFv2, §4.2.4.2.1 LMv2, §4.2.4.2.2 NTProofStr', () => {
    const key = ntowfv2(ntowfv1(PASSWORD), USER, DOMAIN);
    expect(hex(key)).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
    expect(hex(lmv2Response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE))).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
    expect(hex(ntlmv2Proof(key, SERVER_CHALLENGE, temp))).toBe('68cd0ab851e51c96aabc927bebef6a1c');
  });

  /** A Type-3 message as a client lays it out (§2.2.1.3), Unicode strings. */
  function authenticate(user: string, domain: string, lm: Uint8Array, nt: Uint8Array, flags = Flags.UNICODE): Uint8Array {
    const fields = [lm, nt, Buffer.from(domain, 'utf16le'), Buffer.from(user, 'utf16le'), Buffer.from('WKS', 'utf16le'), new Uint8Array(0)];
    const head = Buffer.alloc(64);
    Buffer.from('NTLMSSP\0', 'latin1').copy(head);
    head.writeUInt32LE(3, 8);
    let off = 64;
    fields.forEach((f, i) => {
      head.writeUInt16LE(f.length, 12 + i * 8);
      head.writeUInt16LE(f.length, 14 + i * 8);
      head.writeUInt32LE(off, 16 + i * 8);
      off += f.length;
    });
    head.writeUInt32LE(flags, 60);
    return new Uint8Array(Buffer.concat([head, ...fields]));
  }
  const negotiate = (flags: number) => {
    const b = Buffer.alloc(32);
    Buffer.from('NTLMSSP\0', 'latin1').copy(b);
    b.writeUInt32LE(1, 8);
    b.writeUInt32LE(flags, 12);
    return new Uint8Array(b);
  };

  it('the mechanism accepts the §4.2.4 NTLMv2 response and refuses a wrong one', async () => {
    const s = secrets({ User: PASSWORD });
    const m = new NtlmMechanism(s, { serverChallenge: SERVER_CHALLENGE });
    const ch = await m.step(negotiate(Flags.UNICODE | Flags.NTLM));
    expect('challenge' in ch).toBe(true);
    const nt = new Uint8Array(Buffer.concat([unhex('68cd0ab851e51c96aabc927bebef6a1c'), temp]));
    const done = await m.step(authenticate(USER, DOMAIN, new Uint8Array(24), nt));
    expect(done).toEqual({ done: { authcid: 'User', authzid: 'User' } });
    expect(m.version).toBe('v2');

    const bad = new NtlmMechanism(s, { serverChallenge: SERVER_CHALLENGE });
    await bad.step(negotiate(Flags.UNICODE));
    nt[3]! ^= 1;
    await expect(bad.step(authenticate(USER, DOMAIN, new Uint8Array(24), nt))).rejects.toThrow(/wrong response/);
    expect(s.failures).toEqual(['User']);
  });

  it('NTLMv1 only when allowed; with and without extended session security', async () => {
    const s = secrets({ User: PASSWORD });
    const v1 = unhex('67c43011f30298a2ad35ece64f16331c44bdbed927841f94');
    const refused = new NtlmMechanism(s, { serverChallenge: SERVER_CHALLENGE });
    await refused.step(negotiate(Flags.UNICODE));
    await expect(refused.step(authenticate(USER, '', new Uint8Array(24), v1))).rejects.toThrow(/NTLMv1 response refused/);

    const plain = new NtlmMechanism(s, { serverChallenge: SERVER_CHALLENGE, allowV1: true });
    await plain.step(negotiate(Flags.UNICODE));
    expect(await plain.step(authenticate(USER, '', new Uint8Array(24), v1))).toEqual({ done: { authcid: 'User', authzid: 'User' } });

    const ess = new NtlmMechanism(s, { serverChallenge: SERVER_CHALLENGE, allowV1: true });
    await ess.step(negotiate(Flags.UNICODE | Flags.EXTENDED_SESSIONSECURITY));
    const lm = new Uint8Array(24);
    lm.set(CLIENT_CHALLENGE);
    expect(await ess.step(authenticate(USER, '', lm, unhex('7537f803ae367128ca458204bde7caf81e97ed2683267232')))).toEqual({ done: { authcid: 'User', authzid: 'User' } });
    expect(ess.version).toBe('v1');
  });

  it('the CHALLENGE message round-trips its fields', () => {
    const msg = buildChallenge({ flags: Flags.UNICODE | Flags.NTLM | Flags.TARGET_INFO, serverChallenge: SERVER_CHALLENGE, targetName: 'Domain', targetInfo });
    const v = Buffer.from(msg);
    expect(v.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    expect(v.readUInt32LE(8)).toBe(2);
    expect(hex(v.subarray(24, 32))).toBe('0123456789abcdef');
    expect(v.subarray(v.readUInt32LE(16), v.readUInt32LE(16) + v.readUInt16LE(12)).toString('utf16le')).toBe('Domain');
    expect(hex(v.subarray(v.readUInt32LE(44), v.readUInt32LE(44) + v.readUInt16LE(40)))).toBe(hex(targetInfo));
  });

  it('rejects truncated and out-of-range messages with a format error', () => {
    expect(() => parseNegotiate(new Uint8Array(5))).toThrow(/too short/);
    const a = authenticate('u', '', new Uint8Array(24), new Uint8Array(24));
    const broken = Buffer.from(a);
    broken.writeUInt32LE(0xfffffff0, 24); // NT response offset beyond the end
    expect(() => parseAuthenticate(new Uint8Array(broken), true)).toThrow(/outside the message/);
  });
});

describe('CRAM-MD5 (RFC 2195 §2)', () => {
  const challenge = '<1896.697170952@postoffice.reston.mci.net>';
  it('the RFC example digest', () => expect(cramDigest('tanstaaftanstaaf', challenge)).toBe('b913a602c7eda7a495b4e6e7334d3890'));
  it('the mechanism accepts the RFC example and refuses a wrong digest', async () => {
    const s = secrets({ tim: 'tanstaaftanstaaf' });
    const m = new CramMd5Mechanism(s, 'postoffice.reston.mci.net', challenge);
    expect(dec.decode(((await m.start()) as { challenge: Uint8Array }).challenge)).toBe(challenge);
    expect(await m.step(enc.encode('tim b913a602c7eda7a495b4e6e7334d3890'))).toEqual({ done: { authcid: 'tim', authzid: 'tim' } });
    const m2 = new CramMd5Mechanism(s, 'x', challenge);
    await m2.start();
    await expect(m2.step(enc.encode('tim b913a602c7eda7a495b4e6e7334d3891'))).rejects.toThrow(/wrong digest/);
    expect(s.failures).toEqual(['tim']);
  });
  it('challenges have the <random.time@host> form', async () => {
    const m = new CramMd5Mechanism(secrets({}), 'mail.example');
    expect(dec.decode(((await m.start()) as { challenge: Uint8Array }).challenge)).toMatch(/^<\d+\.\d+@mail\.example>$/);
  });
});

describe('APOP (RFC 1939 §7)', () => {
  it('the RFC example', async () => {
    const ts = '<1896.697170952@dbc.mtview.ca.us>';
    expect(apopDigest(ts, 'tanstaaf')).toBe('c4c9334bac560ecc979e58001b3e22fb');
    const s = secrets({ mrose: 'tanstaaf' });
    expect(await verifyApop('mrose c4c9334bac560ecc979e58001b3e22fb', ts, s)).toBe('mrose');
    await expect(verifyApop('mrose c4c9334bac560ecc979e58001b3e22fc', ts, s)).rejects.toThrow(/wrong digest/);
    await expect(verifyApop('nobody c4c9334bac560ecc979e58001b3e22fb', ts, s)).rejects.toThrow(/no secret/);
  });
  it('timestamps are <digits.digits@host>, the only form mpop accepts, and differ each time', () => {
    const a = apopTimestamp('localhost'), b = apopTimestamp('localhost');
    expect(a).toMatch(/^<\d+\.\d+@localhost>$/);
    expect(a).not.toBe(b);
  });
});

describe('SCRAM', () => {
  async function run(h: 'SHA-1' | 'SHA-256', salt: string, cfirst: string, snonceSuffix: string, sfirst: string, cfinal: string, sfinal: string) {
    const cred = scramCredential(h, 'pencil', Buffer.from(salt, 'base64'), 4096);
    const s: MechSecrets = { password: async () => undefined, scram: async (u) => (u === 'user' ? cred : undefined) };
    const m = new ScramMechanism(h, s, undefined, () => snonceSuffix);
    const c1 = await m.step(enc.encode(cfirst));
    expect(dec.decode((c1 as { challenge: Uint8Array }).challenge)).toBe(sfirst);
    const c2 = await m.step(enc.encode(cfinal));
    expect('done' in c2 && dec.decode(c2.done.final)).toBe(sfinal);
    return c2;
  }
  it('RFC 5802 §5 example (SCRAM-SHA-1)', async () => {
    await run('SHA-1', 'QSXCR+Q6sek8bf92', 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL', '3rfcNHYJY1ZVvWVs7j',
      'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
      'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
      'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  });
  it('RFC 7677 §3 example (SCRAM-SHA-256)', async () => {
    await run('SHA-256', 'W22ZaJ0SNY7soEsUEjb6gQ==', 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO', '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
  it('refuses a changed proof, a changed nonce, and another authzid; accepts authzid = authcid (mutt)', async () => {
    const cred = scramCredential('SHA-256', 'pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const failures: string[] = [];
    const s: MechSecrets = { password: async () => undefined, scram: async (u) => (u === 'user' ? cred : undefined), failed: (u) => failures.push(u) };
    const mk = () => new ScramMechanism('SHA-256', s, undefined, () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
    let m = mk();
    await m.step(enc.encode('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    await expect(m.step(enc.encode('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7BndVQ='))).rejects.toThrow(/wrong proof/);
    expect(failures).toEqual(['user']);
    m = mk();
    await m.step(enc.encode('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    await expect(m.step(enc.encode('c=biws,r=rOprNGfwEbeRWgbNEkqOX,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='))).rejects.toThrow(/nonce/);
    await expect(mk().step(enc.encode('n,a=admin,n=user,r=abc'))).rejects.toThrow(/authorization identity/);
    const first = await mk().step(enc.encode('n,a=user,n=user,r=abc'));
    expect('challenge' in first).toBe(true);
  });
  it('refuses channel binding cleanly (e=channel-binding-not-supported), then fails', async () => {
    const m = new ScramMechanism('SHA-256', secrets({ user: 'pencil' }));
    const r = await m.step(enc.encode('p=tls-unique,,n=user,r=abc'));
    expect(dec.decode((r as { challenge: Uint8Array }).challenge)).toBe('e=channel-binding-not-supported');
    await expect(m.step(new Uint8Array(0))).rejects.toThrow();
  });
  it('an unknown user gets a stable fake salt, then fails at the proof', async () => {
    const key = randomBytes(32);
    const s = secrets({});
    const a = dec.decode(((await new ScramMechanism('SHA-256', s, key).step(enc.encode('n,,n=ghost,r=abc'))) as { challenge: Uint8Array }).challenge);
    const b = dec.decode(((await new ScramMechanism('SHA-256', s, key).step(enc.encode('n,,n=ghost,r=abc'))) as { challenge: Uint8Array }).challenge);
    expect(a.split(',')[1]).toBe(b.split(',')[1]);
    expect(a).toMatch(/,i=4096$/);
  });
});
