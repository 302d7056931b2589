/**
 * Test support (not exported from the package): run a program with
 * arguments, environment and stdin, used by the dist tests here and by the
 * cross-package kinit tests (test/helpers/kinit-bins.ts).
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a program without blocking the event loop (a KDC in this same process,
 * like startTestKdc's, must keep answering while the program runs). Killed
 * after timeoutMs.
 */
export function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = '', timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the program may exit before reading it all
    child.stdin.end(input);
  });
}
