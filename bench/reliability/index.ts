// `pnpm bench reliability`: hostile input per protocol and crash trials, with
// counts anyone can repeat (seeded: RELIABILITY_SEED). RELIABILITY_N sets the
// inputs per protocol (default 100,000; the test suite runs smaller counts:
// test/kdc-fuzz.test.ts, test/kpop-hostile.test.ts), RELIABILITY_TRIALS the
// kill -9 trials (default 20). Each line: inputs, what came back, and whether
// the server still served a valid request afterwards.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { frameMessage } from '@kpop/common';
import { buildAsReq, derMutator, initRealm, openAsRep, openDatabase, processRequest, rng, startKdcServer, type HandlerContext } from '@kpop/kdc';
import { startPopServer } from '@kpop/kpop';
import { mitPopKeytab, MIT_NOW } from '../../packages/common/src/gss/testing/initiator.js';
import { fuzzMailListeners } from '../../test/listeners-fuzz.js';
import { quitCrashTrials } from '../../test/quit-crash.js';
import { CAPTURE_TIME, MIT_KEYS, fixture, mitFixtureRealm } from '../../test/kdc-helpers.js';

const N = Number(process.env.RELIABILITY_N ?? 100_000);
const TRIALS = Number(process.env.RELIABILITY_TRIALS ?? 20);
const SEED = Number(process.env.RELIABILITY_SEED ?? 0x5eed1234);
// RELIABILITY_ONLY=a,b runs some parts: kdc, pop3, db, delivery, listeners, quit, secrets (default: all).
const ONLY = process.env.RELIABILITY_ONLY?.split(',');
const want = (part: string): boolean => !ONLY || ONLY.includes(part);
const here = import.meta.dirname;
// better-sqlite3 is the KDC package's dependency; the crash trials open the file with it directly.
type RawDb = { pragma(p: string, o: { simple: true }): unknown; close(): void };
const Database = createRequire(join(here, '..', '..', 'packages', 'kdc', 'package.json'))('better-sqlite3') as new (path: string) => RawDb;
const CAPTURES = ['01-alice-AS-REQ.hex', '03-alice-AS-REQ.hex', '05-alice-TGS-REQ.hex', '07-bench-AS-REQ.hex', '09-bench-AS-REQ.hex', '13-alice-AS-REQ.hex', '15-nosuchuser-AS-REQ.hex'].map(fixture);
const mutate = derMutator(CAPTURES);
const rows: string[][] = [];
const row = (what: string, inputs: number, outcome: string, after: string, s: number): void => {
  rows.push([what, inputs.toLocaleString('en'), outcome, after, `${s.toFixed(1)} s`]);
  console.log(`${what.padEnd(34)} ${inputs.toLocaleString('en').padStart(9)}  ${outcome}  | afterwards: ${after}  (${s.toFixed(1)} s)`);
};
const secs = (t0: number): number => (performance.now() - t0) / 1000;
console.log(`inputs per protocol ${N}, crash trials ${TRIALS}, seed 0x${SEED.toString(16)} (machine shared with other work: times are indicative)`);

const realm = mitFixtureRealm();
const validAsReq = (): Uint8Array => buildAsReq({ realm: 'LAB.TEST', cname: ['alice'], preauthKey: { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 }, now: CAPTURE_TIME });
const served = (reply: Uint8Array | null | undefined): string => {
  try {
    return openAsRep(reply!, { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 }).part.srealm === 'LAB.TEST' ? 'served a valid AS-REQ' : 'WRONG REPLY';
  } catch (e) {
    return `NOT SERVED (${(e as Error).message})`;
  }
};

