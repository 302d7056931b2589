/**
 * Hostile input to the kpasswd service: mutated copies of real requests
 * (versions 0x0001 and 0xff80) and junk, in process through the handler as
 * the UDP and TCP listeners call it, then over real sockets. Each gets a
 * KRB-ERROR (framed after an empty AP-REP, as MIT's kadmind answers) or
 * silence; nothing throws; no password changes; a valid change is served
 * afterwards; no log line carries a password.
 *
 * The in-process count is 3,000 here (and 400 over each socket type);
 * KPASSWD_FUZZ_COUNT=100000 runs the full hundred thousand (and 10,000 over
 * each socket type): about 25 s for the 100,000 on this 2-core machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import net from 'node:net';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import {
  changePassword,
  decodeKrbErrorMessage,
  frameMessage,
  getInitialCredentials,
  LengthPrefixedReader,
  loadKrb5Config,
  makeKpasswdRequest,
  parseKpasswdReply,
  parsePrincipal,
  readKpasswdReply,
  type Credential,
} from '@kpop/common';
import { processKpasswd } from '../packages/kdc/src/kpasswd/service.js';
import { mutate, rng } from './helpers/kpasswd-mutate.js';

const COUNT = Number(process.env.KPASSWD_FUZZ_COUNT ?? 3000);
const SOCKET_COUNT = Math.max(400, Math.floor(COUNT / 10));

/** The reply must be a KRB-ERROR (bare, or framed after an empty AP-REP). */
function expectErrorReply(reply: Uint8Array): void {
  const p = parseKpasswdReply(reply);
  const err = 'bareError' in p ? p.bareError : (expect(p.apRep.length).toBe(0), p.body);
  expect(decodeKrbErrorMessage(err).msgType).toBe(30);
}

describe('the kpasswd service under hostile input', () => {
  let kdc: TestKdc;
  const logs: string[] = [];
  let seeds: Uint8Array[] = [];
  let cred: Credential;
  let config: ReturnType<typeof loadKrb5Config>;
  const passwords = ['Fuzz-pw-1', 'Fuzz-pw-2', 'Fuzz-pw-3', 'Fuzz-set-4'];

  beforeAll(async () => {
    kdc = await startTestKdc({ realm: 'FUZZ.TEST', principals: { fuzz: 'Fuzz-pw-1', 'root/admin': 'Root-pw-1' }, kpasswd: { admins: ['*/admin'] }, log: (r) => void logs.push(JSON.stringify(r)) });
    config = loadKrb5Config(kdc.env);
    const changepw = parsePrincipal('kadmin/changepw@FUZZ.TEST');
    cred = (await getInitialCredentials({ config, client: parsePrincipal('fuzz@FUZZ.TEST'), password: 'Fuzz-pw-1', service: changepw })).credential;
    const admin = (await getInitialCredentials({ config, client: parsePrincipal('root/admin@FUZZ.TEST'), password: 'Root-pw-1', service: changepw })).credential;
    // Real requests (each served once, so that every copy afterwards is a replay or damaged).
    const made = [
      makeKpasswdRequest({ credential: cred, newPassword: passwords[1]! }, '127.0.0.1'),
      makeKpasswdRequest({ credential: cred, newPassword: passwords[2]!, setPasswordProtocol: true }, '127.0.0.1'),
      makeKpasswdRequest({ credential: admin, newPassword: passwords[3]!, target: parsePrincipal('fuzz@FUZZ.TEST') }, '127.0.0.1'),
    ];
    for (const m of made) {
      const out = processKpasswd(m.request, kdc.kpasswd!.context, { transport: 'udp', address: '127.0.0.1', port: 1 });
      expect(readKpasswdReply(out.reply!, m.state).resultCode).toBe(0);
    }
    seeds = made.map((m) => m.request);
  }, 60_000);
  afterAll(async () => {
    await kdc?.stop();
  });

  it(`${COUNT} mutated messages through the handler (UDP and TCP origins): a KRB-ERROR or silence each`, () => {
    const kvno = kdc.db.getPrincipal('fuzz')!.kvno;
    const r = rng(0x6b707764);
    let answered = 0;
    for (let i = 0; i < COUNT; i++) {
      const msg = mutate(seeds[i % seeds.length]!, r);
      const transport = i % 2 === 0 ? 'udp' : 'tcp';
      const out = processKpasswd(msg, kdc.kpasswd!.context, { transport, address: '127.0.0.2', port: 1000 + (i % 1000) });
      if (out.reply === null) continue;
      answered++;
      expectErrorReply(out.reply);
      // Over UDP a refusal is never larger than what provoked it, unless the request was authenticated.
      if (transport === 'udp' && out.status !== 'REPLAY' && out.status !== 'AUTH_FAILED') expect(out.reply.length).toBeLessThanOrEqual(Math.max(msg.length, 200));
    }
    expect(answered).toBeGreaterThan(COUNT / 10);
    expect(kdc.db.getPrincipal('fuzz')!.kvno).toBe(kvno);
  }, 600_000);

  it(`${SOCKET_COUNT} mutated datagrams and ${SOCKET_COUNT} mutated TCP frames to the listeners; a valid change afterwards`, async () => {
    const port = kdc.kpasswd!.udp[0]!.port;
    const r = rng(0x12345678);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, '127.0.0.3', () => res()));
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    for (let i = 0; i < SOCKET_COUNT; i++) {
      sock.send(mutate(seeds[i % seeds.length]!, r), port, '127.0.0.1');
      if (i % 50 === 49) await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((res) => setTimeout(res, 300));
    sock.close();
    for (const m of replies) expectErrorReply(new Uint8Array(m));

    // TCP: frames on a few connections; the server answers each with an error or closes.
    const tcpReplies: Uint8Array[] = [];
    for (let c = 0; c < 8; c++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        const reader = new LengthPrefixedReader({ maxFrame: 1 << 20 });
        s.on('data', (d) => {
          for (const f of reader.push(new Uint8Array(d))) tcpReplies.push(f);
        });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.on('connect', () => {
          for (let i = 0; i < SOCKET_COUNT / 8; i++) s.write(frameMessage(mutate(seeds[i % seeds.length]!, r)));
          setTimeout(() => s.end(), 200);
        });
      });
    }
    for (const f of tcpReplies) expectErrorReply(f);

    const fresh = (await getInitialCredentials({ config, client: parsePrincipal('fuzz@FUZZ.TEST'), password: passwords[3]!, service: parsePrincipal('kadmin/changepw@FUZZ.TEST') })).credential;
    expect((await changePassword({ config, credential: fresh, newPassword: 'Fuzz-after-5' })).resultCode).toBe(0);
    await expect(getInitialCredentials({ config, client: parsePrincipal('fuzz@FUZZ.TEST'), password: 'Fuzz-after-5' })).resolves.toBeDefined();
  }, 120_000);

  it('no log line carries a password', () => {
    expect(logs.length).toBeGreaterThan(0);
    const all = logs.join('\n');
    for (const pw of [...passwords, 'Fuzz-after-5', 'Root-pw-1']) expect(all).not.toContain(pw);
    expect(logs.some((l) => l.includes('"msg":"KPASSWD"') && l.includes('"status":"CHANGED"'))).toBe(true);
  });
});
