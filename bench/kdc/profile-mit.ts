// bench/kdc/profile-mit.ts: our KDC as users run it (`kdc start`, the built
// CLI, UDP on loopback) under MIT's libkrb5 TGS load, with the V8 CPU
// profiler on, for what the socket path costs beside the handler:
//   node --import tsx bench/kdc/profile-mit.ts [SECONDS] [CONCURRENCY] [PROFILE-DIR] [as|tgs]
// Prints the KDC's CPU µs per exchange (user + system, from /proc) and
// leaves a .cpuprofile in PROFILE-DIR (default: none; no profiler).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mitLoadOrExit, runMitLoad } from './mit-load.js';
import { makeOurRealm, startOurKdc } from './mit-bench.js';
import { cpuTimes } from './proc.js';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 8);
const profileDir = process.argv[4];
const kind = (process.argv[5] ?? 'tgs') as 'as' | 'tgs';
const bin = mitLoadOrExit();
const realm = makeOurRealm();
// KDC_NODE_FLAGS: extra V8/Node flags for the KDC process (e.g. --single-threaded-gc), to try them.
const flags = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(process.env.KDC_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];
const kdc = await startOurKdc(realm.dir, realm.keytab, 1, flags);
// A short warm-up (JIT), then the measured phase.
await runMitLoad(bin, kdc, kind, concurrency, 1);
const before = cpuTimes(kdc.pid);
const r = await runMitLoad(bin, kdc, kind, concurrency, seconds);
const after = cpuTimes(kdc.pid);
const ops = Math.max(1, r.ops);
const user = ((after.user - before.user) * 1e6) / ops;
const sys = ((after.system - before.system) * 1e6) / ops;
console.log(`${kind.toUpperCase()} c=${concurrency}: ${(r.ops / r.seconds).toFixed(0)} ops/s, CPU ${(user + sys).toFixed(0)} µs/op (user ${user.toFixed(0)} + sys ${sys.toFixed(0)}); MIT's clients ${((r.clientCpu * 1e6) / ops).toFixed(0)} µs/op${r.failures ? `, ${r.failures} failed` : ''}`);
await kdc.stop();
// The handler's own time per request (the log's `us`: wall time inside processRequest), beside the process's CPU.
const us = readFileSync(join(realm.dir, 'kdc-1.log'), 'utf8').split('\n').filter((l) => l.includes(`"msg":"${kind.toUpperCase()}_REQ"`)).map((l) => Number(/"us":(\d+)/.exec(l)?.[1])).filter((n) => n >= 0).sort((a, b) => a - b);
if (us.length) console.log(`handler (log "us", wall): median ${us[us.length >> 1]} µs, mean ${(us.reduce((a, b) => a + b, 0) / us.length).toFixed(0)} µs over ${us.length} requests`);
realm.cleanup();
