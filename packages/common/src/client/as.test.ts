/**
 * The AS exchange replayed against the genuine MIT 1.20 KDC replies in
 * test/fixtures/mit (clock pinned to the capture's instant, nonces to the
 * captured ones): the reply must open with the password's key and pass the
 * RFC 4120 §3.1.5 checks, and what we send must carry a PA-ENC-TIMESTAMP
 * that alice's real key opens.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decryptData } from '../crypto/index.js';
import { parseKeytab } from '../keytab/index.js';
import { decodeAsRep, decodeAsReq, decodeEncKdcRepPart, decodeEncryptedData, decodePaEncTsEnc, encodeTicket } from '../krb5/index.js';
import { KeyUsage, PaDataType } from '../krb5/constants.js';
import { parsePrincipal } from '../krb5/principal.js';
import type { AsReq } from '../krb5/types.js';
import { checkEncPaRep, getInitialCredentials } from './as.js';
import { parseKrb5Config } from './config.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/mit');
const hex = (f: string) => new Uint8Array(Buffer.from(readFileSync(join(fixtures, f), 'utf8').trim(), 'hex'));
const NOW = new Date('2026-11-29T06:11:57.445Z');
const config = parseKrb5Config('[libdefaults]\n default_realm = LAB.TEST\n forwardable = true\n ticket_lifetime = 10h\n');
const alice = parsePrincipal('alice@LAB.TEST');
const aliceKey = { keytype: 18, keyvalue: new Uint8Array(Buffer.from('7e4e8b3de30179bdc1f2f2789b6c1190862a725dc0bfd96070f959125101072a', 'hex')) };

/** A KDC that answers with the captured replies in order and records what it got. */
function replay(...files: string[]) {
  const sent: AsReq[] = [];
  let i = 0;
  return {
    sent,
    send: async (realm: string, req: Uint8Array) => {
      expect(realm).toBe('LAB.TEST');
      sent.push(decodeAsReq(req));
      return hex(files[i++]!);
    },
  };
}

