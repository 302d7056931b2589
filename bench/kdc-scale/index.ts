// A realm that grows: our KDC (`kdc start`, the built program users run, on
// its SQLite store and on PostgreSQL) beside MIT's krb5kdc 1.20 with the
// same number of principals, in the same run, at each size (default 1,000,
// 10,000 and 100,000; KDC_SCALE_SIZES=1000,5000 for others;
// KDC_SCALE_KDCS=pg for only some of sqlite,pg,mit, e.g.
// KDC_SCALE_SIZES=1000000 KDC_SCALE_KDCS=pg for a million on PostgreSQL):
//
//   start      spawn until the first AS-REQ is answered (UDP probe every 5 ms)
//   RSS        the KDC's resident set once serving, after 200 lookups
//   first AS   an AS-REQ (no pre-authentication) for each of 200 users not asked
//              for before, one after another: median and 99th percentile, ms
//   getprinc   wall time of one admin command (`kdc getprinc`, `kadmin.local -q getprinc`)
//   addprinc   wall time of `addprinc -randkey`, and until the running KDC knows the name
//              (an AS-REQ for it gets PREAUTH_REQUIRED instead of C_PRINCIPAL_UNKNOWN)
//   bulk       every principal rewritten at once (`kdc dump` + `kdc load --update`;
//              MIT: `kdb5_util load -update` of its dump) while AS exchanges go on
//              every 2 ms: the longest one and the 99th percentile during the change
//
// On PostgreSQL (a throwaway cluster, test/helpers/postgres.ts) the bulk
// rewrite is skipped above 100,000 principals (its dump alone is 600 MB).
//
// Ours is filled through the library (given keys, no string-to-key; on
// PostgreSQL loaded in chunks of 20,000 as `kdc load --update` would); MIT's
// by `kdb5_util load` of a dump whose principal lines are copies of one made
// by kadmin.local (its keys are not bound to the name, so each copy is a
// valid principal; only `alice` logs in).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeKrbErrorMessage, stringToKey } from '@kpop/common';
import { buildAsReq, initPgRealm, initRealm, type Dump } from '@kpop/kdc';
import { readStashFile } from '../../packages/kdc/src/db/master-key.js';
import { keyAad } from '../../packages/kdc/src/db/schema.js';
import { findProgram, hasMitKdc } from '../../test/helpers/mit-realm.js';
import { hasPostgres, NO_POSTGRES, startPostgres, type Postgres } from '../../test/helpers/postgres.js';
import { freeTcpUdpPort as freePort } from '../../test/helpers/free-port.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KDC_JS = join(root, 'packages/kdc/dist/bin/kdc.js');
const sizes = (process.env.KDC_SCALE_SIZES ?? '1000,10000,100000').split(',').map(Number).filter((n) => n > 0);
const PASSWORD = 'scale-pw-1';

/** One UDP exchange; null after `ms` without an answer. */
function ask(port: number, msg: Uint8Array, ms = 1000): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (v: Uint8Array | null): void => {
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => done(null), ms);
    s.on('message', (m) => done(new Uint8Array(m)));
    s.on('error', () => done(null));
    s.send(msg, port, '127.0.0.1');
  });
}

/** The KRB-ERROR code of a reply without pre-authentication: 25 known, 6 unknown. */
async function knows(port: number, realm: string, name: string): Promise<boolean> {
  const r = await ask(port, buildAsReq({ realm, cname: [name], etypes: [18] }), 500);
  if (r === null || r[0] !== 0x7e) return false;
  return decodeKrbErrorMessage(r).errorCode !== 6;
}

