// bench/kpasswd: the kpasswd service (RFC 3244).
//
// 1. Hostile load, in process: 100,000 mutated requests through the handler
//    the UDP and TCP listeners call (messages/s, and that each got a
//    KRB-ERROR or silence).
// 2. Real password changes as users make them, with MIT's kpasswd program
//    (the peer's client): ours against MIT 1.20's kadmind, side by side,
//    wall time per change (median of N, each a full program run: AS exchange
//    for kadmin/changepw, then the change).
//
//   pnpm bench kpasswd [--count=100000] [--changes=10] [--no-mit]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startTestKdc } from '@kpop/kdc';
import { getInitialCredentials, loadKrb5Config, makeKpasswdRequest, parseKpasswdReply, parsePrincipal } from '@kpop/common';
import { processKpasswd } from '../../packages/kdc/src/kpasswd/service.js';
import { findProgram, hasMitKdc, startMitRealm } from '../../test/helpers/mit-realm.js';
import { mutate, rng } from '../../test/helpers/kpasswd-mutate.js';

const args = new Map<string, string>();
for (const a of process.argv.slice(2)) {
  const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
  if (m) args.set(m[1]!, m[2] ?? 'true');
}
const count = Number(args.get('count') ?? 100_000);
const changes = Number(args.get('changes') ?? 10);
const kpasswdProgram = findProgram('kpasswd');

const kdc = await startTestKdc({ realm: 'BENCH.TEST', principals: { user: 'User-pw-0' }, kpasswd: true });
try {
  const config = loadKrb5Config(kdc.env);
  const cred = (await getInitialCredentials({ config, client: parsePrincipal('user@BENCH.TEST'), password: 'User-pw-0', service: parsePrincipal('kadmin/changepw@BENCH.TEST') })).credential;
  const seeds = [makeKpasswdRequest({ credential: cred, newPassword: 'User-pw-0' }, '127.0.0.1').request, makeKpasswdRequest({ credential: cred, newPassword: 'User-pw-0', setPasswordProtocol: true }, '127.0.0.1').request];
  for (const s of seeds) processKpasswd(s, kdc.kpasswd!.context, { transport: 'udp', address: '127.0.0.1', port: 1 });
  const r = rng(1);
  const msgs = Array.from({ length: count }, (_, i) => mutate(seeds[i % seeds.length]!, r));
  let answered = 0;
  let bad = 0;
  const t0 = performance.now();
  for (let i = 0; i < msgs.length; i++) {
    const out = processKpasswd(msgs[i]!, kdc.kpasswd!.context, { transport: i % 2 ? 'tcp' : 'udp', address: '127.0.0.2', port: 2 });
    if (out.reply === null) continue;
    answered++;
    const p = parseKpasswdReply(out.reply);
    if (!('bareError' in p) && p.apRep.length !== 0) bad++;
  }
  const ms = performance.now() - t0;
  console.log(`hostile: ${count} mutated requests in ${(ms / 1000).toFixed(1)} s = ${Math.round(count / (ms / 1000))} msg/s; ${answered} KRB-ERRORs, ${count - answered} silences, ${bad} other replies`);

  if (!kpasswdProgram) {
    console.log('changes: skipped (MIT kpasswd not installed: apt-get install krb5-user)');
  } else {
    const timeChanges = (label: string, env: NodeJS.ProcessEnv, user: string, first: string) => {
      const times: number[] = [];
      let pw = first;
      for (let i = 1; i <= changes; i++) {
        const next = `${user}-Pw-${i}-x`;
        const t = performance.now();
        const res = spawnSync(kpasswdProgram, [user], { env, input: `${pw}\n${next}\n${next}\n`, encoding: 'utf8' });
        times.push(performance.now() - t);
        if (res.status !== 0) throw new Error(`${label}: kpasswd failed: ${res.stdout}${res.stderr}`);
        pw = next;
      }
      times.sort((a, b) => a - b);
      console.log(`changes: ${label.padEnd(28)} median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms per MIT kpasswd run (${changes} runs)`);
    };
    // spawnSync blocks this process, so our KDC runs in another one: `kdc start`.
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kpasswd-bench-'));
    const kdcBin = join(import.meta.dirname, '..', '..', 'packages', 'kdc', 'dist', 'bin', 'kdc.js');
    // The same enctypes as the MIT realm (aes-sha1 only): aes-sha2's 32,768 PBKDF2 rounds would dominate a change.
    spawnSync(process.execPath, [kdcBin, 'init', '--realm', 'OURS.TEST', '--enctypes', 'aes256-cts,aes128-cts', '--dir', join(dir, 'db')]);
    spawnSync(process.execPath, [kdcBin, 'addprinc', 'user', '--password', 'user-first-1', '--dir', join(dir, 'db')]);
    const child = spawn(process.execPath, [kdcBin, 'start', '--listen', '127.0.0.1:0', '--kpasswd-listen', '127.0.0.1:0', '--dir', join(dir, 'db')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const ports = await new Promise<[number, number]>((resolve, reject) => {
      child.stderr!.on('data', (d) => {
        err += d;
        const k = /serving on 127\.0\.0\.1:(\d+)/.exec(err);
        const p = /kpasswd service on 127\.0\.0\.1:(\d+)/.exec(err);
        if (k && p) resolve([Number(k[1]), Number(p[1])]);
      });
      child.once('exit', () => reject(new Error(`kdc start exited: ${err}`)));
    });
    const conf = join(dir, 'krb5.conf');
    writeFileSync(conf, `[libdefaults]\n default_realm = OURS.TEST\n dns_lookup_kdc = false\n rdns = false\n[realms]\n OURS.TEST = {\n  kdc = 127.0.0.1:${ports[0]}\n  kpasswd_server = 127.0.0.1:${ports[1]}\n }\n`);
    try {
      timeChanges('ours (kdc start)', { ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(dir, 'cc')}` }, 'user', 'user-first-1');
    } finally {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
    if (args.has('no-mit') || !hasMitKdc || !findProgram('kadmind')) console.log('changes: MIT kadmind skipped');
    else {
      const mit = await startMitRealm({ realm: 'MITB.TEST', kadmind: true, principals: [{ name: 'user', password: 'user-first-1' }] });
      try {
        timeChanges('MIT 1.20 kadmind', mit.env, 'user', 'user-first-1');
      } finally {
        await mit.stop();
      }
    }
  }
} finally {
  await kdc.stop();
}
