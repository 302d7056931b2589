/**
 * A raw IMAP client for the protocol tests: sends a tagged command and
 * collects the untagged responses (literals included, as bytes) up to the
 * tagged one.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface Response {
  /** Untagged and continuation lines, literals inlined (latin1). */
  untagged: string[];
  /** The tagged status line without the tag. */
  status: string;
}

export class ImapClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private n = 0;
  closed = false;

  constructor(public socket: Socket) {
    this.attach(socket);
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

  static async connect(port: number, tls?: ConnectionOptions, host = '127.0.0.1'): Promise<ImapClient> {
    const socket = tls ? tlsConnect({ host, port, ...tls }) : connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once(tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new ImapClient(socket);
  }

  private async waitData(deadline: number): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    if (Date.now() > deadline) throw new Error('timeout');
    await new Promise<void>((r) => {
      this.waiters.push(r);
      setTimeout(r, 50);
    });
  }

  /** One response line with any literals it announces appended. */
  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let out = '';
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i === -1) {
        await this.waitData(deadline);
        continue;
      }
      const l = this.buf.subarray(0, i).toString('latin1');
      this.buf = this.buf.subarray(i + 2);
      out += l;
      const m = /\{(\d+)\}$/.exec(l);
      if (!m) return out;
      const n = Number(m[1]);
      while (this.buf.length < n) await this.waitData(deadline);
      out += '\r\n' + this.buf.subarray(0, n).toString('latin1');
      this.buf = this.buf.subarray(n);
    }
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** Send `TAG command` and read to the tagged reply. */
  async cmd(command: string, timeoutMs = 5000): Promise<Response> {
    const tag = `T${++this.n}`;
    this.send(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  async until(tag: string, timeoutMs = 5000): Promise<Response> {
    const untagged: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l.startsWith(tag + ' ')) return { untagged, status: l.slice(tag.length + 1) };
      untagged.push(l);
    }
  }

  nextTag(): string {
    return `T${++this.n}`;
  }

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

  async waitClose(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
