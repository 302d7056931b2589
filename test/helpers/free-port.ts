/**
 * Free loopback ports for servers that tests and benches start as child
 * processes (which cannot be given port 0 and report back): the kernel picks
 * one, we close it and hand the number on. Another process may take it in
 * between; callers that care retry on a failed bind.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A port free on 127.0.0.1 for TCP and UDP both (a KDC serves the same number on each). */
export async function freeTcpUdpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (await udpBinds(port)) return port;
  }
}

/**
 * The kernel's range for ephemeral ports (/proc/sys/net/ipv4/ip_local_port_range; Linux's default
 * 32768-60999 where it cannot be read).
 */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // Not Linux, or no /proc: the default.
  }
  return [32768, 60999];
}

/**
 * A port free on 127.0.0.1 for TCP and UDP both, outside the kernel's
 * ephemeral range: for a server that a test stops while clients keep asking
 * it (a KDC killed in a failover test). On a port in that range, a client
 * whose own socket is given that very number while the server is down is
 * connected to itself: MIT's kinit then reads back its own AS-REQ as the
 * answer ("Invalid message type"), as test/kdc-failover once saw. Real
 * services sit below the range (88, 464) and never meet this.
 */
export async function freeServicePort(): Promise<number> {
  const [lo, hi] = ephemeralRange();
  // Below the range when it leaves room (from 10000, clear of well-known services), else above it.
  const [from, to] = lo - 10_000 >= 1000 ? [10_000, lo - 1] : [hi + 1, 65_535];
  if (to - from < 100) throw new Error(`no room for test servers outside the ephemeral port range ${lo}-${hi}`);
  for (let tries = 0; tries < 200; tries++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (await bindsBoth(port)) return port;
  }
  throw new Error(`no free port found in ${from}-${to}`);
}

/** True when 127.0.0.1:port can be bound for TCP and for UDP now (both released again). */
async function bindsBoth(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
  return tcp && (await udpBinds(port));
}

/** True when 127.0.0.1:port can be bound for UDP now (released again). */
async function udpBinds(port: number): Promise<boolean> {
  const u = createSocket('udp4');
  const ok = await new Promise<boolean>((resolve) => {
    u.once('error', () => resolve(false));
    u.bind(port, '127.0.0.1', () => resolve(true));
  });
  u.close();
  return ok;
}
