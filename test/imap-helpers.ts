/**
 * A raw IMAP client for the protocol tests: sends a tagged command and
 * collects the untagged responses (literals included, as bytes) up to the
 * tagged one.
 */
import type { ConnectionOptions } from 'node:tls';
import { SocketClient } from './helpers/socket-client.js';

export interface Response {
  /** Untagged and continuation lines, literals inlined (latin1). */
  untagged: string[];
  /** The tagged status line without the tag. */
  status: string;
}

export class ImapClient extends SocketClient {
  private n = 0;

  static async connect(port: number, tls?: ConnectionOptions, host = '127.0.0.1'): Promise<ImapClient> {
    return new ImapClient(await SocketClient.open(port, tls, host));
  }

  /** One response line with any literals it announces appended. */
  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let out = '';
    for (;;) {
      const l = await this.rawLine(deadline, 'latin1');
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
}
