/**
 * The admission layer on real loopback sockets, with distinct client
 * addresses (127.0.0.2, 127.0.0.3): the per-address share and the global
 * cap, the three deadlines (a byte at a time does not keep a line alive,
 * bytes do not count as activity, a login deadline holds however active the
 * client is), refusals logged once per address and interval; and the pure
 * pieces (address keys, the per-address log, the token buckets).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addressKey } from './address.js';
import { Admission, type ConnectionGuard, type ConnectionLimits } from './admission.js';
import { PerAddressLog, type LimitRecord } from './per-address-log.js';
import { AddressBuckets } from './rate.js';

const servers: Server[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A line server on the admission layer: "+OK hi", one "+OK" per line, "ok" to LOGIN. */
async function lineServer(limits: Partial<ConnectionLimits>, records: LimitRecord[], logIntervalMs = 60_000): Promise<{ port: number; admission: Admission }> {
  const admission = new Admission({ limits: { maxConnections: 100, maxPerAddress: 100, authTimeoutMs: 0, commandTimeoutMs: 0, idleTimeoutMs: 0, ...limits }, log: (r) => records.push(r), logIntervalMs });
  const server = createServer((socket) => {
    const guard: ConnectionGuard | undefined = admission.admit(socket, 'test', {
      refuse: (s, status) => s.end(`-ERR ${status}\r\n`),
      expire: (status) => socket.end(`-ERR ${status}\r\n`),
    });
    if (!guard) return;
    socket.write('+OK hi\r\n');
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      let lines = 0;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        lines++;
        if (line === 'LOGIN') guard.authenticated();
        socket.write('+OK\r\n');
      }
      if (lines) guard.activity();
      guard.partial(buf.length > 0);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  admission.sweep();
  return { port: (server.address() as { port: number }).port, admission };
}

interface Peer {
  socket: Socket;
  text: () => string;
  closed: Promise<void>;
}

async function open(port: number, from: string): Promise<Peer> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from });
  clients.push(socket);
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // The greeting or the refusal.
  await new Promise<void>((r) => {
    const check = () => (text.includes('\n') || socket.destroyed ? r() : setTimeout(check, 5));
    check();
  });
  return { socket, text: () => text, closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Admission on loopback', () => {
  it('gives each address its share and refuses the rest with the protocol answer, logged once per address', async () => {
    const records: LimitRecord[] = [];
    const { port, admission } = await lineServer({ maxPerAddress: 3 }, records);
    const hog: Peer[] = [];
    for (let i = 0; i < 10; i++) hog.push(await open(port, '127.0.0.2'));
    expect(hog.filter((p) => p.text().startsWith('+OK hi')).length).toBe(3);
    expect(hog.filter((p) => p.text().startsWith('-ERR ADDRESS_LIMIT')).length).toBe(7);
    // Another address is not affected.
    const other = await open(port, '127.0.0.3');
    expect(other.text()).toBe('+OK hi\r\n');
    expect(admission.openFrom('127.0.0.2')).toBe(3);
    expect(admission.openFrom('127.0.0.3')).toBe(1);
    const refusals = records.filter((r) => r.event === 'refused');
    expect(refusals).toEqual([{ event: 'refused', listener: 'test', remote: '127.0.0.2', open: 3, limit: 3, status: 'ADDRESS_LIMIT' }]);
    // Slots come back when connections close.
    hog[0]!.socket.destroy();
    await hog[0]!.closed;
    await sleep(50);
    expect((await open(port, '127.0.0.2')).text()).toBe('+OK hi\r\n');
    admission.close();
    expect(records.filter((r) => r.event === 'refused').at(-1)).toMatchObject({ remote: '127.0.0.2', status: 'ADDRESS_LIMIT', suppressed: 6, summary: true });
  });

  it('the global cap refuses TOO_MANY_CONNECTIONS', async () => {
    const records: LimitRecord[] = [];
    const { port } = await lineServer({ maxConnections: 2 }, records);
    await open(port, '127.0.0.2');
    await open(port, '127.0.0.3');
    expect((await open(port, '127.0.0.4')).text()).toBe('-ERR TOO_MANY_CONNECTIONS\r\n');
    expect(records).toMatchObject([{ event: 'refused', remote: '127.0.0.4', status: 'TOO_MANY_CONNECTIONS', limit: 2 }]);
  });

  it('a byte at a time does not keep a command line alive (COMMAND_TIMEOUT)', async () => {
    const records: LimitRecord[] = [];
    const { port } = await lineServer({ commandTimeoutMs: 300 }, records);
    const drip = await open(port, '127.0.0.2');
    const t0 = Date.now();
    const dripping = setInterval(() => !drip.socket.destroyed && drip.socket.write('N'), 50);
    await drip.closed;
    clearInterval(dripping);
    console.log(`drip-fed line closed after ${Date.now() - t0} ms (command deadline 300 ms)`);
    expect(drip.text()).toContain('-ERR COMMAND_TIMEOUT');
    expect(records).toMatchObject([{ event: 'limit', listener: 'test', remote: '127.0.0.2', status: 'COMMAND_TIMEOUT' }]);
  });

  it('idle counts complete commands, not bytes (IDLE_TIMEOUT), and complete commands keep a session', async () => {
    const records: LimitRecord[] = [];
    const { port } = await lineServer({ idleTimeoutMs: 400 }, records);
    const bytes = await open(port, '127.0.0.2');
    const active = await open(port, '127.0.0.3');
    const b = setInterval(() => !bytes.socket.destroyed && bytes.socket.write('x'), 50);
    const a = setInterval(() => !active.socket.destroyed && active.socket.write('NOOP\r\n'), 100);
    await bytes.closed;
    await sleep(500);
    clearInterval(b);
    clearInterval(a);
    expect(bytes.text()).toContain('-ERR IDLE_TIMEOUT');
    expect(active.socket.destroyed).toBe(false);
    expect(active.text()).not.toContain('-ERR');
  });

  it('the login deadline holds however busy the client is, and no longer applies once logged in', async () => {
    const records: LimitRecord[] = [];
    const { port } = await lineServer({ authTimeoutMs: 300 }, records);
    const busy = await open(port, '127.0.0.2');
    const login = await open(port, '127.0.0.3');
    login.socket.write('LOGIN\r\n');
    const t = setInterval(() => !busy.socket.destroyed && busy.socket.write('CAPA\r\n'), 50);
    await busy.closed;
    await sleep(400);
    clearInterval(t);
    expect(busy.text()).toContain('-ERR AUTH_TIMEOUT');
    expect(login.socket.destroyed).toBe(false);
  });

  it('destroys a peer that does not close after the refusal', async () => {
    const admission = new Admission({ limits: { maxConnections: 10, maxPerAddress: 0, authTimeoutMs: 0, commandTimeoutMs: 0, idleTimeoutMs: 0 }, log: () => {} });
    const server = createServer((s) => admission.admit(s, 'x', { refuse: (sock) => sock.write('no\r\n') }));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = await open((server.address() as { port: number }).port, '127.0.0.2');
    await c.closed; // within the 2 s linger
    expect(c.text()).toBe('no\r\n');
  });
});

