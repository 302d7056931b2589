/**
 * NTLM response computation (MS-NLMP §3.3): NTOWFv1 (MD4 of the UTF-16LE
 * password), NTLMv1 (DESL, with or without extended session security) and
 * NTLMv2 (HMAC-MD5 over the server challenge and the client's blob).
 */
import { createHash, createHmac } from 'node:crypto';
import { md4 } from '../md4.js';
import { desEncryptBlock, expandDesKey } from '../des.js';

const utf16 = (s: string) => Buffer.from(s, 'utf16le');

/** §3.3.1 NTOWFv1: MD4(UNICODE(Passwd)), the "NT hash". */
export function ntowfv1(password: string): Uint8Array {
  return md4(utf16(password));
}

/** §3.3.2 NTOWFv2: HMAC_MD5(NT hash, UNICODE(Uppercase(User) ‖ UserDom)). */
export function ntowfv2(ntHash: Uint8Array, user: string, domain: string): Uint8Array {
  return new Uint8Array(createHmac('md5', ntHash).update(utf16(user.toUpperCase() + domain)).digest());
}

/** §6 DESL: three DES encryptions of data under the 16-byte key split 7/7/2+5 zeros. */
export function desl(key16: Uint8Array, data8: Uint8Array): Uint8Array {
  const k = new Uint8Array(21);
  k.set(key16);
  return new Uint8Array(Buffer.concat([0, 7, 14].map((o) => desEncryptBlock(expandDesKey(k.subarray(o, o + 7)), data8))));
}

/**
 * §3.3.1 NTLMv1 NtChallengeResponse. With extended session security
 * (NTLM2 session response) the DES input is MD5(ServerChallenge ‖
 * ClientChallenge)[0..7], the client challenge being LmChallengeResponse[0..7].
 */
export function ntlmv1Response(ntHash: Uint8Array, serverChallenge: Uint8Array, clientChallenge?: Uint8Array): Uint8Array {
  const data = clientChallenge
    ? createHash('md5').update(serverChallenge).update(clientChallenge).digest().subarray(0, 8)
    : serverChallenge;
  return desl(ntHash, data);
}

/** §3.3.2 NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge ‖ temp), temp being the client's blob. */
export function ntlmv2Proof(responseKey: Uint8Array, serverChallenge: Uint8Array, temp: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('md5', responseKey).update(serverChallenge).update(temp).digest());
}

/** §3.3.2 LMv2 = HMAC_MD5(NTOWFv2, ServerChallenge ‖ ClientChallenge) ‖ ClientChallenge. */
export function lmv2Response(responseKey: Uint8Array, serverChallenge: Uint8Array, clientChallenge: Uint8Array): Uint8Array {
  const h = createHmac('md5', responseKey).update(serverChallenge).update(clientChallenge).digest();
  return new Uint8Array(Buffer.concat([h, clientChallenge]));
}
