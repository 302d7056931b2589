/**
 * The lab's KDC on several cores (`npm start -- --workers N`): instead of
 * serving in the lab's own process, the lab runs the built `kdc start
 * --workers N` (packages/kdc/dist/bin/kdc.js) over the lab's database and
 * reads its request log lines, so the KDC's primary supervises the workers
 * (restart on death) as it does for an admin.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ListenAddress } from '@kpop/kdc';

/** packages/kdc/dist/bin/kdc.js, found through the @kpop/kdc package (its entry is src/index.ts), wherever the lab runs from. */
function kdcBin(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@kpop/kdc')), '..', 'dist', 'bin', 'kdc.js');
}

export interface LabKdc {
  readonly udp: ListenAddress[];
  readonly tcp: ListenAddress[];
  close(): Promise<void>;
}

export async function startKdcWorkers(o: { dir: string; host: string; port: number; workers: number; log(record: Record<string, unknown>): void }): Promise<LabKdc> {
  const bin = kdcBin();
  if (!existsSync(bin)) throw new Error(`${bin} is not built: run "npm run build" (npm start builds it)`);
  const child = spawn(process.execPath, [bin, 'start', '--dir', o.dir, '--listen', `${o.host}:${o.port}`, '--kpasswd-listen', 'none', '--workers', String(o.workers)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      o.log(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not a record: nothing to show.
    }
  });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on \S+:(\d+) /.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => {
      const line = err.trim().split('\n').pop() ?? '';
      const e = new Error(line.replace(/^kdc: /, '') || `kdc start exited with ${code}`) as NodeJS.ErrnoException;
      if (/address in use/.test(line)) e.code = 'EADDRINUSE';
      if (/permission denied/.test(line)) e.code = 'EACCES';
      reject(e);
    });
  });
  const addresses = [{ host: o.host, port }];
  return {
    udp: addresses,
    tcp: addresses,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
