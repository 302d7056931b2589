/**
 * Issue 10, item 4: one client cannot lock everyone out. From 127.0.0.2 a
 * hog holds (or keeps trying to hold) 1,000 idle and 200 drip-feeding
 * connections (a byte every 5 s) on every port: POP3, POP3S, KPOP and the
 * KDC's TCP. Meanwhile real clients from 127.0.0.1 log in on every port:
 * curl AUTH=GSSAPI on POP3, POP3S, IMAP and IMAPS, our `kpop fetch --kpop` on KPOP, and
 * MIT kinit over TCP (udp_preference_limit = 1) against the KDC. Asserted:
 * each login succeeds while the hog is at it, the hog never holds more than
 * its per-address share, and the refusals are logged once per address and
 * interval, not once per connection. The login times are printed (no timed
 * assertions: the machine is shared); bench/limits measures them too.
 *
 * The hog runs in its own process under `ulimit -n` (4,800 sockets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_CONNECTION_LIMITS, encodeSendauthPreamble, loadKrb5Config } from '@kpop/common';
import { mitPopKeytab, MIT_NOW } from '../packages/common/src/gss/testing/initiator.js';
import { DEFAULT_TCP_LIMITS, startTestKdc, type TestKdc } from '@kpop/kdc';
import { createCa, deliver, issueServerCert, startPopServer, type LogRecord, type PopServer } from '@kpop/kpop';
import { runFetchCli } from '../packages/kpop/src/fetch/index.js';
import { has, PopClient, run, tempDir } from './kpop-helpers.js';

const HOG_ADDRESS = '127.0.0.2';
const hasKinit = has('kinit');
const hasCurl = has('curl');
const why = hasKinit && hasCurl ? '' : ' (skipped: MIT kinit or curl not installed: apt-get install krb5-user curl)';

let kdc: TestKdc;
let pop: PopServer;
let tmp: ReturnType<typeof tempDir>;
let caPem: string;
let env: Record<string, string>;
let tcpConf: string;
const popLog: LogRecord[] = [];
const kdcLog: Record<string, unknown>[] = [];

interface Hog {
  child: ChildProcess;
  ready: Record<string, { open: number; opened: number; closedByServer: number; errors: number }>;
  status(): Promise<Hog['ready']>;
  stop(): Promise<void>;
}

/** The hog process (test/helpers/hog.mjs) under a raised file-descriptor limit. */
async function startHog(ports: number[], opts: { idle?: number; drip?: number; dripMs?: number } = {}): Promise<Hog> {
  const script = join(import.meta.dirname, 'helpers', 'hog.mjs');
  const cfg = JSON.stringify({ from: HOG_ADDRESS, ports, idle: opts.idle ?? 1000, drip: opts.drip ?? 200, dripMs: opts.dripMs ?? 5000, retryMs: 2000 });
  const child = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn) && exec "$0" "$1" "$2"`, process.execPath, script, cfg], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((l: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const next = () => new Promise<string>((r) => waiting.push(r));
  const first = await next();
  expect(first).toMatch(/^READY /);
  return {
    child,
    ready: JSON.parse(first.slice(6)),
    async status() {
      child.stdin!.write('\n');
      return JSON.parse((await next()).slice(7));
    },
    async stop() {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const timed = async <T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: Math.round(performance.now() - t0) };
};

beforeAll(async () => {
  if (!hasKinit || !hasCurl) return;
  tmp = tempDir('kpop-limits-');
  kdc = await startTestKdc({
    realm: 'LIMITS.TEST',
    principals: { alice: 'alice-pw-1', 'pop/localhost': { randkey: true }, 'pop/127.0.0.1': { randkey: true }, 'imap/localhost': { randkey: true } },
    log: (r) => kdcLog.push(r),
  });
  const keytab = kdc.keytab(['pop/localhost', 'pop/127.0.0.1', 'imap/localhost'], join(tmp.dir, 'pop.keytab'));
  const ca = await createCa();
  const cert = await issueServerCert(ca, ['localhost', '127.0.0.1']);
  caPem = join(tmp.dir, 'ca.pem');
  writeFileSync(caPem, ca.certPem);
  pop = await startPopServer({
    maildirRoot: join(tmp.dir, 'mail'), realm: 'LIMITS.TEST', keytab,
    kpop: { host: '127.0.0.1', port: 0 }, pop3: { host: '127.0.0.1', port: 0 }, pop3s: { host: '127.0.0.1', port: 0 },
    imap: { host: '127.0.0.1', port: 0 }, imaps: { host: '127.0.0.1', port: 0 },
    tls: { cert: cert.certPem, key: cert.keyPem },
    krb5Config: loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath }),
    log: (r) => popLog.push(r),
  });
  // MIT's libkrb5 over TCP only: every message is over the 1-byte UDP preference.
  tcpConf = kdc.writeKrb5Conf(join(tmp.dir, 'krb5-tcp.conf'), { libdefaults: { udp_preference_limit: '1' } });
  env = { KRB5_CONFIG: tcpConf, KRB5CCNAME: `FILE:${join(tmp.dir, 'ccache')}`, HOME: tmp.dir };
  const k = await run('kinit', ['alice@LIMITS.TEST'], { env, input: 'alice-pw-1\n' });
  expect(k.code, k.stderr).toBe(0);
  mkdirSync(join(tmp.dir, 'mail', 'alice'), { recursive: true });
}, 60_000);

afterAll(async () => {
  await pop?.close();
  await kdc?.stop();
  tmp?.cleanup();
});

async function curlRetr(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run('curl', ['-sS', '--max-time', '20', '--login-options', 'AUTH=GSSAPI', '-u', ':', '--cacert', caPem, url], { env });
}

async function kpopFetch(out: string): Promise<{ code: number; out: string; err: string }> {
  let o = '';
  let e = '';
  const code = await runFetchCli(['--kpop', '--host', 'localhost', '--port', String(pop.kpop!.port), '--keep', '--out', out], {
    stdout: { write: (s: string) => (o += s) }, stderr: { write: (s: string) => (e += s) }, env: { ...env },
  });
  return { code, out: o, err: e };
}

describe.skipIf(!hasKinit || !hasCurl)(`one address cannot lock the others out${why}`, () => {
  it('with 1,000 idle + 200 drip-feeding connections per port from 127.0.0.2, real logins from 127.0.0.1 succeed on every port', async () => {
    await deliver(join(tmp.dir, 'mail', 'alice'), Buffer.from('Subject: through the hog\n\nstill here\n'));
    // The same logins without the hog, for comparison.
    const quietPop3 = await timed(() => curlRetr(`pop3://localhost:${pop.pop3!.port}/1`));
    expect(quietPop3.value.stdout).toContain('still here');
    const quiet = [
      quietPop3,
      await timed(() => curlRetr(`pop3s://localhost:${pop.pop3s!.port}/1`)),
      await timed(() => curlRetr(`imap://localhost:${pop.imap!.port}/INBOX;UID=1`)),
      await timed(() => curlRetr(`imaps://localhost:${pop.imaps!.port}/INBOX;UID=1`)),
      await timed(() => kpopFetch(join(tmp.dir, 'quiet.mbox'))),
      await timed(() => run('kinit', ['alice@LIMITS.TEST'], { env: { ...env, KRB5CCNAME: `FILE:${join(tmp.dir, 'cc-quiet')}` }, input: 'alice-pw-1\n' })),
    ];
    const hogStart = performance.now();
    const hog = await startHog([pop.pop3!.port, pop.pop3s!.port, pop.imap!.port, pop.imaps!.port, pop.kpop!.port, kdc.tcpPort]);
    try {
      // The hog got its share and no more (the server's count; the hog's own
      // view also counts connections still waiting in the listen backlog).
      expect(pop.admission.openFrom(HOG_ADDRESS)).toBe(MAIL_CONNECTION_LIMITS.maxPerAddress);
      expect(kdc.server.admission.openFrom(HOG_ADDRESS)).toBe(DEFAULT_TCP_LIMITS.maxPerAddress);

      const pop3 = await timed(() => curlRetr(`pop3://localhost:${pop.pop3!.port}/1`));
      expect(pop3.value.stderr).toBe('');
      expect(pop3.value.stdout).toContain('still here');
      const pop3s = await timed(() => curlRetr(`pop3s://localhost:${pop.pop3s!.port}/1`));
      expect(pop3s.value.stderr).toBe('');
      expect(pop3s.value.stdout).toContain('still here');
      const imap = await timed(() => curlRetr(`imap://localhost:${pop.imap!.port}/INBOX;UID=1`));
      expect(imap.value.stderr).toBe('');
      expect(imap.value.stdout).toContain('still here');
      const imaps = await timed(() => curlRetr(`imaps://localhost:${pop.imaps!.port}/INBOX;UID=1`));
      expect(imaps.value.stderr).toBe('');
      expect(imaps.value.stdout).toContain('still here');
      const kpop = await timed(() => kpopFetch(join(tmp.dir, 'out.mbox')));
      expect(kpop.value.err).toBe('');
      expect(kpop.value.code).toBe(0);
      const kinitEnv = { ...env, KRB5CCNAME: `FILE:${join(tmp.dir, 'cc-tcp')}` };
      const kinit = await timed(() => run('kinit', ['alice@LIMITS.TEST'], { env: kinitEnv, input: 'alice-pw-1\n' }));
      expect(kinit.value.code, kinit.value.stderr).toBe(0);
      // It went over TCP, from the default address.
      expect(kdcLog.some((r) => r.transport === 'tcp' && String(r.from).startsWith('127.0.0.1:') && r.msg === 'AS_REQ' && r.status === 'ISSUE')).toBe(true);

      const now = await hog.status();
      console.log(`[limits] hog from ${HOG_ADDRESS}: ${JSON.stringify(now)}`);
      console.log(`[limits] logins from 127.0.0.1 while it ran: curl POP3 AUTH=GSSAPI ${pop3.ms} ms, curl POP3S AUTH=GSSAPI ${pop3s.ms} ms, curl IMAP AUTH=GSSAPI ${imap.ms} ms, curl IMAPS AUTH=GSSAPI ${imaps.ms} ms, kpop fetch --kpop ${kpop.ms} ms, MIT kinit over TCP ${kinit.ms} ms`);
      console.log(`[limits] the same without the hog: ${quiet.map((q) => `${q.ms} ms`).join(', ')}`);
      // Still at most its share after all that retrying.
      expect(pop.admission.openFrom(HOG_ADDRESS)).toBeLessThanOrEqual(MAIL_CONNECTION_LIMITS.maxPerAddress);
      const totalAttempts = Object.values(now).reduce((n, s) => n + s.opened, 0);
      expect(totalAttempts).toBeGreaterThan(6 * 1200 - 100);
    } finally {
      await hog.stop();
    }
    // Thousands of refusals, a handful of log lines: per address and status
    // token, one record per interval and one count of the rest.
    const elapsedMs = performance.now() - hogStart;
    const bound = (intervalMs: number) => 2 * (Math.ceil(elapsedMs / intervalMs) + 1);
    const refused = popLog.filter((r) => r.event === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(bound(60_000));
    expect(refused.every((r) => r.remote === HOG_ADDRESS && r.status === 'ADDRESS_LIMIT')).toBe(true);
    const kdcRefused = kdcLog.filter((r) => r.msg === 'CONNECTION_REFUSED');
    expect(kdcRefused.length).toBeGreaterThan(0);
    expect(kdcRefused.length).toBeLessThanOrEqual(bound(kdc.server.gate!.limits.logIntervalMs));
    console.log(`[limits] refusal log lines: mail server ${refused.length}, KDC ${kdcRefused.length}`);
    expect(readdirSync(join(tmp.dir, 'mail', 'alice', 'cur')).length + readdirSync(join(tmp.dir, 'mail', 'alice', 'new')).length).toBe(1);
  }, 120_000);
});