// 1. The KDC's request handler (what both sockets call).
if (want('kdc')) {
  const ctx: HandlerContext = { store: realm.db, now: () => CAPTURE_TIME, enctypes: [18, 17, 20, 19] };
  const r = rng(SEED);
  const counts = { error: 0, reply: 0, silence: 0, thrown: 0 };
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    try {
      const res = processRequest(mutate(r), ctx, { transport: i % 2 ? 'udp' : 'tcp', address: '127.0.0.1', port: 1 });
      if (res.reply === null) counts.silence++;
      else if (res.reply[0] === 0x7e) counts.error++;
      else counts.reply++;
    } catch {
      counts.thrown++;
    }
  }
  Error.stackTraceLimit = limit;
  row('KDC handler, mutated MIT captures', N, `${counts.error} KRB-ERROR, ${counts.reply} replies, ${counts.silence} silent, ${counts.thrown} thrown`, served(processRequest(validAsReq(), ctx, { transport: 'udp' }).reply), secs(t0));
}

// 2 and 3. The same over real UDP and TCP sockets.
if (want('kdc')) {
const kdc = await startKdcServer({ store: realm.db, listen: [{ host: '127.0.0.1', port: 0 }], log: () => {}, now: () => CAPTURE_TIME, lookaside: false, tcp: { frameTimeoutMs: 300, idleTimeoutMs: 1000 } });
const port = kdc.udp[0]!.port;
async function udpValid(): Promise<string> {
  const sock = dgram.createSocket('udp4');
  const reply = await new Promise<Uint8Array | null>((resolve) => {
    const t = setTimeout(() => resolve(null), 2000);
    sock.on('message', (m) => (clearTimeout(t), resolve(new Uint8Array(m))));
    sock.send(validAsReq(), port, '127.0.0.1');
  });
  sock.close();
  return served(reply);
}
{
  const r = rng(SEED + 1);
  const sock = dgram.createSocket('udp4');
  let replies = 0;
  sock.on('message', () => replies++);
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  const t0 = performance.now();
  // In windows of 64 datagrams, so that the socket buffers never drop what was sent.
  for (let i = 0; i < N; i += 64) {
    const before = replies;
    const n = Math.min(64, N - i);
    for (let k = 0; k < n; k++) sock.send(mutate(r), port, '127.0.0.1');
    // Until every datagram is answered or none has come for 20 ms (the rest get silence).
    let last = replies;
    let quietSince = Date.now();
    while (replies - before < n && Date.now() - quietSince < 20) {
      await new Promise((res) => setImmediate(res));
      if (replies !== last) (last = replies), (quietSince = Date.now());
    }
  }
  await new Promise((res) => setTimeout(res, 200));
  sock.close();
  row('KDC over UDP', N, `${replies} replies, ${N - replies} silent`, await udpValid(), secs(t0));
}
{
  const r = rng(SEED + 2);
  const perConn = 4; // the server closes a connection at its first malformed frame
  let replies = 0;
  let closedByServer = 0;
  const t0 = performance.now();
  const session = (): Promise<void> =>
    new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          replies++;
          buf = buf.subarray(4 + buf.readUInt32BE(0));
        }
      });
      sock.on('end', () => closedByServer++);
      sock.on('error', () => {});
      sock.on('close', () => resolve());
      sock.setTimeout(1500, () => sock.destroy());
      sock.end(Buffer.concat(Array.from({ length: perConn }, () => frameMessage(mutate(r)))));
    });
  const conns = Math.ceil(N / perConn);
  for (let c = 0; c < conns; c += 16) await Promise.all(Array.from({ length: Math.min(16, conns - c) }, session));
  const sock = dgram.createSocket('udp4');
  row('KDC over TCP (4 frames a connection)', conns * perConn, `${replies} replies; ${closedByServer} of ${conns} connections closed by the server`, await udpValid(), secs(t0));
  sock.close();
}
await kdc.close();
}

