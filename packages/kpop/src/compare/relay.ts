/**
 * A recording relay: what an eavesdropper on the path sees. TCP (the mail
 * connection, the KDC over TCP) and UDP (the KDC over UDP) are forwarded
 * unchanged, and every chunk is kept with its direction, connection and time.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Chunk {
  /** 'mail' or 'kdc'. */
  channel: string;
  /** Connection number within the recorder (UDP: one per client address). */
  conn: number;
  dir: 'c2s' | 's2c';
  t: number;
  data: Buffer;
}

export class Recorder {
  readonly chunks: Chunk[] = [];
  private next = 0;
  newConn(): number {
    return this.next++;
  }
  add(channel: string, conn: number, dir: 'c2s' | 's2c', data: Buffer): void {
    this.chunks.push({ channel, conn, dir, t: Date.now(), data: Buffer.from(data) });
  }
  of(channel: string): Chunk[] {
    return this.chunks.filter((c) => c.channel === channel);
  }
}

export interface Relay {
  port: number;
  close(): Promise<void>;
}

export async function tcpRelay(target: { host: string; port: number }, rec: Recorder, channel: string, port = 0): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const conn = rec.newConn();
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => { rec.add(channel, conn, 'c2s', d); upstream.write(d); });
    upstream.on('data', (d: Buffer) => { rec.add(channel, conn, 's2c', d); client.write(d); });
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

export async function udpRelay(target: { host: string; port: number }, rec: Recorder, channel: string, port = 0): Promise<Relay> {
  const front = createSocket('udp4');
  const upstreams = new Map<string, { sock: UdpSocket; conn: number }>();
  front.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let u = upstreams.get(key);
    if (!u) {
      const sock = createSocket('udp4');
      u = { sock, conn: rec.newConn() };
      const conn = u.conn;
      sock.on('message', (reply) => {
        rec.add(channel, conn, 's2c', reply);
        front.send(reply, from.port, from.address);
      });
      sock.on('error', () => {});
      upstreams.set(key, u);
    }
    rec.add(channel, u.conn, 'c2s', msg);
    u.sock.send(msg, target.port, target.host);
  });
  front.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(port, '127.0.0.1', () => resolve());
  });
  return {
    port: front.address().port,
    close: async () => {
      for (const u of upstreams.values()) u.sock.close();
      await new Promise<void>((r) => front.close(() => r()));
    },
  };
}

/** UDP and TCP relays for a KDC on one port number (krb5.conf names one port for both). */
export async function kdcRelay(target: { host: string; port: number }, rec: Recorder): Promise<Relay> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = await udpRelay(target, rec, 'kdc');
    try {
      const tcp = await tcpRelay(target, rec, 'kdc', udp.port);
      return { port: udp.port, close: async () => { await udp.close(); await tcp.close(); } };
    } catch {
      await udp.close(); // the TCP port was taken: try another number
    }
  }
  throw new Error('no free port for the KDC relay');
}
