/**
 * The KPOP port: krb5 sendauth (protocols.md §2.3) with AP-REQs built on the
 * genuine MIT pop/localhost ticket, then POP3 with the principal already
 * authenticated. Refusals come back as KRB-ERRORs, as MIT's recvauth sends.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApOptions, decodeApRep, decodeEncApRepPart, decodeKrbErrorMessage, decryptData, encodeSendauthPreamble, ErrorCode, frameMessage, KeyUsage } from '@kpop/common';
import { deliver, startPopServer, type PopServer } from '@kpop/kpop';
import { buildApReq, mitPopKeytab, mitPopTicket, MIT_NOW, type ApReqSpec } from '../packages/common/src/gss/testing/initiator.js';
import { PopClient, tempDir } from './kpop-helpers.js';

let server: PopServer;
let other: PopServer;
let tmp: ReturnType<typeof tempDir>;
const logs: Record<string, unknown>[] = [];
let cusec = 0;

async function sendauth(port: number, spec: ApReqSpec = {}, app = 'KPOPV1.0'): Promise<{ c: PopClient; reply: Buffer }> {
  const c = await PopClient.connect(port);
  c.send(Buffer.from(encodeSendauthPreamble(app)));
  expect([...(await c.bytes(1))]).toEqual([0]);
  c.send(Buffer.from(frameMessage(buildApReq({ cusec: ++cusec, ...spec }))));
  const len = (await c.bytes(4)).readUInt32BE(0);
  return { c, reply: len ? await c.bytes(len) : Buffer.alloc(0) };
}

function krbErrorCode(reply: Buffer): number {
  expect(reply[0]).toBe(0x7e);
  const e = decodeKrbErrorMessage(reply);
  expect(e.eText?.endsWith('\0')).toBe(true);
  expect(e.sname.nameString[0]).toBe('pop');
  return e.errorCode;
}

beforeAll(async () => {
  tmp = tempDir();
  const base = { maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', keytab: mitPopKeytab(), now: () => MIT_NOW, log: (r: Record<string, unknown>) => logs.push(r) };
  server = await startPopServer({ ...base, kpop: { host: '127.0.0.1', port: 0 } });
  other = await startPopServer({ ...base, service: 'pop/mail.example', keytab: { version: 0x502, entries: mitPopKeytab().entries.flatMap((e) => [e, { ...e, principal: { ...e.principal, name: { nameType: 1, nameString: ['pop', 'mail.example'] } } }]) }, kpop: { host: '127.0.0.1', port: 0 } });
  await deliver(join(tmp.dir, 'mail', 'alice'), Buffer.from('Subject: kpop\n\nhello over KPOP\n'));
});
afterAll(async () => {
  await server?.close();
  await other?.close();
  tmp?.cleanup();
});

describe('KPOP sendauth (KPOPV1.0)', () => {
  it('mutual: 00, then an empty message, the AP-REP, the greeting; USER/PASS krb_ticket then mail', async () => {
    const { c, reply } = await sendauth(server.kpop!.port, { apOptions: ApOptions.MUTUAL_REQUIRED, cusec: 777 });
    expect(reply.length).toBe(0);
    const repLen = (await c.bytes(4)).readUInt32BE(0);
    const rep = decodeApRep(await c.bytes(repLen));
    const part = decodeEncApRepPart(decryptData(mitPopTicket().sessionKey, KeyUsage.AP_REP_ENCPART, rep.encPart));
    expect(part.cusec).toBe(777);
    expect(part.ctime.getTime()).toBe(MIT_NOW.getTime());
    expect(await c.line()).toMatch(/^\+OK/);
    c.send('CAPA');
    expect(await c.line()).toMatch(/^\+OK/);
    const caps = await c.multi();
    expect(caps).toContain('USER');
    expect(caps.some((l) => l.startsWith('SASL') || l === 'STLS')).toBe(false);
    expect(await c.cmd('USER alice')).toBe('+OK');
    expect(await c.cmd('PASS krb_ticket')).toMatch(/^\+OK Logged in; 1 messages/);
    expect(await c.cmd('STAT')).toMatch(/^\+OK 1 /);
    c.send('RETR 1');
    expect(await c.line()).toMatch(/^\+OK \d+ octets/);
    expect(await c.multi()).toEqual(['Subject: kpop', '', 'hello over KPOP']);
    expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
    expect(JSON.stringify(logs)).not.toContain('krb_ticket');
  });
  it('no mutual (old Eudora): no AP-REP, greeting at once; PASS text ignored (movemail sends the user name)', async () => {
    const { c, reply } = await sendauth(server.kpop!.port, {}, 'justjunk');
    expect(reply.length).toBe(0);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.cmd('USER alice')).toBe('+OK');
    expect(await c.cmd('PASS alice')).toMatch(/^\+OK Logged in/);
    await c.cmd('QUIT');
    expect(logs.some((r) => r.event === 'kpop-app-version' && r.version === 'justjunk')).toBe(true);
  });
  it('USER naming someone other than the principal is refused with [AUTH]', async () => {
    const { c } = await sendauth(server.kpop!.port);
    await c.line();
    expect(await c.cmd('USER bob')).toBe('+OK');
    expect(await c.cmd('PASS krb_ticket')).toBe('-ERR [AUTH] Authentication failed.');
    c.close();
  });
  it('a replayed AP-REQ gets KRB-ERROR 34 (KRB_AP_ERR_REPEAT) and a close', async () => {
    const apReq = frameMessage(buildApReq({ cusec: 4711 }));
    for (const expected of ['accepted', 'replay']) {
      const c = await PopClient.connect(server.kpop!.port);
      c.send(Buffer.concat([encodeSendauthPreamble(), apReq])); // the very bytes captured
      expect([...(await c.bytes(1))]).toEqual([0]);
      const len = (await c.bytes(4)).readUInt32BE(0);
      if (expected === 'accepted') expect(len).toBe(0);
      else {
        expect(krbErrorCode(await c.bytes(len))).toBe(ErrorCode.KRB_AP_ERR_REPEAT);
        expect(await c.waitClose()).toBe(true);
      }
      c.close();
    }
    // The same client and timestamp in another authenticator (new bytes) is not a replay:
    // two libkrb5 processes can stamp the same microsecond. MIT 1.18+ keys on the ciphertext too.
    const again = await sendauth(server.kpop!.port, { cusec: 4711 });
    expect(again.reply.length).toBe(0);
    again.c.close();
  });
  it('a skewed authenticator gets 37, a ticket for another service 35', async () => {
    const skewed = await sendauth(server.kpop!.port, { ctime: new Date(MIT_NOW.getTime() + 600_000) });
    expect(krbErrorCode(skewed.reply)).toBe(ErrorCode.KRB_AP_ERR_SKEW);
    const wrong = await sendauth(other.kpop!.port);
    expect(krbErrorCode(wrong.reply)).toBe(ErrorCode.KRB_AP_ERR_NOT_US);
    expect(logs.some((r) => r.event === 'auth' && r.code === 'KRB_AP_ERR_NOT_US')).toBe(true);
  });
  it('a wrong sendauth version gets 01, Kerberos 4 "AUTHV0.1" too, and the connection closes', async () => {
    for (const pre of [Buffer.concat([frameMessage(Buffer.from('KRB5_SENDAUTH_V0.9\0')), frameMessage(Buffer.from('KPOPV1.0\0'))]), Buffer.from('AUTHV0.1KPOPV0.1')]) {
      const c = await PopClient.connect(server.kpop!.port);
      c.send(Buffer.from(pre));
      expect([...(await c.bytes(1))]).toEqual([1]);
      expect(await c.waitClose()).toBe(true);
    }
  });
  it('the whole client side in one write (KClient shim) works too', async () => {
    const c = await PopClient.connect(server.kpop!.port);
    c.send(Buffer.concat([encodeSendauthPreamble(), frameMessage(buildApReq({ cusec: 99999 }))]));
    expect([...(await c.bytes(5))]).toEqual([0, 0, 0, 0, 0]);
    expect(await c.line()).toMatch(/^\+OK/);
    c.close();
  });
});