// 4 and 5. POP3 command lines and KPOP sendauth frames.
if (want('pop3')) {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-reliability-'));
  const pop = await startPopServer({ maildirRoot: join(tmp, 'mail'), realm: 'LAB.TEST', keytab: mitPopKeytab(), now: () => MIT_NOW, pop3: { host: '127.0.0.1', port: 0 }, kpop: { host: '127.0.0.1', port: 0 }, log: () => {}, idleTimeoutMs: 2000 });
  const r = rng(SEED + 3);
  const verbs = ['USER', 'PASS', 'AUTH', 'AUTH GSSAPI', 'AUTH PLAIN', 'AUTH CRAM-MD5', 'STLS', 'CAPA', 'RETR', 'TOP', 'LIST', 'DELE', 'UIDL', 'APOP', 'NOOP', 'RSET', '*', '+', '.', ''];
  const junk = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(r(4) === 0 ? r(256) : 32 + r(95))).join('');
  const popValid = async (): Promise<string> => {
    const got = await new Promise<string>((resolve) => {
      const s = net.connect(pop.pop3!.port, '127.0.0.1');
      let text = '';
      s.on('data', (d) => {
        text += d.toString('latin1');
        if (/^\+OK.*\r\n/.test(text) && !text.includes('CAPA')) s.write('CAPA\r\nQUIT\r\n'), (text += 'CAPA');
      });
      s.on('close', () => resolve(text));
      s.on('error', () => resolve(text));
      s.setTimeout(3000, () => s.destroy());
    });
    return /\+OK Logging out/.test(got) ? 'served CAPA and QUIT' : `NOT SERVED (${JSON.stringify(got.slice(0, 80))})`;
  };
  const throwAt = (p: number, data: Buffer): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect(p, '127.0.0.1');
      let closed = false;
      s.on('end', () => (closed = true));
      s.on('error', () => {});
      s.on('close', () => resolve(closed));
      s.setTimeout(200, () => s.destroy()); // the server may wait for more: silence is an answer
      s.end(data);
    });
  let t0 = performance.now();
  const perConn = 100;
  let closedByServer = 0;
  const conns = Math.ceil(N / perConn);
  for (let c = 0; c < conns; c += 16) {
    const batch = Array.from({ length: Math.min(16, conns - c) }, () => Buffer.from(Array.from({ length: perConn }, () => `${verbs[r(verbs.length)]} ${junk(r(40))}\r\n`).join(''), 'latin1'));
    closedByServer += (await Promise.all(batch.map((b) => throwAt(pop.pop3!.port, b)))).filter(Boolean).length;
  }
  row('POP3 command lines (100 a connection)', conns * perConn, `${closedByServer} of ${conns} connections closed by the server`, await popValid(), secs(t0));
  t0 = performance.now();
  closedByServer = 0;
  const frames = Math.ceil(N / 10); // each a connection of its own
  for (let c = 0; c < frames; c += 32) {
    const batch = Array.from({ length: Math.min(32, frames - c) }, () => {
      // A sendauth exchange: the length-prefixed version strings, then an AP-REQ frame, all mutated.
      const parts = [frameMessage(Buffer.from('KRB5_SENDAUTH_V1.0\0')), frameMessage(Buffer.from('KPOPV0.1\0')), frameMessage(mutate(r))];
      const all = Buffer.concat(parts);
      for (let k = r(4); k > 0; k--) all[r(all.length)] = r(256);
      return r(3) === 0 ? all.subarray(0, r(all.length)) : all;
    });
    closedByServer += (await Promise.all(batch.map((b) => throwAt(pop.kpop!.port, b)))).filter(Boolean).length;
  }
  row('KPOP sendauth exchanges', frames, `${closedByServer} of ${frames} connections closed by the server`, await popValid(), secs(t0));
  await pop.close();
  rmSync(tmp, { recursive: true, force: true });
}

// 6. kill -9 during database writes: every principal the writer reported committed is there, and the file is sound.
if (want('db')) {
  const t0 = performance.now();
  let lost = 0;
  let unsound = 0;
  let committed = 0;
  const r = rng(SEED + 4);
  for (let t = 0; t < TRIALS; t++) {
    const dir = join(mkdtempSync(join(tmpdir(), 'bench-crash-')), 'db');
    initRealm(dir, { realm: 'CRASH.TEST' }).close();
    // One process (node with tsx's loader, not the tsx wrapper, whose SIGKILL would leave the writer running).
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'db-writer.ts'), dir, `t${t}-`], { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(here, '..', '..') });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Kill at a random moment once writes are under way.
    while (!out.includes('\n')) await new Promise((res) => setTimeout(res, 5));
    await new Promise((res) => setTimeout(res, 20 + r(400)));
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    // Only complete lines: a name is printed after its transaction committed.
    const names = out.slice(0, out.lastIndexOf('\n')).split('\n').filter((l) => l.length > 0);
    committed += names.length;
    const raw = new Database(join(dir, 'kdc.sqlite'));
    if (raw.pragma('integrity_check', { simple: true }) !== 'ok') unsound++;
    raw.close();
    const db = openDatabase(dir);
    for (const n of names) if (!db.getPrincipal(n)) lost++;
    db.close();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
  row('kill -9 during DB writes', TRIALS, `${committed} principals reported committed, ${lost} lost, ${unsound} files failing integrity_check`, 'each database opens', secs(t0));
}

