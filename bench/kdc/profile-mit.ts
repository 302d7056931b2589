// bench/kdc/profile-mit.ts: our KDC as users run it (`kdc start`, the built
// CLI, UDP on loopback) under MIT's libkrb5 TGS load, with the V8 CPU
// profiler on, for what the socket path costs beside the handler:
//   node --import tsx bench/kdc/profile-mit.ts [SECONDS] [CONCURRENCY] [PROFILE-DIR] [as|tgs]
// Prints the KDC's CPU µs per exchange (user + system, from /proc) and
// leaves a .cpuprofile in PROFILE-DIR (default: none; no profiler).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMitLoad, runMitLoad } from './mit-load.js';
import { makeOurRealm } from './mit-bench.js';
import { cpuTimes } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 8);
const profileDir = process.argv[4];
const kind = (process.argv[5] ?? 'tgs') as 'as' | 'tgs';
const built = buildMitLoad();
if ('reason' in built) {
  console.log(`cannot run: ${built.reason}`);
  process.exit(0);
}
const realm = makeOurRealm();
const logFd = openSync(join(realm.dir, 'kdc.log'), 'a', 0o600);
// KDC_NODE_FLAGS: extra V8/Node flags for the KDC process (e.g. --single-threaded-gc), to try them.
const flags = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(process.env.KDC_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];
const child: ChildProcess = spawn(process.execPath, [...flags, join(root, 'packages/kdc/dist/bin/kdc.js'), 'start', '--dir', join(realm.dir, 'db'), '--listen', '127.0.0.1:0', '--rate-per-address', '0'], { cwd: root, stdio: ['ignore', logFd, 'pipe'] });
closeSync(logFd);
const port = await new Promise<number>((resolve, reject) => {
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
    const m = /serving on 127\.0\.0\.1:(\d+)/.exec(err);
    if (m) resolve(Number(m[1]));
  });
  child.once('exit', (code) => reject(new Error(`our KDC exited with ${code}: ${err}`)));
});
child.stderr!.resume();
const conf = join(realm.dir, 'krb5.conf');
writeFileSync(conf, `[libdefaults]\n default_realm = OURS.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1465\n[realms]\n OURS.TEST = {\n  kdc = 127.0.0.1:${port}\n }\n`);
const target = { krb5Conf: conf, client: 'alice@OURS.TEST', keytab: realm.keytab, service: 'pop/localhost@OURS.TEST' };
// A short warm-up (JIT), then the measured phase.
await runMitLoad(built.bin, target, kind, concurrency, 1);
const before = cpuTimes(child.pid!);
const r = await runMitLoad(built.bin, target, kind, concurrency, seconds);
const after = cpuTimes(child.pid!);
const ops = Math.max(1, r.ops);
const user = ((after.user - before.user) * 1e6) / ops;
const sys = ((after.system - before.system) * 1e6) / ops;
console.log(`${kind.toUpperCase()} c=${concurrency}: ${(r.ops / r.seconds).toFixed(0)} ops/s, CPU ${(user + sys).toFixed(0)} µs/op (user ${user.toFixed(0)} + sys ${sys.toFixed(0)})${r.failures ? `, ${r.failures} failed` : ''}`);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
// The handler's own time per request (the log's `us`: wall time inside processRequest), beside the process's CPU.
const us = readFileSync(join(realm.dir, 'kdc.log'), 'utf8').split('\n').filter((l) => l.includes(`"msg":"${kind.toUpperCase()}_REQ"`)).map((l) => Number(/"us":(\d+)/.exec(l)?.[1])).filter((n) => n >= 0).sort((a, b) => a - b);
if (us.length) console.log(`handler (log "us", wall): median ${us[us.length >> 1]} µs, mean ${(us.reduce((a, b) => a + b, 0) / us.length).toFixed(0)} µs over ${us.length} requests`);
realm.cleanup();