describe('pure pieces', () => {
  it('addressKey: IPv4 as is, v4-mapped as IPv4, IPv6 by /64', () => {
    expect(addressKey('127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8:0:1::2')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('?');
  });

  it('PerAddressLog: one record per address and status per interval, then the count', () => {
    let t = 0;
    const out: LimitRecord[] = [];
    const log = new PerAddressLog((r) => out.push(r), { intervalMs: 1000, now: () => t });
    for (let i = 0; i < 5; i++) log.note('a', 'X', { n: i });
    log.note('b', 'X', { n: 9 });
    log.note('a', 'Y', { n: 7 });
    expect(out).toEqual([{ n: 0, status: 'X' }, { n: 9, status: 'X' }, { n: 7, status: 'Y' }]);
    t = 1000;
    log.note('a', 'X', { n: 10 });
    expect(out.at(-1)).toEqual({ n: 10, status: 'X', suppressed: 4 });
    log.note('a', 'X', { n: 11 });
    t = 2500;
    log.sweep();
    expect(out.at(-1)).toEqual({ n: 11, status: 'X', suppressed: 1, summary: true });
  });

  it('AddressBuckets: burst, then the sustained rate, per address', () => {
    let t = 0;
    const b = new AddressBuckets({ ratePerSec: 10, burst: 5 }, () => t);
    const took = (k: string, n: number) => Array.from({ length: n }, () => b.take(k)).filter(Boolean).length;
    expect(took('a', 20)).toBe(5);
    expect(took('b', 3)).toBe(3);
    t = 1000;
    expect(took('a', 20)).toBe(5); // refilled to the burst, not beyond
    t = 1300;
    expect(took('a', 20)).toBe(3);
    expect(new AddressBuckets({ ratePerSec: 0, burst: 0 }).take('x')).toBe(true);
    // Spoofed sources cannot grow it past its bound.
    const small = new AddressBuckets({ ratePerSec: 1, burst: 5 }, () => t, 1000);
    for (let i = 0; i < 5000; i++) small.take(`10.0.${i >> 8}.${i & 255}`);
    expect(small.size).toBeLessThanOrEqual(1000);
  });
});
