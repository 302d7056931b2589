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
import { decodeAsReq, decodeEncryptedData, decodePaEncTsEnc } from '../krb5/index.js';
import { KeyUsage, PaDataType } from '../krb5/constants.js';
import { parsePrincipal } from '../krb5/principal.js';
import type { AsReq } from '../krb5/types.js';
import { getInitialCredentials } from './as.js';
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
  it('password: preauth with the ETYPE-INFO2 salt, reply opened and checked, the TGT as MIT stored it', async () => {
    const kdc = replay('02-alice-KRB-ERROR-e25.hex', '04-alice-AS-REP.hex');
    const nonces = [1307434981, 1246662440];
    let prompted = 0;
    const r = await getInitialCredentials({
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
    expect(prompted).toBe(1);
    expect(r.credential.key.keyvalue).toEqual(new Uint8Array(Buffer.from('699ecb3a9af9416c5c4e3f40afb04bb367bdceacf8163aa72c51723e437b065a', 'hex')));
    expect(r.credential.ticketFlags).toBe(0x40610000);
    expect(r.credential.endtime.toISOString()).toBe('2026-11-29T16:11:57.000Z');
    expect(r.credential.starttime).toEqual(r.credential.authtime);
    expect(r.credential.renewTill.getTime()).toBe(0);
    expect(r.paType).toBe(2);
    expect(r.kdcOffset).toEqual({ seconds: 0, microseconds: 0 });
    // The ticket bytes are the captured TGT (the ccache fixture holds the same 400 bytes at offset 514).
    const ccache = readFileSync(join(fixtures, 'ccache-alice-tgt-and-pop.bin'));
    expect(Buffer.from(r.credential.ticket).equals(ccache.subarray(514, 514 + 400))).toBe(true);

    // What we sent: first no padata, then the cookie echoed and a timestamp alice's key opens.
    expect(kdc.sent[0]!.padata ?? []).toEqual([]);
    expect(kdc.sent[0]!.reqBody.kdcOptions).toBe(0x40000010);
    expect(kdc.sent[0]!.reqBody.till.toISOString()).toBe('2026-11-29T16:11:57.000Z');
    const pa = kdc.sent[1]!.padata!;
    expect(pa.find((p) => p.padataType === PaDataType.PA_FX_COOKIE)?.padataValue).toEqual(new TextEncoder().encode('MIT'));
    const ts = pa.find((p) => p.padataType === PaDataType.PA_ENC_TIMESTAMP)!;
    const plain = decodePaEncTsEnc(decryptData(aliceKey, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, decodeEncryptedData(ts.padataValue)));
    expect(plain.patimestamp.toISOString()).toBe('2026-11-29T06:11:57.000Z');
  });

  it('keytab: bench with its random key (no salt involved)', async () => {
    const kt = parseKeytab(new Uint8Array(readFileSync(join(fixtures, 'bench.keytab'))));
    const nonces = [2146237742, 691030189];
    const kdc = replay('08-bench-KRB-ERROR-e25.hex', '10-bench-AS-REP.hex');
    const r = await getInitialCredentials({ config, client: parsePrincipal('bench@LAB.TEST'), keytab: kt, now: () => NOW, nonce: () => nonces.shift()!, send: kdc.send });
    expect(Buffer.from(r.credential.key.keyvalue).toString('hex')).toBe('54ad197f738e6e13c1bb44b06d698a6e66f322ee100db57d00837c77e44d134e');
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