async function untilServing(port: number, realm: string, t0: number, limitMs = 120_000): Promise<number> {
  for (;;) {
    const r = await ask(port, buildAsReq({ realm, cname: ['alice'], etypes: [18] }), 5);
    if (r !== null) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`no KDC answer on port ${port} after ${limitMs} ms`);
  }
}

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function wall(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * Runs `change` (a child process) while AS exchanges with pre-authentication
 * go on every 2 ms, and for one second after it ends (a KDC notices changes
 * on its next refresh); latencies in ms.
 */
async function latencyDuring(port: number, realm: string, change: () => ChildProcess): Promise<{ max: number; p99: number; n: number; changeMs: number }> {
  const key = stringToKey(18, PASSWORD, `${realm}alice`);
  const lat: number[] = [];
  const t0 = performance.now();
  let stopAt = Infinity;
  let changeMs = 0;
  let failed: Error | undefined;
  const child = change();
  child.once('exit', (code) => {
    changeMs = performance.now() - t0;
    stopAt = performance.now() + 1000;
    if (code !== 0) failed = new Error(`the bulk change exited ${code}`);
  });
  while (performance.now() < stopAt) {
    const t = performance.now();
    const r = await ask(port, buildAsReq({ realm, cname: ['alice'], etypes: [18], preauthKey: key }), 10_000);
    if (r === null || r[0] !== 0x6b) throw new Error('an AS exchange failed during the bulk change');
    lat.push(performance.now() - t);
    await new Promise((r2) => setTimeout(r2, 2));
  }
  if (failed) throw failed;
  lat.sort((a, b) => a - b);
  return { max: lat[lat.length - 1]!, p99: lat[Math.floor(lat.length * 0.99)]!, n: lat.length, changeMs };
}

interface Row { kdc: string; n: number; startMs: number; rss: number; firstAs: { p50: number; p99: number }; getprincMs: number; addprincMs: number; servedMs: number; bulk: { max: number; p99: number; n: number; changeMs: number } | undefined }

/** One KDC as the measurements drive it: its server, its admin commands, its bulk rewrite. */
interface Kdc {
  label: string;
  start(): ChildProcess;
  getprinc(name: string): void;
  addprinc(name: string): void;
  /** Run before the bulk rewrite, outside its measurement (ours: the dump it loads back). */
  beforeBulk?(): void;
  /** Absent: no bulk rewrite at this size. */
  bulkRewrite?(): ChildProcess;
}

/** The same measurements of either KDC, serving `port` over a realm of `n` users. */
async function measureKdc(k: Kdc, n: number, port: number, realm: string): Promise<Row> {
  const t1 = performance.now();
  const child = k.start();
  child.stderr?.resume();
  try {
    const startMs = await untilServing(port, realm, t1);
    // AS-REQs for 200 users not asked for before (each read from the database on demand), one at a time.
    const cold: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      if (!(await knows(port, realm, `user${(i * 7919) % n}`))) throw new Error(`user${(i * 7919) % n} unknown to ${k.label}`);
      cold.push(performance.now() - t);
    }
    cold.sort((a, b) => a - b);
    const rss = rssMb(child.pid!);
    const getprincMs = wall(() => k.getprinc(`user${n >> 1}`));
    const t2 = performance.now();
    k.addprinc('newcomer');
    const addprincMs = performance.now() - t2;
    while (!(await knows(port, realm, 'newcomer'))) await new Promise((r) => setTimeout(r, 5));
    const servedMs = performance.now() - t2;
    const rewrite = k.bulkRewrite;
    const firstAs = { p50: cold[100]!, p99: cold[198]! };
    if (rewrite === undefined) return { kdc: k.label, n, startMs, rss, firstAs, getprincMs, addprincMs, servedMs, bulk: undefined };
    k.beforeBulk?.();
    const bulk = await latencyDuring(port, realm, () => rewrite());
    return { kdc: k.label, n, startMs, rss, firstAs, getprincMs, addprincMs, servedMs, bulk };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function ours(n: number): Promise<Row> {
  const top = mkdtempSync(join(tmpdir(), 'kdc-scale-ours-'));
  const dir = join(top, 'db');
  const realm = 'OURS.TEST';
  try {
    const db = initRealm(dir, { realm });
    db.addPrincipal('alice', { password: PASSWORD, enctypes: [18] });
    const k32 = new Uint8Array(32);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      k32[0] = i & 0xff;
      k32[1] = (i >> 8) & 0xff;
      db.addPrincipal(`user${i}`, { keys: [{ etype: 18, key: k32 }, { etype: 17, key: k32.subarray(0, 16) }] });
      if (i % 20000 === 19999) process.stderr.write(`  ours: ${i + 1}/${n} principals (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
    db.close();
    const port = await freePort();
    const kdc = (args: string[]): string => execFileSync(process.execPath, [KDC_JS, ...args, '--dir', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
    const dumpFile = join(top, 'dump.json');
    return await measureKdc({
      label: 'ours (kdc start, SQLite)',
      start: () => spawn(process.execPath, [KDC_JS, 'start', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--kpasswd-listen', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] }),
      getprinc: (name) => void kdc(['getprinc', name]),
      addprinc: (name) => void kdc(['addprinc', '--randkey', name]),
      beforeBulk: () => writeFileSync(dumpFile, kdc(['dump']), { mode: 0o600 }),
      bulkRewrite: () => spawn(process.execPath, [KDC_JS, 'load', '--update', dumpFile, '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] }),
    }, n, port, realm);
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}

/** Principals at most for which the bulk rewrite (dump + load --update of the whole realm) is measured on PostgreSQL. */
const PG_BULK_MAX = 100_000;

async function oursPg(pg: Postgres, n: number): Promise<Row> {
  const top = mkdtempSync(join(tmpdir(), 'kdc-scale-pg-'));
  const dir = join(top, 'db');
  const realm = 'OURS.TEST';
  const database = `scale${n}`;
  pg.createDatabase(database);
  const url = pg.urlFor(database);
  try {
    const db = await initPgRealm(url, dir, { realm, follow: false });
    await db.addPrincipal('alice', { password: PASSWORD, enctypes: [18] });
    await db.addPrincipal('template0', { randkey: true, enctypes: [18, 17] });
    // Every user a copy of template0's row with keys of its own, encrypted under the master key for its name (as kdc load takes them).
    const { principals, ...header } = (await db.dump()) as Dump;
    const template = principals.find((p) => p.name === `template0@${realm}`)!;
    const mkey = readStashFile(join(dir, 'stash'));
    const k32 = new Uint8Array(32);
    const t0 = performance.now();
    const CHUNK = 20_000;
    for (let at = 0; at < n; at += CHUNK) {
      const chunk = [];
      for (let i = at; i < Math.min(n, at + CHUNK); i++) {
        k32[0] = i & 0xff;
        k32[1] = (i >> 8) & 0xff;
        k32[2] = (i >> 16) & 0xff;
        const name = `user${i}@${realm}`;
        const keys = [[18, k32], [17, k32.subarray(0, 16)]] as const;
        chunk.push({ ...template, name, components: [`user${i}`], keys: keys.map(([etype, key]) => ({ kvno: 1, etype, salt: `${realm}user${i}`, key: Buffer.from(mkey.encrypt(key, keyAad(name, 1, etype))).toString('base64') })) });
      }
      await db.load({ ...header, principals: chunk }, { update: true });
      if ((at + CHUNK) % 100_000 === 0 || at + CHUNK >= n) process.stderr.write(`  ours on PostgreSQL: ${Math.min(n, at + CHUNK)}/${n} principals (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
    await db.close();
    // What an administrator runs after a bulk load (pg_restore's advice too): otherwise autovacuum
    // works through the new rows during the measurements below (seconds of a core at a million rows).
    pg.psql('VACUUM ANALYZE', database);
    const port = await freePort();
    // The URL (with its password) travels in the environment, never on a command line.
    const env = { ...process.env, KPOP_KDC_DB: url };
    const kdc = (args: string[]): string => execFileSync(process.execPath, [KDC_JS, ...args, '--dir', dir], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
    const dumpFile = join(top, 'dump.json');
    return await measureKdc({
      label: 'ours (kdc start, PostgreSQL)',
      start: () => spawn(process.execPath, [KDC_JS, 'start', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--kpasswd-listen', 'none'], { env, stdio: ['ignore', 'ignore', 'pipe'] }),
      getprinc: (name) => void kdc(['getprinc', name]),
      addprinc: (name) => void kdc(['addprinc', '--randkey', name]),
      ...(n <= PG_BULK_MAX ? {
        beforeBulk: () => writeFileSync(dumpFile, kdc(['dump']), { mode: 0o600 }),
        bulkRewrite: () => spawn(process.execPath, [KDC_JS, 'load', '--update', dumpFile, '--dir', dir], { env, stdio: ['ignore', 'ignore', 'inherit'] }),
      } : {}),
    }, n, port, realm);
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}

async function mit(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'kdc-scale-mit-'));
  const realm = 'MIT.TEST';
  const port = await freePort();
  const env = { ...process.env, KRB5_KDC_PROFILE: join(dir, 'kdc.conf'), KRB5_CONFIG: join(dir, 'krb5.conf'), LANG: 'C' };
  writeFileSync(env.KRB5_KDC_PROFILE, `[kdcdefaults]\n\tkdc_listen = 127.0.0.1:${port}\n\tkdc_tcp_listen = 127.0.0.1:${port}\n[realms]\n\t${realm} = {\n\t\tdatabase_name = ${dir}/principal\n\t\tkey_stash_file = ${dir}/stash\n\t\tsupported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n\t\tdefault_principal_flags = +preauth\n\t\tdisable_pac = true\n\t}\n[logging]\n\tkdc = FILE:${dir}/kdc.log\n`);
  writeFileSync(env.KRB5_CONFIG, `[libdefaults]\n\tdefault_realm = ${realm}\n`);
  const run = (prog: string, args: string[]): string => execFileSync(findProgram(prog)!, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  try {
    run('kdb5_util', ['create', '-s', '-r', realm, '-P', 'master-password-for-bench']);
    run('kadmin.local', ['-r', realm, '-q', `addprinc -pw ${PASSWORD} -e aes256-cts:normal alice`]);
    run('kadmin.local', ['-r', realm, '-q', 'addprinc -randkey template0']);
    const dumpFile = join(dir, 'dump');
    run('kdb5_util', ['-r', realm, 'dump', dumpFile]);
    const lines = readFileSync(dumpFile, 'utf8').split('\n');
    const template = lines.find((l) => l.includes('\ttemplate0@MIT.TEST\t'))!;
    const fields = template.split('\t');
    // princ  38  name-length  n-tl  n-keys  e-length  name  ...
    const copies: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `user${i}@${realm}`;
      fields[2] = String(name.length);
      fields[6] = name;
      copies.push(fields.join('\t'));
    }
    const bulkFile = join(dir, 'bulk');
    writeFileSync(bulkFile, [lines[0], ...copies, ''].join('\n'));
    run('kdb5_util', ['-r', realm, 'load', '-update', bulkFile]);
    return await measureKdc({
      label: 'MIT krb5kdc 1.20 (db2)',
      start: () => spawn(findProgram('krb5kdc')!, ['-n', '-r', realm], { env, stdio: ['ignore', 'ignore', 'pipe'] }),
      getprinc: (name) => void run('kadmin.local', ['-r', realm, '-q', `getprinc ${name}`]),
      addprinc: (name) => void run('kadmin.local', ['-r', realm, '-q', `addprinc -randkey ${name}`]),
      bulkRewrite: () => spawn(findProgram('kdb5_util')!, ['-r', realm, 'load', '-update', bulkFile], { env, stdio: ['ignore', 'ignore', 'inherit'] }),
    }, n, port, realm);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!existsSync(KDC_JS)) throw new Error(`${KDC_JS} is missing: run node scripts/build.mjs first`);
console.log('principals  KDC                            start ms  RSS MB  first AS p50/p99 ms  getprinc ms  addprinc ms  served ms  bulk change: s   AS max ms  AS p99 ms  (AS exchanges)');
const kdcs = new Set((process.env.KDC_SCALE_KDCS ?? 'sqlite,pg,mit').split(','));
const pg = kdcs.has('pg') && hasPostgres ? await startPostgres() : undefined;
if (kdcs.has('pg') && !hasPostgres) console.log(`  (ours on PostgreSQL skipped: ${NO_POSTGRES})`);
if (kdcs.has('mit') && !hasMitKdc) console.log(`  (MIT krb5kdc not installed: apt-get install krb5-kdc krb5-admin-server for the side-by-side figures)`);
try {
  for (const n of sizes) {
    const rows: Row[] = [];
    if (kdcs.has('sqlite')) rows.push(await ours(n));
    if (pg !== undefined) rows.push(await oursPg(pg, n));
    if (kdcs.has('mit') && hasMitKdc) rows.push(await mit(n));
    for (const r of rows) {
      const b = r.bulk === undefined ? `${'(not run)'.padStart(14)}  ${''.padStart(10)}  ${''.padStart(9)}` : `${(r.bulk.changeMs / 1000).toFixed(1).padStart(14)}  ${r.bulk.max.toFixed(1).padStart(10)}  ${r.bulk.p99.toFixed(1).padStart(9)}  (${r.bulk.n})`;
      console.log(`${String(r.n).padStart(10)}  ${r.kdc.padEnd(29)} ${r.startMs.toFixed(0).padStart(8)}  ${r.rss.toFixed(0).padStart(6)}  ${`${r.firstAs.p50.toFixed(2)} / ${r.firstAs.p99.toFixed(2)}`.padStart(19)}  ${r.getprincMs.toFixed(0).padStart(11)}  ${r.addprincMs.toFixed(0).padStart(11)}  ${r.servedMs.toFixed(0).padStart(9)}  ${b}`);
    }
  }
} finally {
  await pg?.stop();
}
