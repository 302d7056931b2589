/**
 * APOP, CRAM-MD5, SCRAM-SHA-1/-256 and NTLM on POP3 and IMAP with the real Debian
 * clients (facts: /work/shared/docs/mail-clients.md): fetchmail (APOP,
 * CRAM-MD5, NTLMv1), curl (APOP, CRAM-MD5, NTLMv2), mpop (APOP, CRAM-MD5,
 * SCRAM-SHA-1, SCRAM-SHA-256, NTLM) and mutt under tmux (APOP, CRAM-MD5,
 * SCRAM-SHA-256). A wrong secret fails with the protocol's error and counts
 * toward the lockout; no secret, digest or response reaches the log. Each
 * block skips only when its client is not installed, saying so.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, startPopServer, type PopServer } from '@kpop/kpop';
import { SecretsStore } from '../packages/kpop/src/secrets/store.js';
import { has, run, tempDir } from './kpop-helpers.js';

const why = (p: string) => (has(p) ? '' : ` (skipped: ${p} not installed)`);
const PW = 'alice-Secret-7';
const tmp = tempDir('kpop-mechs-');
const logs: Record<string, unknown>[] = [];
let server: PopServer; // every mechanism, NTLMv1 allowed
let strict: PopServer; // NTLM without v1, lockout after 3 failures
let store: SecretsStore;
const SUBJECT = 'mechs-subject-' + Date.now().toString(36);

async function message(): Promise<void> {
  const text = `From: lab@example\r\nSubject: ${SUBJECT}\r\n\r\nthe body\r\n`;
  await deliver(join(tmp.dir, 'mail', 'alice'), (async function* () { yield Buffer.from(text); })());
}

beforeAll(async () => {
  store = new SecretsStore({ file: join(tmp.dir, 'secrets.json'), keyFile: join(tmp.dir, 'secrets.key') });
  store.set('alice', PW);
  store.set('bob', PW); // the lockout test's victim
  await message();
  const common = {
    maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', kpop: false as const, pop3s: false as const,
    pop3: { host: '127.0.0.1', port: 0 }, secrets: store, log: (r: Record<string, unknown>) => logs.push(r),
  };
  server = await startPopServer({ ...common, imap: { host: '127.0.0.1', port: 0 }, mechanisms: ['APOP', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM'], allowNtlmV1: true });
  strict = await startPopServer({ ...common, mechanisms: ['CRAM-MD5', 'NTLM'], lockout: { maxFailures: 3, windowMs: 60_000, durationMs: 60_000 } });
  mkdirSync(join(tmp.dir, 'home', 'Mail'), { recursive: true });
});

afterAll(async () => {
  await server?.close();
  await strict?.close();
  // Nothing secret in any log line.
  const text = JSON.stringify(logs);
  expect(text).not.toContain(PW);
  expect(text).not.toMatch(/[0-9a-f]{32}/); // no APOP/CRAM digest, no NTLM response, no hash
  tmp.cleanup();
});

const okAuth = (mech: string) => logs.filter((l) => l.event === 'auth' && l.ok === true && l.mech === mech).length;

describe.skipIf(!has('curl'))(`curl 7.88${why('curl')}`, () => {
  it.each([['+APOP', 'APOP'], ['CRAM-MD5', 'CRAM-MD5'], ['NTLM', 'NTLM']])('AUTH=%s fetches message 1', async (opt, mech) => {
    const before = okAuth(mech);
    const user = mech === 'NTLM' ? `KPOP\\alice:${PW}` : `alice:${PW}`;
    const r = await run('curl', ['-sS', '--login-options', `AUTH=${opt}`, '-u', user, `pop3://127.0.0.1:${server.pop3!.port}/1`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(SUBJECT);
    expect(okAuth(mech)).toBe(before + 1);
  });
  it.each(['CRAM-MD5', 'NTLM'])('IMAP AUTHENTICATE %s fetches UID 1', async (mech) => {
    const before = okAuth(mech);
    const r = await run('curl', ['-sS', '--login-options', `AUTH=${mech}`, '-u', `alice:${PW}`, `imap://127.0.0.1:${server.imap!.port}/INBOX;UID=1`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(SUBJECT);
    expect(okAuth(mech)).toBe(before + 1);
    expect(logs.filter((l) => l.event === 'auth' && l.ok === true && l.mech === mech).at(-1)!.listener).toBe('imap');
  });
  it('curl NTLM is NTLMv2: accepted where NTLMv1 is refused', async () => {
    const r = await run('curl', ['-sS', '--login-options', 'AUTH=NTLM', '-u', `alice:${PW}`, `pop3://127.0.0.1:${strict.pop3!.port}/1`]);
    expect(r.code, r.stderr).toBe(0);
  });
  it('a wrong secret: -ERR [AUTH] (curl exit 67), counted toward the lockout; then even the right one is refused', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await run('curl', ['-sS', '--login-options', 'AUTH=CRAM-MD5', '-u', 'bob:wrong-pw', `pop3://127.0.0.1:${strict.pop3!.port}/1`]);
      expect(r.code).toBe(67); // CURLE_LOGIN_DENIED
    }
    const locked = await run('curl', ['-sS', '--login-options', 'AUTH=NTLM', '-u', `bob:${PW}`, `pop3://127.0.0.1:${strict.pop3!.port}/1`]);
    expect(locked.code).toBe(67);
    expect(logs.some((l) => l.event === 'auth' && l.ok === false && /locked out/.test(String(l.reason)))).toBe(true);
  });
});

describe.skipIf(!has('fetchmail'))(`fetchmail 6.4${why('fetchmail')}`, () => {
  const fetchmail = async (port: number, proto: string, out: string) => {
    const rc = join(tmp.dir, 'home', `fetchmailrc-${proto.replace(/\W+/g, '-')}`);
    writeFileSync(rc, `set no syslog\npoll 127.0.0.1 service ${port} ${proto} user "alice" password "${PW}" is "alice" here keep fetchall sslproto "" mda "/bin/sh -c 'cat >> ${out}'"\n`);
    chmodSync(rc, 0o600); // fetchmail refuses an rc file others can read
    return run('fetchmail', ['-f', rc, '--nodetach', '--nosyslog', '-v'], { env: { HOME: join(tmp.dir, 'home') }, timeoutMs: 60_000 });
  };
  it.each([['proto APOP', 'APOP'], ['proto POP3 auth cram-md5', 'CRAM-MD5'], ['proto POP3 auth ntlm', 'NTLM']])('%s', async (proto, mech) => {
    const out = join(tmp.dir, `fetchmail-${mech}.mbox`);
    const before = okAuth(mech);
    const r = await fetchmail(server.pop3!.port, proto, out);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(SUBJECT);
    expect(okAuth(mech)).toBe(before + 1);
    if (mech === 'NTLM') {
      // fetchmail's AUTHENTICATE carries a 24-byte NT response: NTLMv1.
      const type3 = /POP3> (TlRMTVNTUAAD\S+)/.exec(r.stdout + r.stderr)?.[1];
      expect(Buffer.from(type3!, 'base64').readUInt16LE(20)).toBe(24);
    }
  }, 60_000);
  it.each([['auth cram-md5', 'CRAM-MD5'], ['auth ntlm', 'NTLM']])('IMAP %s', async (auth, mech) => {
    const out = join(tmp.dir, `fetchmail-imap-${mech}.mbox`);
    const before = okAuth(mech);
    const r = await fetchmail(server.imap!.port, `proto IMAP ${auth}`, out);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(SUBJECT);
    expect(okAuth(mech)).toBe(before + 1);
  }, 60_000);
  it('NTLMv1 is refused where it is not allowed (fetchmail: authentication failed, exit 3)', async () => {
    const r = await fetchmail(strict.pop3!.port, 'proto POP3 auth ntlm', join(tmp.dir, 'fm-v1.mbox'));
    expect(r.code).toBe(3); // PS_AUTHFAIL
    expect(logs.some((l) => l.ok === false && /NTLMv1 response refused/.test(String(l.reason)))).toBe(true);
  }, 60_000);
});

describe.skipIf(!has('mpop'))(`mpop 1.4${why('mpop')}`, () => {
  it.each(['apop', 'cram-md5', 'scram-sha-1', 'scram-sha-256', 'ntlm'])('--auth=%s', async (auth) => {
    const out = join(tmp.dir, `mpop-${auth}.mbox`);
    writeFileSync(out, '');
    const mech = auth.toUpperCase();
    const before = okAuth(mech);
    const r = await run('mpop', ['--host=127.0.0.1', `--port=${server.pop3!.port}`, `--auth=${auth}`, '--user=alice', `--passwordeval=echo '${PW}'`, '--tls=off',
      `--delivery=mbox,${out}`, '--keep=on', '--only-new=off', `--uidls-file=${join(tmp.dir, 'uidls-' + auth)}`], { timeoutMs: 60_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain(SUBJECT);
    expect(okAuth(mech)).toBe(before + 1);
  }, 60_000);
  it('a wrong SCRAM password fails with mpop\'s authentication error', async () => {
    const r = await run('mpop', ['--host=127.0.0.1', `--port=${server.pop3!.port}`, '--auth=scram-sha-256', '--user=alice', '--passwordeval=echo nope', '--tls=off',
      `--delivery=mbox,${join(tmp.dir, 'x.mbox')}`, '--keep=on', `--uidls-file=${join(tmp.dir, 'uidls-x')}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/authentication failed|Authentication failed/i);
  }, 60_000);
});

describe.skipIf(!has('mutt') || !has('tmux'))(`mutt 2.2 under tmux${why('mutt')}${why('tmux')}`, () => {
  it.each([['pop', 'apop'], ['pop', 'cram-md5'], ['pop', 'scram-sha-256'], ['imap', 'cram-md5'], ['imap', 'scram-sha-256']])('%s_authenticators="%s" opens the mailbox', async (proto, auth) => {
    const rc = join(tmp.dir, `muttrc-${proto}-${auth}`);
    const url = proto === 'pop' ? `pop://alice@127.0.0.1:${server.pop3!.port}/` : `imap://alice@127.0.0.1:${server.imap!.port}/INBOX`;
    writeFileSync(rc, [
      `set ${proto}_pass="${PW}"`, `set ${proto}_authenticators="${auth}"`, ...(proto === 'pop' ? ['set pop_auth_try_all=no'] : []), 'set imap_idle=no', 'set ssl_starttls=no', 'set ssl_force_tls=no',
      'set header_cache=', `set folder=${join(tmp.dir, 'home', 'Mail')}`, `set spoolfile="${url}"`,
      'set pop_delete=no', 'set move=no', 'set mbox=/dev/null', '',
    ].join('\n'));
    const mech = auth.toUpperCase();
    const before = okAuth(mech);
    const session = `kpop-mechs-${process.pid}-${proto}-${auth}`;
    const start = await run('tmux', ['new', '-d', '-s', session, '-x', '200', '-y', '30', `HOME=${join(tmp.dir, 'home')} TERM=xterm mutt -n -F ${rc}`]);
    expect(start.code, start.stderr).toBe(0);
    try {
      let screen = '';
      for (let i = 0; i < 100 && !screen.includes(SUBJECT); i++) {
        await new Promise((r) => setTimeout(r, 100));
        screen = (await run('tmux', ['capture-pane', '-p', '-t', session])).stdout;
      }
      expect(screen).toContain(SUBJECT);
      expect(okAuth(mech)).toBe(before + 1);
      await run('tmux', ['send-keys', '-t', session, 'q']);
      for (let i = 0; i < 50 && (await run('tmux', ['has-session', '-t', session])).code === 0; i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await run('tmux', ['kill-session', '-t', session]);
    }
  }, 60_000);
});
