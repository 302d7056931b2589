/**
 * The client's byte stream to a POP3 server: buffered reads of CRLF lines
 * (RFC 1939 §3) and of exact byte counts (sendauth's length-prefixed
 * messages), with a size cap on every line and a timeout on every read, so a
 * hostile or stuck server can neither exhaust memory nor hang the client.
 * STLS (RFC 2595 §4) swaps the socket for a TLS one in place.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { FetchError } from './errors.js';

export interface TlsOptions {
  /** PEM CA certificates to trust instead of the system store (the lab's CA). */
  ca?: string | Buffer;
  /** The name the certificate must carry (default: the host connected to). */
  servername?: string;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (POP3S, RFC 8314). */
  tls?: TlsOptions;
  timeoutMs?: number;
}

/** RFC 1939 caps responses at 512 octets; message lines have no RFC limit, so allow a generous one. */
export const MAX_LINE = 1024 * 1024;

export class PopConnection {
  private socket: Socket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  readonly timeoutMs: number;

  private constructor(
    socket: Socket,
    readonly host: string,
    readonly port: number,
    timeoutMs: number,
  ) {
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.attach(socket);
  }

  static async open(o: ConnectOptions): Promise<PopConnection> {
    const timeoutMs = o.timeoutMs ?? 30_000;
    const socket: Socket = o.tls
      ? tlsConnect({ host: o.host, port: o.port, servername: o.tls.servername ?? hostForSni(o.host), ...(o.tls.ca ? { ca: o.tls.ca } : {}) })
      : netConnect({ host: o.host, port: o.port });
    await waitConnected(socket, o.tls ? 'secureConnect' : 'connect', `${o.host}:${o.port}`, timeoutMs);
    return new PopConnection(socket, o.host, o.port, timeoutMs);
  }

  private attach(s: Socket): void {
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
    s.on('error', this.onError);
  }

  private detach(s: Socket): void {
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onError);
  }

  private readonly onData = (d: Buffer): void => {
    this.chunks.push(d);
    this.buffered += d.length;
    this.notify();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (e: Error): void => {
    this.failure ??= e;
    this.notify();
  };

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private peer(): string {
    return `${this.host}:${this.port}`;
  }

  /** Waits for more bytes; throws when the peer closed, failed, or went quiet too long. */
  private async more(what: string): Promise<void> {
    if (this.failure) throw new FetchError('network', `connection to ${this.peer()} failed while reading ${what}: ${this.failure.message}`, { cause: this.failure });
    if (this.ended) throw new FetchError('protocol', `${this.peer()} closed the connection while we waited for ${what}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new FetchError('network', `${this.peer()} sent nothing for ${Math.round(this.timeoutMs / 1000)} s while we waited for ${what}`));
      }, this.timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const failed = this.failure as Error | undefined;
    if (failed) throw new FetchError('network', `connection to ${this.peer()} failed: ${failed.message}`, { cause: failed });
  }

  private flat(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const all = this.flat();
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    // No copy: socket chunks are fresh buffers that nothing else writes to.
    return out;
  }

  /** Exactly n bytes. */
  async readExact(n: number, what: string): Promise<Buffer> {
    while (this.buffered < n) await this.more(what);
    return this.take(n);
  }

  /** One line without its CRLF (a bare LF is tolerated), as raw bytes. */
  async readLineBytes(what: string, max = MAX_LINE): Promise<Buffer> {
    let scanned = 0;
    for (;;) {
      const all = this.flat();
      const i = all.indexOf(0x0a, scanned);
      if (i >= 0) {
        if (i > max) break;
        const line = this.take(i + 1);
        const end = i > 0 && line[i - 1] === 0x0d ? i - 1 : i;
        return line.subarray(0, end);
      }
      if (all.length > max) break;
      scanned = all.length;
      await this.more(what);
    }
    throw new FetchError('protocol', `${this.peer()} sent a line longer than ${max} bytes while we waited for ${what}`);
  }

  /**
   * Lines (without CRLF) handed to `onLine` until it returns true. Every
   * complete line already buffered is handled in one synchronous pass, so a
   * multi-megabyte RETR costs a scan, not a promise per line.
   */
  async readLines(what: string, onLine: (line: Buffer) => boolean, max = MAX_LINE): Promise<void> {
    for (;;) {
      const all = this.flat();
      let pos = 0;
      let done = false;
      while (!done) {
        const i = all.indexOf(0x0a, pos);
        if (i < 0) break;
        if (i - pos > max) throw new FetchError('protocol', `${this.peer()} sent a line longer than ${max} bytes while we waited for ${what}`);
        done = onLine(all.subarray(pos, i > pos && all[i - 1] === 0x0d ? i - 1 : i));
        pos = i + 1;
      }
      const rest = all.subarray(pos);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      if (done) return;
      if (rest.length > max) throw new FetchError('protocol', `${this.peer()} sent a line longer than ${max} bytes while we waited for ${what}`);
      await this.more(what);
    }
  }

  /** A response or challenge line as text (RFC 1939 responses are ASCII). */
  async readLine(what: string): Promise<string> {
    return (await this.readLineBytes(what, 64 * 1024)).toString('latin1');
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** RFC 2595 §4: after `+OK` to STLS, the TLS handshake; then everything starts afresh. */
  async startTls(o: TlsOptions): Promise<void> {
    // Bytes the server sent after +OK but before the handshake would be
    // trusted as if they came over TLS (CVE-2011-0411): refuse them.
    if (this.buffered > 0) throw new FetchError('protocol', `${this.peer()} sent data after its STLS reply and before TLS started`);
    this.detach(this.socket);
    const tls: TLSSocket = tlsConnect({ socket: this.socket, servername: o.servername ?? hostForSni(this.host), ...(o.ca ? { ca: o.ca } : {}) });
    await waitConnected(tls, 'secureConnect', this.peer(), this.timeoutMs);
    this.socket = tls;
    this.attach(tls);
  }

  get encrypted(): boolean {
    return 'encrypted' in this.socket;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** SNI carries host names only (RFC 6066 §3), but Node still checks an IP against the certificate's IP SANs. */
function hostForSni(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}

function waitConnected(socket: Socket, event: 'connect' | 'secureConnect', where: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FetchError('network', `no answer from ${where} within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    socket.once(event, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve();
    });
    const onError = (e: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new FetchError('network', describeConnectError(e, where), { cause: e }));
    };
    socket.once('error', onError);
  });
}

function describeConnectError(e: NodeJS.ErrnoException, where: string): string {
  if (e.code === 'ECONNREFUSED') return `nothing listens on ${where} (connection refused): is the server (npm start) running, and is the port right?`;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `cannot resolve the host of ${where}: check --host`;
  if (e.code === 'ETIMEDOUT') return `connecting to ${where} timed out`;
  if (e.code?.startsWith('ERR_TLS') || e.code?.includes('CERT') || e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return `TLS with ${where} failed: ${e.message} (give the server's CA with --cafile)`;
  }
  if (/certificate|self.signed|unable to verify/i.test(e.message)) return `TLS with ${where} failed: ${e.message} (give the server's CA with --cafile)`;
  if (e.code?.startsWith('ERR_SSL')) {
    const alert = /alert ([a-z ]+)/i.exec(e.message)?.[1]?.trim();
    return `TLS with ${where} failed: ${alert ? `the server sent the alert "${alert}"` : e.code} (is this a TLS port? implicit TLS is --tls-implicit, STLS is --tls)`;
  }
  return `cannot connect to ${where}: ${e.message}`;
}
