// Interop with the real MIT kinit (krb5-user 1.20): a scripted UDP "KDC"
// answers it with messages from our encoder. MIT must parse our KRB-ERROR,
// METHOD-DATA and ETYPE-INFO2 (it derives its key from our salt), and every
// AS-REQ it sends, with addresses, rtime and PA-PAC-REQUEST, must decode and
// re-encode to the same bytes.
import { spawn } from 'node:child_process';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptData, stringToKey } from '../crypto/index.js';
import {
  ErrorCode,
  KdcOptions,
  KrbError,
  PaDataType,
  decodeAsReq,
  decodeEncryptedData,
  decodePaEncTsEnc,
  decodePaPacRequest,
  encodeAsReq,
  encodeEtypeInfo2,
  encodeKrbErrorMessage,
  encodeMethodData,
  krbErrorToMessage,
  tgsPrincipal,
} from './index.js';
import type { AsReq } from './types.js';
import { clockEnv } from '../../../../test/helpers/mit-clock.js';

const kinit = ['/usr/bin/kinit', '/usr/local/bin/kinit'].find((p) => existsSync(p));
const hasKinit = kinit !== undefined;
const dir = mkdtempSync(join(tmpdir(), 'kpop-der-kinit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REALM = 'DER.TEST';
const salt = 'unusual salt from our ETYPE-INFO2';
const password = 'pw-der-1';

/** Runs kinit against a UDP server on 127.0.0.1 whose answers `reply` gives, one per request. */
async function runKinit(args: string[], reply: (req: Uint8Array, n: number) => Uint8Array) {
  const sock = createSocket('udp4');
  const requests: Uint8Array[] = [];
  sock.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const bytes = new Uint8Array(msg);
    requests.push(bytes);
    sock.send(reply(bytes, requests.length), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const port = sock.address().port;
  const conf = join(dir, `krb5-${port}.conf`);
  writeFileSync(
    conf,
    `[libdefaults]\n default_realm = ${REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n udp_preference_limit = 10000\n[realms]\n ${REALM} = {\n  kdc = 127.0.0.1:${port}\n }\n`,
  );
  const child = spawn(kinit!, args, {
    env: { ...clockEnv(), PATH: process.env.PATH ?? '', KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(dir, `cc-${port}`)}` },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.end(password + '\n');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  sock.close();
  return { code, out, requests };
}

function errorReply(req: Uint8Array, e: KrbError): Uint8Array {
  const as = decodeAsReq(req);
  return encodeKrbErrorMessage(
    krbErrorToMessage(e, { realm: REALM, sname: tgsPrincipal(REALM).name, stime: new Date(), susec: 123456, crealm: as.reqBody.realm, cname: as.reqBody.cname! }),
  );
}

/** Every AS-REQ MIT sends decodes and re-encodes byte for byte. */
function decodeFaithfully(bytes: Uint8Array): AsReq {
  const m = decodeAsReq(bytes);
  expect(Buffer.from(encodeAsReq(m)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  return m;
}

describe('MIT kinit against our encoder', () => {
  it.skipIf(!hasKinit)('reads our PREAUTH_REQUIRED METHOD-DATA, uses our ETYPE-INFO2 salt, and reports our error code (skipped without MIT kinit)', async () => {
    const methodData = encodeMethodData([
      { padataType: PaDataType.PA_ETYPE_INFO2, padataValue: encodeEtypeInfo2([{ etype: 18, salt }]) },
      { padataType: PaDataType.PA_ENC_TIMESTAMP, padataValue: new Uint8Array(0) },
    ]);
    const r = await runKinit(['-a', '-r', '2d', '--request-pac', `alice@${REALM}`], (req, n) =>
      n === 1
        ? errorReply(req, new KrbError(ErrorCode.KDC_ERR_PREAUTH_REQUIRED, undefined, { eText: 'NEEDED_PREAUTH', eData: methodData }))
        : errorReply(req, new KrbError(ErrorCode.KDC_ERR_CLIENT_REVOKED, undefined, { eText: 'REVOKED_FOR_TEST' })),
    );
    expect(r.requests, r.out).toHaveLength(2);
    expect(r.code).not.toBe(0);
    // MIT's wording for code 18: our KRB-ERROR was understood.
    expect(r.out).toMatch(/revoked/i);

    const first = decodeFaithfully(r.requests[0]!);
    expect(first.reqBody.cname).toEqual({ nameType: 1, nameString: ['alice'] });
    expect(first.reqBody.sname).toEqual({ nameType: 2, nameString: ['krbtgt', REALM] });
    expect(first.reqBody.kdcOptions & KdcOptions.RENEWABLE).toBeTruthy();
    expect(first.reqBody.rtime).toBeInstanceOf(Date);
    const pac = first.padata!.find((p) => p.padataType === PaDataType.PA_PAC_REQUEST);
    expect(pac && decodePaPacRequest(pac.padataValue)).toEqual({ includePac: true });

    const second = decodeFaithfully(r.requests[1]!);
    const ts = second.padata!.find((p) => p.padataType === PaDataType.PA_ENC_TIMESTAMP)!;
    const enc = decodeEncryptedData(ts.padataValue);
    expect(enc.etype).toBe(18);
    const key = stringToKey(18, password, salt);
    const plain = decodePaEncTsEnc(decryptData(key, 1, enc));
    expect(Math.abs(plain.patimestamp.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    expect(plain.pausec).toBeGreaterThanOrEqual(0);
  });

  it.skipIf(!hasKinit)('sends PA-PAC-REQUEST false with --no-request-pac and prints our C_PRINCIPAL_UNKNOWN (skipped without MIT kinit)', async () => {
    const r = await runKinit(['--no-request-pac', `nobody@${REALM}`], (req) => errorReply(req, new KrbError(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN, undefined, { eText: 'CLIENT_NOT_FOUND' })));
    expect(r.requests).toHaveLength(1);
    const m = decodeFaithfully(r.requests[0]!);
    const pac = m.padata!.find((p) => p.padataType === PaDataType.PA_PAC_REQUEST)!;
    expect(decodePaPacRequest(pac.padataValue)).toEqual({ includePac: false });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`Client 'nobody@${REALM}' not found in Kerberos database`);
  });
});
