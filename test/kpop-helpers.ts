/**
 * Helpers for the KPOP server tests: a line-oriented POP3 client over a raw
 * socket (or TLS), a child-process runner that doesn't block the in-process
 * servers, and Maildir set-up.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { clockEnv } from './helpers/mit-clock.js';
import { SocketClient } from './helpers/socket-client.js';

export class PopClient extends SocketClient {
  static async connect(port: number, tls?: ConnectionOptions): Promise<PopClient> {
    return new PopClient(await SocketClient.open(port, tls));
  }

  async line(timeoutMs = 5000): Promise<string> {
    return this.rawLine(Date.now() + timeoutMs, 'utf8');
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