// 7. kill -9 during delivery: every message deliver() returned is in new/, whole; nothing partial is in new/ or cur/.
if (want('delivery')) {
  const t0 = performance.now();
  let delivered = 0;
  let missing = 0;
  let partial = 0;
  let leftInTmp = 0;
  const r = rng(SEED + 5);
  for (let t = 0; t < TRIALS; t++) {
    const root = mkdtempSync(join(tmpdir(), 'bench-deliver-'));
    const box = join(root, 'alice');
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'mail-writer.ts'), box], { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(here, '..', '..') });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    while (!out.includes('\n')) await new Promise((res) => setTimeout(res, 5));
    await new Promise((res) => setTimeout(res, 20 + r(400)));
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    const done = new Set(out.slice(0, out.lastIndexOf('\n')).split('\n').filter((l) => l.length > 0).map(Number));
    delivered += done.size;
    const seen = new Set<number>();
    for (const sub of ['new', 'cur']) {
      for (const f of readdirSync(join(box, sub))) {
        const text = readFileSync(join(box, sub, f), 'latin1');
        const m = /^Subject: crash trial (\d+)\n/.exec(text);
        const n = m ? Number(m[1]) : -1;
        if (n < 0 || !text.endsWith(`\nend of ${n}\n`) || text.length !== `Subject: crash trial ${n}\n\n`.length + 1000 + ((n * 7919) % 200_000) + `\nend of ${n}\n`.length) partial++;
        else seen.add(n);
      }
    }
    for (const n of done) if (!seen.has(n)) missing++;
    leftInTmp += readdirSync(join(box, 'tmp')).length;
    rmSync(root, { recursive: true, force: true });
  }
  row('kill -9 during delivery', TRIALS, `${delivered} messages reported delivered, ${missing} missing, ${partial} partial in new/ or cur/, ${leftInTmp} left in tmp/`, 'every Maildir readable', secs(t0));
}

// 8. SASL GSSAPI tokens, TLS handshakes, LMTP sessions (test/listeners-fuzz.ts), then the secrets grep over that run's logs and spool.
if (want('listeners')) {
  const res = await fuzzMailListeners({ n: N, seed: SEED, onRow: (r) => row(r.input, r.count, r.outcome, r.afterwards, r.seconds) });
  row('secrets grep (logs and spool of the listeners run)', res.secretsSearched, `${res.secretHits.length} hits in ${res.logLines} log lines and ${res.filesSearched} files; ${res.uncaught.length} uncaught errors; ${res.connectionsLeft} connections left open`, 'keys (hex, base64), password, TLS private keys', 0);
  for (const h of res.secretHits) console.log(`SECRET FOUND: ${h}`);
}

// 9. kill -9 of the POP3 server during QUIT (test/quit-crash.ts).
if (want('quit')) {
  const t0 = performance.now();
  const q = await quitCrashTrials(TRIALS, SEED + 6);
  row('kill -9 during QUIT (60 messages a box, RETR+DELE all)', TRIALS, `${q.messages} messages, ${q.fetched} fetched whole, ${q.leftInBox} still in the Maildir, ${q.lost} lost, ${q.partial} partial; ${q.quitAnswered} QUITs answered before the kill`, 'every message in the box or fetched', secs(t0));
}

realm.cleanup();
console.log('\n| Input | Count | Outcome | Afterwards | Time |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
