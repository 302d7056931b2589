import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { frameMessage, LengthPrefixedReader } from '../net/index.js';
import { parseKrb5Config } from './config.js';
import { literalLookup, sendToKdc } from './transport.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/mit');
const hex = (f: string) => new Uint8Array(Buffer.from(readFileSync(join(fixtures, f), 'utf8').trim(), 'hex'));
/** MIT's real KRB-ERROR 25 and AS-REP, used as opaque replies. */
const asRep = hex('04-alice-AS-REP.hex');
const asReq = hex('01-alice-AS-REQ.hex');
/** MIT's KRB-ERROR with its error-code INTEGER (a6 03 02 01 19) changed to another code. */
function krbErrorWithCode(code: number): Uint8Array {
  const b = hex('02-alice-KRB-ERROR-e25.hex');
  const i = Buffer.from(b).indexOf(Buffer.from([0xa6, 0x03, 0x02, 0x01, 0x19]));
  if (i < 0) throw new Error('fixture layout changed');
  b[i + 4] = code;
  return b;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

type Handler = (req: Uint8Array, n: number) => Uint8Array | undefined;

async function udpServer(handler: Handler, port = 0): Promise<{ port: number; hits: () => number; sock: UdpSocket }> {
  const sock = createSocket('udp4');
  let n = 0;
  sock.on('message', (msg, rinfo) => {
    const reply = handler(new Uint8Array(msg), n++);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(port, '127.0.0.1', () => r()));
  cleanups.push(() => sock.close());
  return { port: sock.address().port, hits: () => n, sock };
}

async function tcpServer(handler: (req: Uint8Array) => Uint8Array, port = 0): Promise<{ port: number; hits: () => number; server: Server }> {
  let n = 0;
  const server = createServer((s) => {
    const reader = new LengthPrefixedReader({ maxFrame: 65536 });
    s.on('data', (d) => {
      for (const f of reader.push(new Uint8Array(d))) {
        n++;
        s.write(handler(f));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  cleanups.push(() => server.close());
  return { port: (server.address() as { port: number }).port, hits: () => n, server };
}

/** A port nobody listens on (UDP and TCP), by binding and closing. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function conf(kdcs: string[], extra = ''): ReturnType<typeof parseKrb5Config> {
  return parseKrb5Config(`[libdefaults]\n kdc_timeout = 0:00:01\n${extra}\n[realms]\n LAB.TEST = {\n${kdcs.map((k) => `  kdc = ${k}\n`).join('')} }\n`);
}

describe('sendToKdc', () => {
  it('sends over UDP first and returns the reply bytes', async () => {
    const u = await udpServer((req) => (Buffer.from(req).equals(Buffer.from(asReq)) ? asRep : undefined));
    const reply = await sendToKdc(conf([`127.0.0.1:${u.port}`]), 'LAB.TEST', asReq);
    expect(Buffer.from(reply).equals(Buffer.from(asRep))).toBe(true);
    expect(u.hits()).toBe(1);
  });

  it('goes to TCP first when the request is over udp_preference_limit', async () => {
    const t = await tcpServer(() => frameMessage(asRep));
    const u = await udpServer(() => asRep, t.port);
    const reply = await sendToKdc(conf([`127.0.0.1:${t.port}`], ' udp_preference_limit = 1'), 'LAB.TEST', asReq);
    expect(reply).toEqual(asRep);
    expect(t.hits()).toBe(1);
    expect(u.hits()).toBe(0);
  });

  it('retries over TCP when the UDP answer is KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 §7.2.1)', async () => {
    const t = await tcpServer(() => frameMessage(asRep));
    const u = await udpServer(() => krbErrorWithCode(52), t.port);
    const reply = await sendToKdc(conf([`127.0.0.1:${t.port}`]), 'LAB.TEST', asReq);
    expect(reply).toEqual(asRep);
    expect(u.hits()).toBe(1);
    expect(t.hits()).toBe(1);
  });

  it('fails over to the next KDC when the first stays silent, within about kdc_timeout', async () => {
    const silent = await udpServer(() => undefined);
    const good = await udpServer(() => asRep);
    const t0 = Date.now();
    const reply = await sendToKdc(conf([`127.0.0.1:${silent.port}`, `127.0.0.1:${good.port}`]), 'LAB.TEST', asReq, { timeoutMs: 300 });
    expect(reply).toEqual(asRep);
    expect(silent.hits()).toBe(1);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('skips a KDC that answers KDC_ERR_SVC_UNAVAILABLE', async () => {
    const busy = await udpServer(() => krbErrorWithCode(29));
    const good = await udpServer(() => asRep);
    const reply = await sendToKdc(conf([`127.0.0.1:${busy.port}`, `127.0.0.1:${good.port}`]), 'LAB.TEST', asReq, { timeoutMs: 300 });
    expect(reply).toEqual(asRep);
  });

  it('retransmits over UDP on later passes', async () => {
    const lossy = await udpServer((_req, n) => (n === 0 ? undefined : asRep));
    const reply = await sendToKdc(conf([`127.0.0.1:${lossy.port}`]), 'LAB.TEST', asReq, { timeoutMs: 100 });
    expect(reply).toEqual(asRep);
    expect(lossy.hits()).toBe(2);
  });

  it("says \"Cannot contact any KDC for realm 'R'\" when every KDC refuses", async () => {
    const p1 = await closedPort();
    const p2 = await closedPort();
    await expect(sendToKdc(conf([`127.0.0.1:${p1}`, `127.0.0.1:${p2}`]), 'LAB.TEST', asReq, { timeoutMs: 200 })).rejects.toThrow(
      "Cannot contact any KDC for realm 'LAB.TEST'",
    );
  });

  it('gives up on a silent KDC after max_retries passes', async () => {
    const silent = await udpServer(() => undefined);
    const t0 = Date.now();
    await expect(sendToKdc(conf([`127.0.0.1:${silent.port}`]), 'LAB.TEST', asReq, { timeoutMs: 50, maxRetries: 2 })).rejects.toMatchObject({
      code: 'KRB5_KDC_UNREACH',
    });
    expect(silent.hits()).toBe(2);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('drops a TCP KDC that announces a huge frame and uses the next one', async () => {
    const evil = await tcpServer(() => new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
    const good = await tcpServer(() => frameMessage(asRep));
    const cfg = conf([`tcp/127.0.0.1:${evil.port}`, `tcp/127.0.0.1:${good.port}`]);
    expect(await sendToKdc(cfg, 'LAB.TEST', asReq, { timeoutMs: 300 })).toEqual(asRep);
  });

  it('resolves host names (localhost may give ::1 first; the refused address is skipped)', async () => {
    const u = await udpServer(() => asRep);
    expect(await sendToKdc(conf([`localhost:${u.port}`]), 'LAB.TEST', asReq, { timeoutMs: 300 })).toEqual(asRep);
  });

  it('an unresolvable host name counts as unreachable', async () => {
    await expect(sendToKdc(conf(['no-such-host.invalid']), 'LAB.TEST', asReq, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'KRB5_KDC_UNREACH' });
  });

  it('reports a realm without KDCs as MIT does', async () => {
    await expect(sendToKdc(conf([]), 'NOWHERE.TEST', asReq)).rejects.toThrow('Cannot find KDC for realm "NOWHERE.TEST"');
  });

  it('uses primary_kdc entries only when asked', async () => {
    const main = await udpServer(() => asRep);
    const cfg = parseKrb5Config(`[realms]\n LAB.TEST = {\n  kdc = 127.0.0.1:1\n  primary_kdc = 127.0.0.1:${main.port}\n }\n`);
    expect(await sendToKdc(cfg, 'LAB.TEST', asReq, { primaryOnly: true })).toEqual(asRep);
  });
});

describe('literalLookup (the UDP sockets\' address lookup)', () => {
  const look = (host: string, opts: unknown) =>
    new Promise<{ err: Error | null; address: string; family: number }>((resolve) => literalLookup(host, opts, (err, address, family) => resolve({ err, address, family })));

  it('answers address literals itself, with their family, in either calling form', async () => {
    expect(await look('127.0.0.1', 4)).toEqual({ err: null, address: '127.0.0.1', family: 4 });
    expect(await look('0.0.0.0', {})).toEqual({ err: null, address: '0.0.0.0', family: 4 });
    expect(await look('::1', 6)).toEqual({ err: null, address: '::1', family: 6 });
    const two = await new Promise<unknown[]>((resolve) => literalLookup('10.1.2.3', (...a: unknown[]) => resolve(a)));
    expect(two).toEqual([null, '10.1.2.3', 4]);
  });

  it('hands a host name to dns.lookup', async () => {
    const r = await look('localhost', { family: 4 });
    expect(r.err).toBeNull();
    expect(r.family).toBe(4);
    expect(r.address).toMatch(/^127\./);
    const bad = await look('no-such-host.invalid', {});
    expect(bad.err).toBeInstanceOf(Error);
  });
});
