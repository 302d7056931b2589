/**
 * The socket half of the raw protocol clients the tests drive servers with
 * (test/kpop-helpers.ts's PopClient, test/imap-helpers.ts's ImapClient):
 * connecting (plain or TLS, with a deadline), buffering what arrives,
 * waiting for bytes, lines or the peer's close, and the STLS/STARTTLS
 * upgrade. Each protocol's client adds its own framing on top.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export class SocketClient {
  protected buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(public socket: Socket) {
    this.attach(socket);
  }

  /** A connected socket (with TLS: once the handshake is done), or an error within 5 s. */
  static async open(port: number, tls?: ConnectionOptions, host = '127.0.0.1'): Promise<Socket> {
    const socket = tls ? tlsConnect({ host, port, ...tls }) : connect(port, host);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${port} timed out`));
      }, 5000);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    return socket;
  }

  private attach(s: Socket): void {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    s.on('close', () => {
      this.closed = true;
      this.wake();
    });
    s.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait for more data; throws once the peer has closed or the deadline has passed. */
  protected async waitData(deadline: number, what = 'data'): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await new Promise<void>((r) => {
      this.waiters.push(r);
      setTimeout(r, 50);
    });
  }

  /** One CRLF-terminated line, decoded, without its CRLF. */
  protected async rawLine(deadline: number, encoding: BufferEncoding): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i !== -1) {
        const l = this.buf.subarray(0, i).toString(encoding);
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      await this.waitData(deadline, 'a line');
    }
  }

  /** Wait until n bytes are buffered (or the peer closes) and take them. */
  async bytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`connection closed with ${this.buf.length}/${n} bytes`);
      await this.waitData(deadline, `${n} bytes`);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Wait for the peer to close; resolves true if it did within the time. */
  async waitClose(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    return this.closed;
  }

  /** Upgrade to TLS after the server's OK to STLS or STARTTLS. */
  async startTls(opts: ConnectionOptions): Promise<void> {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = tlsConnect({ socket: this.socket, ...opts });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  close(): void {
    this.socket.destroy();
  }
}
