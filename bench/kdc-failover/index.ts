// `pnpm bench kdc-failover`: two `kdc start` processes on one database and a
// krb5.conf naming both; MIT kinit + kvno in parallel loops for 20 s; the
// first KDC is killed with SIGKILL at 5 s and started again at 12 s; a
// principal is added with `kdc addprinc` while it is down. Prints the logins
// attempted and failed, the longest login during the outage (MIT's move to
// the second KDC) against the longest before it, and how long after addprinc
// returned MIT kinit got a ticket for the new principal.
//
// SQLite (two processes on one --dir) and, where PostgreSQL is installed, a
// throwaway PostgreSQL cluster (test/helpers/postgres.ts).
//
// KPOP_FAILOVER_SECONDS=kill,restart,end (default 5,12,20) and
// KPOP_FAILOVER_CLIENTS (default 4) change the scenario.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAILOVER_USER, initFailoverRealm, killAll, runFailover, type FailoverResult, type FailoverStore } from '../../test/helpers/kdc-failover.js';
import { hasMitClients } from '../../test/helpers/mit-realm.js';
import { hasPostgres, NO_POSTGRES, startPostgres } from '../../test/helpers/postgres.js';

const root = join(import.meta.dirname, '..', '..');
const [killS, restartS, endS] = (process.env.KPOP_FAILOVER_SECONDS ?? '5,12,20').split(',').map(Number) as [number, number, number];
const clients = Number(process.env.KPOP_FAILOVER_CLIENTS ?? 4);

function report(r: FailoverResult, fault: string): void {
  console.log(`${r.store}, KDC 1 ${fault}:`);
  const ms = (n: number) => `${Math.round(n)} ms`;
  console.log(`${r.store}: ${r.attempted} logins attempted (kinit + kvno, ${clients} loops), ${r.failed.length} failed`);
  for (const f of r.failed.slice(0, 5)) console.log(`  failed: ${f.detail}`);
  console.log(`${r.store}: login (kinit + kvno) median before / during / after the outage ${ms(r.medianMs.before)} / ${ms(r.medianMs.during)} / ${ms(r.medianMs.after)}; longest before ${ms(r.longestBeforeKillMs)}, during ${ms(r.longestDuringOutageMs)}`);
  console.log(`${r.store}: kdc addprinc to MIT kinit served (KDC 1 down): ${r.addprincToServedMs < 0 ? 'not served in 10 s' : `${ms(r.addprincToServedMs)}, of which the successful kinit itself ${ms(r.servedKinitMs)}`}`);
  console.log(`${r.store}: KDC 2 issued ${r.secondKdcIssuedDuringOutage} tickets during the outage; the restarted KDC 1 issued ${r.restartedIssued}; alone it served the old principal: ${r.restartedAlone.existing.ok}, the new one: ${r.restartedAlone.added.ok}`);
}

if (!hasMitClients) {
  console.log('kdc-failover: skipped (MIT kinit/kvno not installed: apt-get install krb5-user)');
} else {
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
  const tmp = mkdtempSync(join(tmpdir(), 'bench-kdc-failover-'));
  process.once('exit', killAll);
  try {
    const stores: { store: FailoverStore; stop?: () => Promise<void> }[] = [{ store: { name: 'SQLite', args: ['--dir', join(tmp, 'sqlite')] } }];
    if (hasPostgres) {
      // A throwaway cluster (fsync off, as in the tests); the URL through the environment.
      const pg = await startPostgres();
      stores.push({ store: { name: 'PostgreSQL', args: ['--dir', join(tmp, 'pg')], env: { KPOP_KDC_DB: pg.url } }, stop: () => pg.stop() });
    } else {
      console.log(`PostgreSQL: skipped (${NO_POSTGRES})`);
    }
    console.log(`scenario: ${clients} MIT login loops (${FAILOVER_USER.principal}, kvno ${FAILOVER_USER.service}); KDC 1 SIGKILLed at ${killS} s, restarted at ${restartS} s, load ends at ${endS} s`);
    for (const { store, stop } of stores) {
      try {
        await initFailoverRealm(store);
        // SIGKILL then a new `kdc start` (a crashed KDC: its port refuses at once), then SIGSTOP then
        // SIGCONT (a host gone from the network: its port answers nothing, MIT waits 1 s per request).
        for (const fault of ['kill', 'freeze'] as const) {
          const sub = mkdtempSync(join(tmp, 'run-'));
          const r = await runFailover(store, sub, { clients, fault, beforeKillMs: killS * 1000, outageMs: (restartS - killS) * 1000, afterRestartMs: (endS - restartS) * 1000 }, (l) => console.log(`  ${l}`));
          report(r, fault === 'kill' ? 'SIGKILLed and restarted' : 'frozen (SIGSTOP) and continued');
        }
      } finally {
        await stop?.();
      }
    }
  } finally {
    killAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}
