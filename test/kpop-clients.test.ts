/**
 * Real clients against our server, with tickets from our KDC (startTestKdc)
 * fetched by MIT kinit: fetchmail 6.4 (KPOP and AUTH GSSAPI), curl (AUTH
 * GSSAPI on POP3, STLS and POP3S trusting our CA; USER/PASS inside TLS
 * checked against the KDC), mpop (AUTH GSSAPI). Each test skips only when its
 * program is not installed, saying so.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { loadKrb5Config } from '@kpop/common';
import { createCa, deliver, issueServerCert, startPopServer, type PopServer } from '@kpop/kpop';
import { has, PopClient, run, tempDir } from './kpop-helpers.js';

const hasKinit = has('kinit');
const hasFetchmail = has('fetchmail');
const hasCurl = has('curl');
const hasMpop = has('mpop');
const hasUnshare = has('unshare') && process.getuid?.() === 0;
const why = (p: string, ok: boolean) => (ok ? '' : ` (skipped: ${p} not installed)`);

let kdc: TestKdc;
let server: PopServer;
let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let caPem: string;
const logs: Record<string, unknown>[] = [];
const root = () => join(tmp.dir, 'mail');
const box = () => join(root(), 'alice');

async function fill(n: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const body = `Subject: msg ${i}\nFrom: test@example\n\nline one of ${i}\n.dot line\nlast\n`;
    bodies.push(body);
    await deliver(box(), Buffer.from(body));
  }
  return bodies;
}
function count(): number {
  return readdirSync(join(box(), 'new')).length + readdirSync(join(box(), 'cur')).length;
}
async function empty(): Promise<void> {
  for (const d of ['new', 'cur']) for (const f of readdirSync(join(box(), d))) (await import('node:fs')).unlinkSync(join(box(), d, f));
}

beforeAll(async () => {
  if (!hasKinit) return;
  tmp = tempDir('kpop-clients-');
  kdc = await startTestKdc({ realm: 'KPOP.TEST', principals: { alice: 'alice-pw-1', bob: 'bob-pw-1', 'pop/127.0.0.1': { randkey: true }, 'pop/localhost': { randkey: true } } });
  const keytab = kdc.keytab(['pop/127.0.0.1', 'pop/localhost'], join(tmp.dir, 'pop.keytab'));
  const ca = await createCa();
  const cert = await issueServerCert(ca, ['localhost', '127.0.0.1']);
  caPem = join(tmp.dir, 'ca.pem');
  writeFileSync(caPem, ca.certPem);
  let kpop: { host: string; port: number } | false = { host: '127.0.0.1', port: 1109 };
  server = await startPopServer({
    maildirRoot: root(), realm: 'KPOP.TEST', keytab,
    kpop, pop3: { host: '127.0.0.1', port: 0 }, pop3s: { host: '127.0.0.1', port: 0 },
    tls: { cert: cert.certPem, key: cert.keyPem },
    krb5Config: loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath }),
    log: (r) => logs.push(r),
  }).catch(async (e: NodeJS.ErrnoException) => {
    // fetchmail KPOP can only use 1109. If another test holds it, wait a
    // little; then run everything else and skip the KPOP tests, saying so.
    if (e.code !== 'EADDRINUSE') throw e;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        return await startPopServer({
          maildirRoot: root(), realm: 'KPOP.TEST', keytab, kpop, pop3: { host: '127.0.0.1', port: 0 }, pop3s: { host: '127.0.0.1', port: 0 },
          tls: { cert: cert.certPem, key: cert.keyPem }, krb5Config: loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath }), log: (r) => logs.push(r),
        });
      } catch (again) {
        if ((again as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw again;
      }
    }
    kpop = false;
    return startPopServer({
      maildirRoot: root(), realm: 'KPOP.TEST', keytab, pop3: { host: '127.0.0.1', port: 0 }, pop3s: { host: '127.0.0.1', port: 0 },
      tls: { cert: cert.certPem, key: cert.keyPem }, krb5Config: loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath }), log: (r) => logs.push(r),
    });
  });
  env = { KRB5_CONFIG: kdc.krb5ConfPath, KRB5CCNAME: `FILE:${join(tmp.dir, 'ccache')}`, HOME: tmp.dir };
  const k = await run('kinit', ['alice@KPOP.TEST'], { env, input: 'alice-pw-1\n' });
  expect(k.code, k.stderr).toBe(0);
  mkdirSync(box(), { recursive: true });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await kdc?.stop();
  tmp?.cleanup();
});

const fetchmailArgs = (extra: string[], out: string) => [
  '-f', '/dev/null', '--nodetach', '--nosyslog', '-u', 'alice', '--sslproto', '', '-m', `/bin/sh -c 'cat >> ${out}'`, '-v', ...extra, '127.0.0.1',
];

describe.skipIf(!hasKinit || !hasFetchmail || !hasUnshare)(`fetchmail 6.4 KPOP (auth kerberos_v5)${why('kinit/fetchmail/unshare as root', hasKinit && hasFetchmail && hasUnshare)}`, () => {
  // Debian's /etc/services has no "kpop", and fetchmail looks the name up:
  // run it in a private mount namespace with a copy that has the line.
  const fetchmailKpop = async (extra: string[], out: string, onSpawn?: (pid: number) => void) => {
    const services = join(tmp.dir, 'services');
    if (!existsSync(services)) writeFileSync(services, readFileSync('/etc/services', 'utf8') + '\nkpop 1109/tcp\n');
    const cmd = ['fetchmail', ...fetchmailArgs(['-p', 'KPOP', '--auth', 'kerberos_v5', ...extra], out)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // unshare execs sh, which execs fetchmail: one PID, ours to kill.
    return run('unshare', ['-m', 'sh', '-c', `mount --bind ${services} /etc/services && exec ${cmd}`], { env, timeoutMs: 60_000, onSpawn });
  };

  it('fetches every message with --keep, then empties the mailbox without it', async (ctx) => {
    if (!server.kpop) ctx.skip(true, 'port 127.0.0.1:1109 is busy: fetchmail KPOP not run');
    const bodies = await fill(3);
    const out = join(tmp.dir, 'kpop-keep.mbox');
    const r = await fetchmailKpop(['-k'], out);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/3 messages for alice/);
    const got = readFileSync(out, 'utf8');
    for (const b of bodies) expect(got).toContain(b.split('\n')[3]);
    expect(got).toContain('\n.dot line\n');
    expect(count()).toBe(3);
    const out2 = join(tmp.dir, 'kpop-flush.mbox');
    const r2 = await fetchmailKpop(['--all'], out2); // fetchmail remembers UIDLs it saw: --all refetches them
    expect(r2.code, r2.stderr + r2.stdout).toBe(0);
    expect(count()).toBe(0);
    expect(logs.some((l) => l.event === 'auth' && l.mech === 'KPOP' && l.ok === true && l.principal === 'alice@KPOP.TEST')).toBe(true);
  }, 120_000);

  it('USER naming someone other than the ticket\'s principal: fetchmail reports an authorization failure', async (ctx) => {
    if (!server.kpop) ctx.skip(true, 'port 127.0.0.1:1109 is busy');
    const r = await fetchmailKpop(['-u', 'bob'], join(tmp.dir, 'kpop-bob.mbox'));
    expect(r.code).toBe(3); // fetchmail's PS_AUTHFAIL
    expect(r.stdout + r.stderr).toMatch(/-ERR \[AUTH\]/);
    expect(logs.some((l) => l.event === 'auth' && l.mech === 'KPOP' && l.user === 'bob' && l.ok === false)).toBe(true);
  }, 60_000);

  it('a connection dropped midway leaves the mailbox untouched', async (ctx) => {
    if (!server.kpop) ctx.skip(true, 'port 127.0.0.1:1109 is busy');
    await empty();
    await fill(2);
    const out = join(tmp.dir, 'kpop-drop.mbox');
    const big = 'x'.repeat(1000) + '\n';
    await deliver(box(), Buffer.from('Subject: big\n\n' + big.repeat(50_000)));
    let pid = 0;
    const before = logs.length;
    const p = fetchmailKpop(['--all'], out, (n) => (pid = n));
    // Kill the client (by its own PID) once its session is authenticated.
    const deadline = Date.now() + 20_000;
    while (!logs.slice(before).some((l) => l.event === 'auth' && l.mech === 'KPOP' && l.ok === true) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 150));
    process.kill(pid, 'SIGKILL');
    await p;
    await new Promise((r) => setTimeout(r, 300));
    expect(count()).toBe(3);
    const sess = logs.filter((l) => l.event === 'session' && l.listener === 'kpop').at(-1);
    expect(sess?.end).toBe('drop');
    await empty();
  }, 60_000);
});

describe.skipIf(!hasKinit || !hasFetchmail)(`fetchmail AUTH GSSAPI${why('kinit/fetchmail', hasKinit && hasFetchmail)}`, () => {
  it('fetches with auth gssapi (mutual, SEQUENCE)', async () => {
    await empty();
    const bodies = await fill(2);
    const out = join(tmp.dir, 'gss-fetchmail.mbox');
    const r = await run('fetchmail', fetchmailArgs(['-p', 'POP3', '-P', String(server.pop3!.port), '--auth', 'gssapi'], out), { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(bodies[1]!.split('\n')[3]);
    expect(count()).toBe(0);
  }, 60_000);
});

describe.skipIf(!hasKinit || !hasCurl)(`curl${why('kinit/curl', hasKinit && hasCurl)}`, () => {
  it('AUTH GSSAPI (no mutual) on POP3, STLS and POP3S', async () => {
    await empty();
    const bodies = await fill(1);
    const urls: [string, string[]][] = [
      [`pop3://127.0.0.1:${server.pop3!.port}/1`, []],
      [`pop3://127.0.0.1:${server.pop3!.port}/1`, ['--ssl-reqd', '--cacert', caPem]],
      [`pop3s://127.0.0.1:${server.pop3s!.port}/1`, ['--cacert', caPem]],
    ];
    for (const [url, extra] of urls) {
      const r = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', ...extra, url], { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.replace(/\r\n/g, '\n')).toBe(bodies[0]);
    }
    expect(logs.filter((l) => l.event === 'session' && l.mech === 'GSSAPI').map((l) => `${l.listener}:${l.tls}`)).toEqual(expect.arrayContaining(['pop3:false', 'pop3:true', 'pop3s:true']));
  }, 60_000);
  it('USER/PASS inside TLS is checked against the KDC; a wrong password and a plain-text PASS are refused', async () => {
    const ok = await run('curl', ['-sS', '--ssl-reqd', '--cacert', caPem, '-u', 'alice:alice-pw-1', '--login-options', 'AUTH=PLAIN', `pop3://127.0.0.1:${server.pop3!.port}/`], { env: {} });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^1 \d+/);
    const bad = await run('curl', ['-sS', `pop3s://127.0.0.1:${server.pop3s!.port}/`, '--cacert', caPem, '-u', 'alice:wrong'], { env: {} });
    expect(bad.code).toBe(67); // CURLE_LOGIN_DENIED
    const wrongUser = await run('curl', ['-sS', `pop3s://127.0.0.1:${server.pop3s!.port}/`, '--cacert', caPem, '-u', 'bob:bob-pw-1', '--login-options', 'AUTH=PLAIN', '--sasl-authzid', 'alice'], { env: {} });
    expect(wrongUser.code).toBe(67);
    expect(JSON.stringify(logs)).not.toMatch(/alice-pw-1|bob-pw-1/);
    // Without TLS: no USER in CAPA, and PASS is refused.
    const c = await PopClient.connect(server.pop3!.port);
    await c.line();
    expect(await c.cmd('USER alice')).toMatch(/^-ERR \[AUTH\] Plaintext authentication disallowed/);
    expect(await c.cmd('PASS alice-pw-1')).toMatch(/^-ERR \[AUTH\]/);
    c.close();
  }, 60_000);
  it('without a ticket, AUTH GSSAPI fails on the client side (curl exit 94/67)', async () => {
    const r = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', `pop3://127.0.0.1:${server.pop3!.port}/`], { env: { ...env, KRB5CCNAME: `FILE:${join(tmp.dir, 'none')}` } });
    expect([67, 94]).toContain(r.code);
  });
});

describe.skipIf(!hasKinit || !hasMpop)(`mpop AUTH GSSAPI${why('kinit/mpop', hasKinit && hasMpop)}`, () => {
  it('fetches with --auth=gssapi (mutual, empty authzid)', async () => {
    await empty();
    const bodies = await fill(2);
    const out = join(tmp.dir, 'mpop.mbox');
    writeFileSync(out, '');
    const r = await run('mpop', ['--host=127.0.0.1', `--port=${server.pop3!.port}`, '--auth=gssapi', '--user=alice', '--tls=off', `--delivery=mbox,${out}`, '--keep=on', '--only-new=off', `--uidls-file=${join(tmp.dir, 'uidls')}`], { env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const got = readFileSync(out, 'utf8');
    for (const b of bodies) expect(got).toContain(b.split('\n')[3]);
    expect(count()).toBe(2);
  }, 60_000);
});
