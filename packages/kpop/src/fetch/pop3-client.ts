/**
 * The POP3 client side of RFC 1939: status lines (+OK / -ERR), multi-line
 * responses ending in "." CRLF with byte-stuffing undone (§3), CAPA (RFC
 * 2449 §5), STLS (RFC 2595 §4), and the commands a mail fetcher needs.
 */
import { FetchError } from './errors.js';
import type { PopConnection, TlsOptions } from './connection.js';

export interface Pop3Reply {
  ok: boolean;
  text: string;
}

/** Largest message we accept (a hostile server could otherwise stream forever). */
export const MAX_MESSAGE = 256 * 1024 * 1024;

export class Pop3Client {
  constructor(readonly conn: PopConnection) {}

  /** The greeting (§4); `-ERR` there means the server refuses us. */
  async greeting(): Promise<string> {
    let r: Pop3Reply;
    try {
      r = await this.reply('the server greeting');
    } catch (e) {
      // A KPOP server says nothing until the client has sent sendauth (protocols.md §2.3).
      if (e instanceof FetchError && e.kind === 'network' && e.message.includes('sent nothing')) {
        throw new FetchError('network', `${e.message} (a KPOP port waits for the client to speak first: add --kpop)`, { cause: e });
      }
      throw e;
    }
    if (!r.ok) throw new FetchError('protocol', `${this.where()} refused the session: ${r.text}`);
    return r.text;
  }

  where(): string {
    return `${this.conn.host}:${this.conn.port}`;
  }

  async reply(what: string): Promise<Pop3Reply> {
    const line = await this.conn.readLine(what);
    if (line.startsWith('+OK')) return { ok: true, text: line.slice(3).trim() };
    if (line.startsWith('-ERR')) return { ok: false, text: line.slice(4).trim() };
    throw new FetchError('protocol', `${this.where()} is not a POP3 server? It answered ${JSON.stringify(line.slice(0, 60))} to ${what}`);
  }

  /** Sends a command; returns its status line. */
  async command(line: string, what = line.split(' ')[0]!): Promise<Pop3Reply> {
    this.conn.write(`${line}\r\n`);
    return this.reply(what);
  }

  /** Sends a command that must succeed. */
  async must(line: string, what = line.split(' ')[0]!): Promise<string> {
    const r = await this.command(line, what);
    if (!r.ok) throw new FetchError('protocol', `${this.where()} answered ${what} with -ERR ${r.text}`);
    return r.text;
  }

  /** The body of a multi-line response, lines without CRLF, byte-stuffing undone (§3). */
  async multiLine(what: string, max = MAX_MESSAGE): Promise<Buffer[]> {
    const lines: Buffer[] = [];
    let size = 0;
    await this.conn.readLines(what, (line) => {
      if (line.length === 1 && line[0] === 0x2e) return true;
      const data = line[0] === 0x2e ? line.subarray(1) : line;
      size += data.length + 2;
      if (size > max) throw new FetchError('protocol', `${what} from ${this.where()} is larger than ${max} bytes`);
      lines.push(data);
      return false;
    });
    return lines;
  }

  /** CAPA (RFC 2449 §5): the capability names upper-cased with their arguments; undefined if unsupported. */
  async capa(): Promise<Map<string, string[]> | undefined> {
    const r = await this.command('CAPA');
    if (!r.ok) return undefined;
    const caps = new Map<string, string[]>();
    for (const l of await this.multiLine('the CAPA list', 64 * 1024)) {
      const [name, ...args] = l.toString('latin1').trim().split(/\s+/);
      if (name) caps.set(name.toUpperCase(), args);
    }
    return caps;
  }

  async stls(tls: TlsOptions, caps: Map<string, string[]> | undefined, hint = 'drop --tls, or use --tls-implicit on the POP3S port'): Promise<void> {
    if (caps && !caps.has('STLS')) throw new FetchError('protocol', `${this.where()} does not offer STLS (its CAPA lacks it): ${hint}`);
    const r = await this.command('STLS');
    if (!r.ok) throw new FetchError('protocol', `${this.where()} refused STLS: ${r.text}`);
    await this.conn.startTls(tls);
  }

  /** STAT: message count and total size. */
  async stat(): Promise<{ count: number; size: number }> {
    const text = await this.must('STAT');
    const m = /^(\d+)\s+(\d+)/.exec(text);
    if (!m) throw new FetchError('protocol', `${this.where()} answered STAT with "${text}", not "count size"`);
    return { count: Number(m[1]), size: Number(m[2]) };
  }

  /** RETR n: the message with LF line ends (what Maildir and mbox files hold). */
  async retr(n: number): Promise<Buffer> {
    await this.must(`RETR ${n}`, `RETR ${n}`);
    const lines = await this.multiLine(`message ${n}`);
    const out = Buffer.allocUnsafe(lines.reduce((s, l) => s + l.length + 1, 0));
    let o = 0;
    for (const l of lines) {
      o += l.copy(out, o);
      out[o++] = 0x0a;
    }
    return out;
  }

  async dele(n: number): Promise<void> {
    await this.must(`DELE ${n}`, `DELE ${n}`);
  }

  /** QUIT (§6): the server commits deletions only now. */
  async quit(): Promise<void> {
    const r = await this.command('QUIT');
    if (!r.ok) throw new FetchError('protocol', `${this.where()} could not remove deleted messages: ${r.text}`);
  }
}