describe('AS exchange against MIT 1.20 replies', () => {
  it('password: preauth from ETYPE-INFO2 (salt, cookie); the captured reply is refused since it checksums MIT\'s request, not ours', async () => {
    const kdc = replay('02-alice-KRB-ERROR-e25.hex', '04-alice-AS-REP.hex');
    const nonces = [1307434981, 1246662440];
    let prompted = 0;
    const p = getInitialCredentials({
      config,
      client: alice,
      password: async () => {
        prompted++;
        return 'alice-pw-1';
      },
      now: () => NOW,
      nonce: () => nonces.shift()!,
      send: kdc.send,
    });
    // RFC 6806 §11: the reply (flag enc-pa-rep) carries a checksum of request 03, which we did not send.
    await expect(p).rejects.toThrow('KDC reply did not match expectations (request checksum, RFC 6806)');
    expect(prompted).toBe(1);
    // What we sent: PA-REQ-ENC-PA-REP in both, then the cookie echoed and a timestamp alice's key opens.
    expect(kdc.sent[0]!.padata!.map((p) => p.padataType)).toEqual([PaDataType.PA_REQ_ENC_PA_REP]);
    expect(kdc.sent[0]!.reqBody.kdcOptions).toBe(0x40000010);
    expect(kdc.sent[0]!.reqBody.till.toISOString()).toBe('2026-11-29T16:11:57.000Z');
    expect(kdc.sent[0]!.reqBody.sname).toEqual({ nameType: 2, nameString: ['krbtgt', 'LAB.TEST'] });
    const pa = kdc.sent[1]!.padata!;
    expect(pa.map((p) => p.padataType)).toEqual([PaDataType.PA_FX_COOKIE, PaDataType.PA_ENC_TIMESTAMP, PaDataType.PA_REQ_ENC_PA_REP]);
    expect(pa[0]!.padataValue).toEqual(new TextEncoder().encode('MIT'));
    const plain = decodePaEncTsEnc(decryptData(aliceKey, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, decodeEncryptedData(pa[1]!.padataValue)));
    expect(plain.patimestamp.toISOString()).toBe('2026-11-29T06:11:57.000Z');
  });

  it('RFC 6806 §11 check on the genuine pair: MIT reply 04 covers MIT request 03; one changed byte breaks it', () => {
    const rep = decodeAsRep(hex('04-alice-AS-REP.hex'));
    const enc = decodeEncKdcRepPart(decryptData(aliceKey, KeyUsage.AS_REP_ENCPART, rep.encPart));
    const req = hex('03-alice-AS-REQ.hex');
    expect(enc.flags).toBe(0x40610000);
    expect(() => checkEncPaRep(enc, aliceKey, req)).not.toThrow();
    const tampered = req.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(() => checkEncPaRep(enc, aliceKey, tampered)).toThrow(/RFC 6806/);
    // The flag without the checksum is refused too (MIT krb5int_fast_verify_nego).
    expect(() => checkEncPaRep({ ...enc, encryptedPaData: [] }, aliceKey, req)).toThrow(/RFC 6806/);
    // And the reply maps onto the credential MIT stored (ccache fixture: TGT DER at offset 514).
    expect(Buffer.from(enc.key.keyvalue).toString('hex')).toBe('699ecb3a9af9416c5c4e3f40afb04bb367bdceacf8163aa72c51723e437b065a');
    const ccache = readFileSync(join(fixtures, 'ccache-alice-tgt-and-pop.bin'));
    expect(Buffer.from(encodeTicket(rep.ticket)).equals(ccache.subarray(514, 514 + 400))).toBe(true);
  });

  it('keytab: bench\'s random key opens the PREAUTH_REQUIRED round and the reply is refused the same way', async () => {
    const kt = parseKeytab(new Uint8Array(readFileSync(join(fixtures, 'bench.keytab'))));
    const nonces = [2146237742, 691030189];
    const kdc = replay('08-bench-KRB-ERROR-e25.hex', '10-bench-AS-REP.hex');
    await expect(
      getInitialCredentials({ config, client: parsePrincipal('bench@LAB.TEST'), keytab: kt, now: () => NOW, nonce: () => nonces.shift()!, send: kdc.send }),
    ).rejects.toThrow(/RFC 6806/);
    const benchKey = kt.entries.find((e) => e.key.keytype === 18)!.key;
    const ts = kdc.sent[1]!.padata!.find((p) => p.padataType === PaDataType.PA_ENC_TIMESTAMP)!;
    expect(() => decryptData(benchKey, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, decodeEncryptedData(ts.padataValue))).not.toThrow();
  });

  it('wrong password: the KDC error 24 comes out as a KrbError', async () => {
    const kdc = replay('12-alice-KRB-ERROR-e25.hex', '14-alice-KRB-ERROR-e24.hex');
    await expect(getInitialCredentials({ config, client: alice, password: 'wrong-pw', now: () => NOW, send: kdc.send })).rejects.toMatchObject({ code: 24 });
  });

  it('unknown client: error 6 before any password is asked', async () => {
    const kdc = replay('16-nosuchuser-KRB-ERROR-e6.hex');
    let asked = false;
    const p = getInitialCredentials({
      config,
      client: parsePrincipal('nosuchuser@LAB.TEST'),
      password: async () => {
        asked = true;
        return 'x';
      },
      now: () => NOW,
      send: kdc.send,
    });
    await expect(p).rejects.toMatchObject({ code: 6 });
    expect(asked).toBe(false);
  });

  it('rejects a reply whose nonce is not ours (replayed AS-REP)', async () => {
    const kdc = replay('02-alice-KRB-ERROR-e25.hex', '04-alice-AS-REP.hex');
    await expect(getInitialCredentials({ config, client: alice, password: 'alice-pw-1', now: () => NOW, nonce: () => 42, send: kdc.send })).rejects.toMatchObject({
      code: 'KRB5_KDCREP_MODIFIED',
    });
  });

  it('a reply for the right nonce but the wrong password fails integrity (no silent success)', async () => {
    const nonces = [1, 1246662440];
    const kdc = replay('02-alice-KRB-ERROR-e25.hex', '04-alice-AS-REP.hex');
    await expect(
      getInitialCredentials({ config, client: alice, password: 'not-alice', now: () => NOW, nonce: () => nonces.shift()!, send: kdc.send }),
    ).rejects.toMatchObject({ code: 31 });
  });
});