describe('deadlines on the real listeners', () => {
  it('POP3: a drip-fed command line, a session that never logs in, and a silent one each end with their -ERR; drip-fed sendauth (KPOP), LMTP lines and Kerberos frames (KDC TCP) are cut too', async () => {
    const t = tempDir('kpop-limits-d-');
    const logs: LogRecord[] = [];
    const kdcRecords: Record<string, unknown>[] = [];
    const small = await startPopServer({
      maildirRoot: join(t.dir, 'mail'), realm: 'LAB.TEST', pop3: { host: '127.0.0.1', port: 0 }, kpop: { host: '127.0.0.1', port: 0 },
      keytab: mitPopKeytab(), now: () => MIT_NOW, lmtp: { host: '127.0.0.1', port: 0 },
      limits: { authTimeoutMs: 1500, commandTimeoutMs: 300, idleTimeoutMs: 600 }, log: (r) => logs.push(r),
    });
    const k2 = await startTestKdc({ realm: 'LIMITS.TEST', server: { tcp: { frameTimeoutMs: 300, idleTimeoutMs: 600 } }, log: (r) => kdcRecords.push(r) });
    try {
      // A command line fed a byte at a time.
      const drip = await PopClient.connect(small.pop3!.port);
      expect(await drip.line()).toMatch(/^\+OK/);
      const d = setInterval(() => !drip.closed && drip.send(Buffer.from('C')), 50);
      expect(await drip.line(3000)).toBe('-ERR [SYS/TEMP] Disconnected: command line not finished in time');
      clearInterval(d);
      expect(await drip.waitClose(3000)).toBe(true);
      // Complete commands but no login.
      const chatty = await PopClient.connect(small.pop3!.port);
      expect(await chatty.line()).toMatch(/^\+OK/);
      let last = '';
      for (let i = 0; i < 40 && !chatty.closed; i++) {
        try {
          last = await chatty.cmd('CAPA');
          if (last.startsWith('+OK')) await chatty.multi();
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      // Closed during the pause: the last words are still buffered.
      if (!last.startsWith('-ERR')) last = await chatty.line();
      expect(last).toBe('-ERR [SYS/TEMP] Disconnected: no login in time');
      // Silence.
      const silent = await PopClient.connect(small.pop3!.port);
      expect(await silent.line()).toMatch(/^\+OK/);
      expect(await silent.line(3000)).toBe('-ERR Autologout; idle for too long');
      expect(logs.filter((r) => r.event === 'session').map((r) => r.end).sort()).toEqual(['auth-timeout', 'command-timeout', 'timeout']);
      expect(logs.filter((r) => r.event === 'limit').map((r) => r.status).sort()).toEqual(['AUTH_TIMEOUT', 'COMMAND_TIMEOUT', 'IDLE_TIMEOUT']);

      // KPOP: the sendauth preamble a byte at a time; the KDC's TCP: a frame a byte at a time.
      const dripInto = async (port: number, bytes: Buffer): Promise<void> => {
        const sock = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' });
        sock.on('error', () => {});
        await new Promise((r) => sock.once('connect', r));
        const closed = new Promise((r) => sock.once('close', r));
        let i = 0;
        const k = setInterval(() => !sock.destroyed && i < bytes.length && sock.write(bytes.subarray(i, ++i)), 50);
        await closed;
        clearInterval(k);
      };
      await dripInto(small.kpop!.port, Buffer.from(encodeSendauthPreamble()));
      expect(logs).toContainEqual({ event: 'limit', listener: 'kpop', remote: '127.0.0.3', status: 'COMMAND_TIMEOUT' });
      // LMTP: no login phase, but a command line a byte at a time ends with 421.
      const lmtpSock = connect({ port: small.lmtp!.port, host: '127.0.0.1', localAddress: '127.0.0.4' });
      await new Promise((r) => lmtpSock.once('connect', r));
      const lmtp = new PopClient(lmtpSock);
      expect(await lmtp.line()).toMatch(/^220 /);
      const l = setInterval(() => !lmtp.closed && lmtp.send(Buffer.from('L')), 50);
      expect(await lmtp.line(3000)).toMatch(/^421 4\.4\.2 .* command not finished in time, closing$/);
      clearInterval(l);
      expect(logs).toContainEqual({ event: 'limit', listener: 'lmtp', remote: '127.0.0.4', status: 'COMMAND_TIMEOUT' });
      await dripInto(k2.tcpPort, Buffer.concat([Buffer.from([0, 0, 0, 200, 0x6a]), Buffer.alloc(199)]));
      expect(kdcRecords).toContainEqual(expect.objectContaining({ msg: 'CONNECTION_CLOSED', status: 'COMMAND_TIMEOUT', from: '127.0.0.3' }));
    } finally {
      await small.close();
      await k2.stop();
      t.cleanup();
    }
  }, 30_000);
});
