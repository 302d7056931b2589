/**
 * Issue 10 item 2: validity dates in 2050 or later are GeneralizedTime
 * (RFC 5280 §4.1.2.5), so a CA made from 2040 on (10 years) still works.
 * The clock is pinned; OpenSSL reads and verifies the result at that time.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import { certificateSerial, createCa, issueServerCert, validityTime } from './ca.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

function der(certPem: string): Uint8Array {
  return new Uint8Array(Buffer.from(certPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'));
}

describe('validity dates (RFC 5280 §4.1.2.5)', () => {
  it('UTCTime through 2049, GeneralizedTime from 2050, whole seconds', () => {
    const last = validityTime(new Date('2049-12-31T23:59:59.999Z'));
    expect(last.type).toBe(pkijs.TimeType.UTCTime);
    expect(Buffer.from(last.toSchema().toBER(false)).toString('latin1')).toContain('491231235959Z');
    const first = validityTime(new Date('2050-01-01T00:00:00.250Z'));
    expect(first.type).toBe(pkijs.TimeType.GeneralizedTime);
    const enc = Buffer.from(first.toSchema().toBER(false));
    expect(enc[0]).toBe(0x18); // GeneralizedTime
    expect(enc.subarray(2).toString('latin1')).toBe('20500101000000Z'); // no fraction (§4.1.2.5.2)
    expect(() => validityTime(new Date('1949-12-31T23:59:59Z'))).toThrow(/from 1950 to 9999/);
  });

  it('a CA and a server certificate made with the clock in 2045 (CA ends 2055) read and verify', async () => {
    const now = new Date('2045-06-01T12:00:00Z');
    const ca = await createCa({ now: () => now });
    const server = await issueServerCert(ca, ['localhost', '127.0.0.1'], { now: () => now, days: 3650 });
    const caCert = pkijs.Certificate.fromBER(der(ca.certPem));
    expect(caCert.notBefore.type).toBe(pkijs.TimeType.UTCTime);
    expect(caCert.notAfter.type).toBe(pkijs.TimeType.GeneralizedTime);
    expect(caCert.notAfter.value.toISOString()).toBe('2055-05-30T12:00:00.000Z');
    // Node's (OpenSSL's) parser agrees.
    const x = new X509Certificate(ca.certPem);
    expect(new Date(x.validTo).toISOString()).toBe('2055-05-30T12:00:00.000Z');
    expect(new X509Certificate(server.certPem).verify(x.publicKey)).toBe(true);
  });

  it.skipIf(!hasOpenssl)('openssl x509 -text shows the 2055 date; openssl verify -attime 2045 accepts the chain' + (hasOpenssl ? '' : ' (skipped: no openssl)'), async () => {
    const now = new Date('2045-06-01T12:00:00Z');
    const ca = await createCa({ now: () => now });
    const server = await issueServerCert(ca, ['localhost'], { now: () => now });
    const tmp = mkdtempSync(join(tmpdir(), 'kpop-ca-'));
    try {
      writeFileSync(join(tmp, 'ca.pem'), ca.certPem);
      writeFileSync(join(tmp, 'server.pem'), server.certPem);
      const text = execFileSync('openssl', ['x509', '-in', join(tmp, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text).toMatch(/Not Before: Jun {2}1 11:00:00 2045 GMT/);
      expect(text).toMatch(/Not After : May 30 12:00:00 2055 GMT/);
      const at = String(now.getTime() / 1000);
      const ok = spawnSync('openssl', ['verify', '-attime', at, '-CAfile', join(tmp, 'ca.pem'), join(tmp, 'server.pem')], { encoding: 'utf8' });
      expect(ok.stdout + ok.stderr).toContain(': OK');
      expect(ok.status).toBe(0);
      // And the dates mean what they say: in 2056 the CA has expired.
      const late = spawnSync('openssl', ['verify', '-attime', String(Date.parse('2056-01-01T00:00:00Z') / 1000), '-CAfile', join(tmp, 'ca.pem'), join(tmp, 'server.pem')], { encoding: 'utf8' });
      expect(late.status).not.toBe(0);
      expect(late.stdout + late.stderr).toMatch(/expired/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('serial numbers (issue 10 item 1: curl exit 77 on 1 CA in 256)', () => {
  it('are positive, 16 bytes and minimal DER whatever the random bytes, so OpenSSL loads every certificate', () => {
    for (let b0 = 0; b0 < 256; b0++) {
      for (const b1 of [0x00, 0x12, 0x7f, 0x80, 0xff]) {
        const enc = Buffer.from(certificateSerial(Uint8Array.of(b0, b1, ...new Uint8Array(14).fill(0xa5))).toBER(false));
        expect(enc[0]).toBe(0x02);
        expect(enc[1]).toBe(16);
        expect(enc[2]! & 0x80).toBe(0); // positive
        expect(enc[2]).not.toBe(0x00); // never a padding byte: minimal
      }
    }
  });

  it.skipIf(!hasOpenssl)('openssl reads 64 fresh CAs in a row' + (hasOpenssl ? '' : ' (skipped: no openssl)'), async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kpop-ca-'));
    try {
      const pems: string[] = [];
      for (let i = 0; i < 64; i++) pems.push((await createCa()).certPem);
      writeFileSync(join(tmp, 'all.pem'), pems.join(''));
      const r = spawnSync('openssl', ['storeutl', '-certs', join(tmp, 'all.pem')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('Total found: 64');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
