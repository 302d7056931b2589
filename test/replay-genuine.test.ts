/**
 * False replays (issue 10, item 8), on genuine MIT bytes. libkrb5 makes an
 * authenticator's (ctime, cusec) unique only within one process, so two
 * clients of one principal can send two genuine authenticators with the same
 * client and timestamp. Here that is forced: each client runs under
 * libfaketime with the clock frozen at T, so every process stamps T.000000.
 * Both must be accepted (MIT 1.18+ keys its replay cache on the ciphertext);
 * the same bytes sent again must be refused with KRB_AP_ERR_REPEAT:
 * - at the acceptor (acceptApReq with python3-gssapi initial tokens);
 * - through POP3 AUTH GSSAPI (python3-gssapi + poplib);
 * - through KPOP (libkrb5's own krb5_sendauth via ctypes, what fetchmail calls);
 * - and at our KDC: two MIT kvno with the same timestamp both get tickets.
 * Skips only where a peer is missing (CI installs them all).
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptApReq, decodeApReq, decodeContextToken, ErrorCode, KrbError, readKeytab, ReplayCache, type Keytab } from '@kpop/common';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { deliver, startPopServer, type PopServer } from '@kpop/kpop';
import { has, PopClient, run, tempDir } from './kpop-helpers.js';
import { faketimeCommand } from './helpers/mit-clock.js';

const PY = '/usr/bin/python3';
const CLIENTS = join(import.meta.dirname, 'fixtures', 'clients');
const T = new Date('2026-03-01T12:00:00Z');
const FROZEN = '2026-03-01 12:00:00';
const hasPeers = has('kinit') && has('kvno') && has('faketime') && existsSync(PY);
const hasGssapi = hasPeers && (await run(PY, ['-c', 'import gssapi']).then((r) => r.code === 0, () => false));
const why = hasGssapi ? '' : ' (skipped: needs MIT krb5-user, faketime and python3-gssapi: apt-get install krb5-user faketime python3-gssapi)';

let kdc: TestKdc;
let pop: PopServer;
let keytab: Keytab;
let tmp: ReturnType<typeof tempDir>;
const popLog: Record<string, unknown>[] = [];
const kdcLog: Record<string, unknown>[] = [];
let n = 0;

/** A copy of the prepared ccache (TGT and pop/localhost ticket), so no client finds another's state. */
function ccache(): string {
  const p = join(tmp.dir, `cc${++n}`);
  copyFileSync(join(tmp.dir, 'cc'), p);
  return p;
}

/** Runs an MIT program (or a python one on libkrb5) with its clock frozen at T. */
function frozen(program: string, args: string[], cc: string, input?: string) {
  return run(...faketimeCommand(FROZEN, program, args), {
    env: { ...kdc.env, KRB5CCNAME: `FILE:${cc}`, TZ: 'UTC', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    ...(input !== undefined ? { input } : {}),
    timeoutMs: 60_000,
  });
}

/** The authenticator's client and timestamp, read with the service key (a fresh cache: this is only a look). */
function stamp(apReq: Uint8Array): string {
  const a = acceptApReq(apReq, { keytab, now: T });
  return `${a.client.name.nameString.join('/')}@${a.client.realm} ${a.authenticator.ctime.toISOString()} ${a.authenticator.cusec}`;
}

function apReqOfToken(b64: string): Uint8Array {
  return decodeContextToken(Buffer.from(b64.trim(), 'base64')).message;
}

/** A logging TCP relay (client → server bytes kept) in front of a port. */
function relay(port: number): Promise<{ server: Server; port: number; sent: Buffer[] }> {
  const sent: Buffer[] = [];
  const server = createServer((c) => {
    const chunks: Buffer[] = [];
    sent.push(Buffer.alloc(0));
    const idx = sent.length - 1;
    const up = connect(port, '127.0.0.1');
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      sent[idx] = Buffer.concat(chunks);
      up.write(d);
    });
    up.on('data', (d) => c.write(d));
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
    c.on('error', () => {});
    up.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, sent })));
}

