/**
 * Helpers for the KPOP server tests: a line-oriented POP3 client over a raw
 * socket (or TLS), a child-process runner that doesn't block the in-process
 * servers, and Maildir set-up.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { clockEnv } from './helpers/mit-clock.js';

export class PopClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
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

  static async connect(port: number, tls?: ConnectionOptions): Promise<PopClient> {
    const socket = tls ? tlsConnect({ host: '127.0.0.1', port, ...tls }) : connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once(tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new PopClient(socket);
  }

  /** Wait until n bytes are buffered (or the peer closes). */
  async bytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`connection closed with ${this.buf.length}/${n} bytes`);
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${n} bytes`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i !== -1) {
        const l = this.buf.subarray(0, i).toString('utf8');
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timeout waiting for a line');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** Wait for the peer to close; resolves true if it did within the time. */
  async waitClose(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    return this.closed;
  }

  send(line: string | Buffer): void {
    this.socket.write(typeof line === 'string' ? line + '\r\n' : line);
  }

  async cmd(line: string): Promise<string> {
    this.send(line);
    return this.line();
  }

  /** The lines of a multi-line response, un-stuffed, without the terminator. */
  async multi(): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l === '.') return out;
      out.push(l.startsWith('.') ? l.slice(1) : l);
    }
  }

  /** Upgrade to TLS after "+OK" to STLS. */
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

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program without blocking the event loop (the servers live in this process). */
export function run(cmd: string, args: string[], opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; cwd?: string; onSpawn?: (pid: number) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...clockEnv(), PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export function has(program: string): boolean {
  return ['/usr/bin', '/bin', '/usr/sbin', '/usr/local/bin'].some((d) => existsSync(join(d, program)));
}

export function tempDir(prefix = 'kpop-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
