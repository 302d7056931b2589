// MIT's libkrb5 as the load (bench/kdc/mit/mitload.c): the bench compiles the
// C program against libkrb5-dev into a temporary folder (never committed),
// then runs it against a KDC named by a krb5.conf.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = join(dirname(fileURLToPath(import.meta.url)), 'mit', 'mitload.c');

/** Path of the built load generator, or the reason it cannot be built here. */
export function buildMitLoad(): { bin: string } | { reason: string } {
  if (!existsSync('/usr/include/krb5.h') && !existsSync('/usr/include/krb5/krb5.h')) return { reason: 'libkrb5-dev is not installed (apt-get install libkrb5-dev)' };
  const text = readFileSync(source);
  const dir = join(tmpdir(), `kpop-bench-mitload-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'mitload');
  if (existsSync(bin)) return { bin };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    execFileSync('cc', ['-O2', '-Wall', '-o', `${bin}.tmp`, source, '-lkrb5', '-lk5crypto', '-lcom_err'], { stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('mv', [`${bin}.tmp`, bin]);
  } catch (e) {
    return { reason: `cc could not build ${source}: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().split('\n')[0]}` };
  }
  return { bin };
}

/** For the scripts that need MIT's load and nothing else: its path, or a line saying why not and exit 0. */
export function mitLoadOrExit(): string {
  const built = buildMitLoad();
  if ('reason' in built) {
    console.log(`cannot run: ${built.reason}`);
    process.exit(0);
  }
  return built.bin;
}

export interface MitLoadTarget {
  /** krb5.conf naming the KDC for the realm. */
  krb5Conf: string;
  client: string;
  keytab: string;
  service: string;
}

export interface MitLoadResult {
  ops: number;
  failures: number;
  seconds: number;
  /** CPU seconds (user + system) of the load generator's worker processes. */
  clientCpu: number;
  errors: string;
}

/** Runs `mitload KIND WORKERS SECONDS …` and reads its one result line. */
export function runMitLoad(bin: string, t: MitLoadTarget, kind: 'as' | 'tgs', workers: number, seconds: number): Promise<MitLoadResult> {
  const args = [kind, String(workers), String(seconds), t.client, t.keytab, ...(kind === 'tgs' ? [t.service] : [])];
  const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: t.krb5Conf, KRB5CCNAME: 'MEMORY:bench', LANG: 'C' };
  delete env.KRB5_TRACE;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', () => {
      const m = /ops=(\d+) failures=(\d+) seconds=([\d.]+) cpu=([\d.]+)/.exec(out);
      if (!m) return reject(new Error(`mitload ${args.join(' ')}: ${err.trim() || 'no result'}`));
      resolve({ ops: Number(m[1]), failures: Number(m[2]), seconds: Number(m[3]), clientCpu: Number(m[4]), errors: err.trim() });
    });
  });
}