/** Sendauth frames (4-byte length + bytes): versions, application version, AP-REQ. */
function sendauthFrames(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (out.length < 3 && off + 4 <= b.length) {
    const len = b.readUInt32BE(off);
    out.push(b.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

describe.skipIf(!hasGssapi)(`two genuine authenticators with one client and timestamp, and a replay${why}`, () => {
  beforeAll(async () => {
    tmp = tempDir('kpop-replay-');
    kdc = await startTestKdc({ realm: 'KPOP.TEST', principals: { alice: 'alice-pw-1', 'pop/localhost': { randkey: true } }, now: () => T, log: (r) => kdcLog.push(r) });
    const kt = kdc.keytab(['pop/localhost'], join(tmp.dir, 'pop.keytab'));
    keytab = readKeytab(kt);
    pop = await startPopServer({ maildirRoot: join(tmp.dir, 'mail'), realm: 'KPOP.TEST', keytab: kt, kpop: { host: '127.0.0.1', port: 0 }, pop3: { host: '127.0.0.1', port: 0 }, allowPlaintextAuth: false, now: () => T, log: (r) => popLog.push(r) });
    await deliver(join(tmp.dir, 'mail', 'alice'), Buffer.from('Subject: one\r\n\r\nhello\r\n'));
    const cc = join(tmp.dir, 'cc');
    const k = await frozen('kinit', ['alice@KPOP.TEST'], cc, 'alice-pw-1\n');
    expect(k.code, k.stderr).toBe(0);
    const v = await frozen('kvno', ['pop/localhost@KPOP.TEST'], cc);
    expect(v.code, v.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await pop?.close();
    await kdc?.stop();
    tmp?.cleanup();
  });

  it('at the acceptor: both python3-gssapi tokens are accepted, the first one again is a replay', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      const out = join(tmp.dir, `tok${i}`);
      const r = await frozen(PY, ['-c', `import base64,gssapi\nc=gssapi.SecurityContext(name=gssapi.Name('pop@localhost',gssapi.NameType.hostbased_service),usage='initiate',flags=gssapi.RequirementFlag.mutual_authentication)\nopen('${out}','w').write(base64.b64encode(c.step()).decode())`], ccache());
      expect(r.code, r.stderr).toBe(0);
      tokens.push(readFileSync(out, 'utf8'));
    }
    const [a, b] = tokens.map(apReqOfToken) as [Uint8Array, Uint8Array];
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).not.toBe(0);
    expect(stamp(a)).toBe(stamp(b));
    expect(stamp(a)).toBe('alice@KPOP.TEST 2026-03-01T12:00:00.000Z 0');
    const rc = new ReplayCache();
    const accept = (x: Uint8Array) => acceptApReq(x, { keytab, now: T, replayCache: rc });
    expect(accept(a).client.name.nameString).toEqual(['alice']);
    expect(accept(b).client.name.nameString).toEqual(['alice']);
    let err: unknown;
    try {
      accept(a);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KrbError);
    expect((err as KrbError).code).toBe(ErrorCode.KRB_AP_ERR_REPEAT);
  }, 60_000);

  it('through POP3 AUTH GSSAPI: two python3-gssapi/poplib logins both succeed; their first token replayed is refused', async () => {
    const port = String(pop.pop3!.port);
    const toks = [join(tmp.dir, 'p0'), join(tmp.dir, 'p1')];
    for (const t of toks) {
      const r = await frozen(PY, [join(CLIENTS, 'pop3_gssapi.py'), 'localhost', port, t], ccache());
      expect(r.stdout + r.stderr).toMatch(/"ok": true/);
      expect(JSON.parse(r.stdout).stat).toMatch(/^\+OK 1 /);
    }
    const [a, b] = toks.map((t) => apReqOfToken(readFileSync(t, 'utf8'))) as [Uint8Array, Uint8Array];
    expect(stamp(a)).toBe(stamp(b));
    // The same initial token again, on a fresh connection: refused.
    const c = await PopClient.connect(pop.pop3!.port);
    expect(await c.line()).toMatch(/^\+OK/);
    await c.send('AUTH GSSAPI');
    expect(await c.line()).toBe('+ ');
    await c.send(readFileSync(toks[0]!, 'utf8').trim());
    expect(await c.line()).toMatch(/^-ERR \[AUTH\]/);
    c.close();
    const fails = popLog.filter((r) => r.event === 'auth' && r.mech === 'GSSAPI' && r.ok === false);
    expect(fails).toHaveLength(1);
    expect(String(fails[0]!.reason)).toMatch(/replay/i);
    expect(popLog.filter((r) => r.event === 'auth' && r.mech === 'GSSAPI' && r.ok === true)).toHaveLength(2);
  }, 60_000);

  it('through KPOP: two krb5_sendauth (libkrb5) logins both succeed; the first AP-REQ replayed is refused', async () => {
    const rel = await relay(pop.kpop!.port);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await frozen(PY, [join(CLIENTS, 'kpop_sendauth.py'), 'localhost', String(rel.port), 'alice'], ccache());
        expect(r.stdout + r.stderr).toMatch(/"ok": true/);
        expect(JSON.parse(r.stdout).stat).toMatch(/^\+OK 1 /);
      }
      expect(rel.sent).toHaveLength(2);
      const [fa, fb] = rel.sent.map(sendauthFrames) as [Buffer[], Buffer[]];
      expect(fa[1]!.toString('latin1')).toBe('KPOPV1.0\0');
      expect(decodeApReq(fa[2]!).apOptions & 0x20000000).not.toBe(0);
      expect(stamp(fa[2]!)).toBe(stamp(fb[2]!));
      // The first client's sendauth bytes again: MIT's recvauth answer, a non-zero length and a KRB-ERROR 34.
      const raw = rel.sent[0]!;
      const headerLen = 4 + fa[0]!.length + 4 + fa[1]!.length + 4 + fa[2]!.length;
      const c = await PopClient.connect(pop.kpop!.port);
      c.socket.write(raw.subarray(0, headerLen));
      const ver = await c.bytes(1);
      expect(ver[0]).toBe(0);
      const lenBytes = await c.bytes(4);
      const errLen = lenBytes.readUInt32BE(0);
      expect(errLen).toBeGreaterThan(0);
      const der = await c.bytes(errLen);
      // KRB-ERROR error-code [6] INTEGER 34.
      expect(Buffer.from(der).includes(Buffer.from([0xa6, 0x03, 0x02, 0x01, ErrorCode.KRB_AP_ERR_REPEAT]))).toBe(true);
      c.close();
      const kp = popLog.filter((r) => r.event === 'auth' && r.mech === 'KPOP' && r.ok === false);
      expect(kp.map((r) => r.code)).toEqual(['KRB_AP_ERR_REPEAT']);
    } finally {
      rel.server.close();
    }
  }, 60_000);

  it('at our KDC: two MIT kvno with the same client and timestamp both get their ticket', async () => {
    const before = kdcLog.length;
    for (let i = 0; i < 2; i++) {
      const cc = ccache();
      // kinit starts the ccache afresh (a TGT only), so kvno sends a TGS-REQ.
      const k = await frozen('kinit', ['alice@KPOP.TEST'], cc, 'alice-pw-1\n');
      expect(k.code, k.stderr).toBe(0);
      const v = await frozen('kvno', ['pop/localhost@KPOP.TEST'], cc);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/kvno = 1/);
    }
    const tgs = kdcLog.slice(before).filter((r) => r.msg === 'TGS_REQ');
    expect(tgs.map((r) => r.status)).toEqual(['ISSUE', 'ISSUE']);
  }, 60_000);
});
