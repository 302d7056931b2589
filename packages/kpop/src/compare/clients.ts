/**
 * The clients the comparison drives: the real Debian ones where installed
 * (curl, mpop, fetchmail, Python's poplib, MIT's kinit), ours otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

export function runProgram(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

/** Our kinit (packages/kinit-cli) when MIT's is not installed: the built bin beside ours. */
export function ourBin(name: string): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let d = here, i = 0; i < 6; i++, d = dirname(d)) {
    const p = join(d, 'packages', 'kinit-cli', 'dist', 'bin', `${name}.js`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** A POP3 USER/PASS login and RETR 1 with Python's poplib (STLS with the CA when tls). */
export function poplibScript(tls: boolean): string {
  return [
    'import poplib, ssl, sys',
    'host, port, user, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]',
    'pw = sys.stdin.readline().rstrip("\\n")',
    'p = poplib.POP3(host, port, timeout=20)',
    ...(tls ? ['p.stls(ssl.create_default_context(cafile=ca))'] : []),
    'p.user(user)',
    'p.pass_(pw)',
    'p.retr(1)',
    'p.quit()',
  ].join('\n');
}
