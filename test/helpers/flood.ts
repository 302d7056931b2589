/**
 * Runs test/helpers/udp-flood.mjs against a KDC: a flood from one address
 * of junk and of AS-REQs for unknown principals (built here with the
 * suite's request builder, the principal name rewritten per datagram by the
 * flooder). Shared by test/kdc-flood.test.ts and bench/limits.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAsReq } from '@kpop/kdc';

const here = dirname(fileURLToPath(import.meta.url));
export const FLOOD_MARKER = 'nobody00000000';

export interface FloodResult {
  junk: number;
  asReq: number;
  seconds: number;
}

export interface Flood {
  done: Promise<FloodResult>;
  pid: number;
}

export function startFlood(o: { port: number; realm: string; from: string; rate: number; seconds: number; junkShare?: number }): Flood {
  const template = Buffer.from(buildAsReq({ realm: o.realm, cname: [FLOOD_MARKER] })).toString('base64');
  const cfg = JSON.stringify({ port: o.port, from: o.from, rate: o.rate, seconds: o.seconds, junkShare: o.junkShare ?? 0.5, template, marker: FLOOD_MARKER });
  const child = spawn(process.execPath, [join(here, 'udp-flood.mjs'), cfg], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const done = new Promise<FloodResult>((resolve, reject) => {
    child.once('exit', (code) => {
      const m = /DONE (\{.*\})/.exec(out);
      if (code === 0 && m) resolve(JSON.parse(m[1]!));
      else reject(new Error(`flood exited with ${code}: ${out}`));
    });
  });
  return { done, pid: child.pid! };
}
