/**
 * The lab end to end, as a newcomer uses it, on free ports in a temporary
 * folder: the lab program makes the realm and serves; our kinit logs in
 * with the password on stdin; `kpop fetch` gets the welcome messages over
 * KPOP, AUTH GSSAPI + STLS and POP3S; MIT's kinit, fetchmail, curl and mpop
 * do the same where installed. Then Ctrl-C, a restart that reuses the
 * realm, --reset, and the one-line errors (port in use, foreign folder).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTicket, KEYTAB_V2, readCcache, readKeytab, writeKeytab } from '@kpop/common';
import { openDatabase } from '@kpop/kdc';
import { buildBins, hasProgram, run, startLab, type Bins, type LabProcess } from './lab-helpers.js';
import { tempDir } from './fetch-helpers.js';
import { clockEnv } from './helpers/mit-clock.js';

const hasMitKinit = hasProgram('kinit') && hasProgram('klist');
const hasFetchmail = hasProgram('fetchmail');
const hasCurl = hasProgram('curl');
const hasMpop = hasProgram('mpop');

let bins: Bins;
let tmp: ReturnType<typeof tempDir>;
let lab: LabProcess;
let labDir: string;
let ports: { kdc: number; kpop: number; pop3: number; pop3s: number; imap: number; imaps: number };
let currentAlicePassword = 'alice-pw-1';

const FREE = ['--kdc-port', '0', '--kpasswd-port', '0', '--kpop-port', '0', '--pop3-port', '0', '--pop3s-port', '0', '--imap-port', '0', '--imaps-port', '0'];
const env = (cc: string): NodeJS.ProcessEnv => ({ ...clockEnv(), PATH: process.env.PATH, HOME: tmp.dir, KRB5_CONFIG: join(labDir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(tmp.dir, cc)}` });
const kinit = (user: string, pw: string, cc: string) => run(process.execPath, [bins.kinit, user], { env: env(cc), input: `${pw}\n` });
const fetch = (args: string[], cc: string) => run(process.execPath, [bins.kpop, 'fetch', ...args], { env: env(cc), cwd: tmp.dir });
const newFiles = (dir: string) => readdirSync(join(dir, 'new')).map((f) => readFileSync(join(dir, 'new', f), 'utf8'));

beforeAll(async () => {
  tmp = tempDir('kpop-lab-');
  bins = await buildBins();
  labDir = join(tmp.dir, 'lab');
  lab = await startLab(bins, ['--dir', labDir, '--alice-password', 'alice-pw-1', '--bob-password', 'bob-pw-1', '--quiet', ...FREE]);
  ports = JSON.parse(readFileSync(join(labDir, 'ports.json'), 'utf8'));
}, 120_000);
afterAll(async () => {
  await lab?.stop();
  bins?.cleanup();
  tmp?.cleanup();
});

describe('a new lab', () => {
  it('prints the listeners, the passwords once, and lines to paste', () => {
    const out = lab.output();
    expect(out).toContain('kpop lab: realm LAB.TEST in');
    expect(out).toContain(`KDC    127.0.0.1:${ports.kdc} (UDP and TCP)`);
    expect(out).toContain(`KPOP   127.0.0.1:${ports.kpop}`);
    expect(out).toMatch(/alice +alice-pw-1\n/);
    expect(out).toContain(`export KRB5_CONFIG=${join(labDir, 'krb5.conf')} KRB5CCNAME=FILE:${join(labDir, 'ccache')}`);
    expect(out).toContain('npx kinit alice');
    expect(out).toContain(`npx kpop fetch --kpop --host localhost --port ${ports.kpop}`);
    expect(out).toContain("fetchmail -f /dev/null --nodetach --nosyslog -p KPOP --auth kerberos_v5");
    expect(lab.errors()).toBe('');
  });

  it('keeps its secrets private: keytab, stash, keys 0600; folders 0700', () => {
    for (const f of ['pop.keytab', 'ca/ca.key', 'tls/server.key', 'kdc/stash']) expect(statSync(join(labDir, f)).mode & 0o777).toBe(0o600);
    for (const d of ['kdc', 'mail', 'ca']) expect(statSync(join(labDir, d)).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(labDir, 'krb5.conf'), 'utf8')).toContain(`kdc = 127.0.0.1:${ports.kdc}`);
  });
});

describe('our kinit, then kpop fetch', () => {
  it('alice: kinit with the password on stdin, klist, KPOP fetch of the welcome message', async () => {
    const k = await kinit('alice', 'alice-pw-1', 'alice.cc');
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    const l = await run(process.execPath, [bins.klist], { env: env('alice.cc') });
    expect(l.stdout).toContain('krbtgt/LAB.TEST@LAB.TEST');
    const out = join(tmp.dir, 'alice-mail');
    const f = await fetch(['--kpop', '--host', 'localhost', '--port', String(ports.kpop), '--out', out], 'alice.cc');
    expect(f.stderr).toBe('');
    expect(f.code).toBe(0);
    expect(f.stdout).toMatch(/^1 message \(\d+ bytes\) for alice@LAB\.TEST from mailbox alice into maildir .*, removed from the server\n$/);
    const [msg] = newFiles(out);
    expect(msg).toContain('Subject: Welcome to the LAB.TEST realm, alice');
    // klist now shows the pop/localhost ticket kpop fetch asked for.
    expect((await run(process.execPath, [bins.klist], { env: env('alice.cc') })).stdout).toContain('pop/localhost@LAB.TEST');
  });

  it('bob: AUTH GSSAPI after STLS, then POP3S, with the lab CA', async () => {
    expect((await kinit('bob', 'bob-pw-1', 'bob.cc')).code).toBe(0);
    const ca = join(labDir, 'ca', 'ca.pem');
    const a = await fetch(['--gssapi', '--tls', '--cafile', ca, '--host', 'localhost', '--port', String(ports.pop3), '--keep', '--out', join(tmp.dir, 'bob.mbox')], 'bob.cc');
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(/^1 message .* into mbox .*bob\.mbox, kept on the server, over TLS\n$/);
    expect(readFileSync(join(tmp.dir, 'bob.mbox'), 'utf8')).toContain('Subject: Welcome to the LAB.TEST realm, bob');
    const b = await fetch(['--tls-implicit', '--cafile', ca, '--host', '127.0.0.1', '--port', String(ports.pop3s), '--out', join(tmp.dir, 'bob-mail')], 'bob.cc');
    expect(b.stderr).toBe('');
    expect(b.stdout).toMatch(/^1 message .*removed from the server, over TLS\n$/);
  });

  it('a wrong password is one line from kinit, and fetch without tickets says to kinit', async () => {
    const k = await kinit('alice', 'wrong', 'wrong.cc');
    expect(k.code).not.toBe(0);
    expect(k.stderr.trim().split('\n')).toHaveLength(1);
    const f = await fetch(['--host', 'localhost', '--port', String(ports.pop3)], 'wrong.cc');
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/^kpop fetch: no credentials cache .*: run kinit first/);
  });
});

describe("MIT's tools against the lab", () => {
  const deliverTo = (user: string, subject: string) => {
    const dir = join(labDir, 'mail', user, 'new');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${Date.now()}.M${Math.floor(Math.random() * 1e6)}P1.test`), `From: carol@localhost\nSubject: ${subject}\n\nHi.\n`);
  };

  it.skipIf(!hasMitKinit)('MIT kinit gets a TGT from the lab KDC; kpop fetch uses that ccache (skipped without krb5-user)', async () => {
    const k = await run('kinit', ['alice'], { env: env('mit.cc'), input: 'alice-pw-1\n' });
    expect(k.code).toBe(0);
    deliverTo('alice', 'for mit kinit');
    const f = await fetch(['--host', 'localhost', '--port', String(ports.pop3), '--out', join(tmp.dir, 'mit-mail')], 'mit.cc');
    expect(f.stderr).toBe('');
    expect(newFiles(join(tmp.dir, 'mit-mail')).join('')).toContain('Subject: for mit kinit');
    const l = await run('klist', [], { env: env('mit.cc') });
    expect(l.stdout).toContain('pop/localhost@LAB.TEST');
  });

  it.skipIf(!hasMitKinit || !hasFetchmail)('fetchmail AUTH GSSAPI with MIT tickets (skipped without krb5-user or fetchmail)', async () => {
    expect((await run('kinit', ['alice'], { env: env('fm.cc'), input: 'alice-pw-1\n' })).code).toBe(0);
    deliverTo('alice', 'for fetchmail');
    const mbox = join(tmp.dir, 'fetchmail.mbox');
    const r = await run('fetchmail', ['-f', '/dev/null', '--nodetach', '--nosyslog', '-p', 'POP3', '-P', String(ports.pop3), '--auth', 'gssapi', '-u', 'alice', '--sslproto', '', '-k', '-m', `/bin/sh -c 'cat >> ${mbox}'`, '-v', 'localhost'], { env: env('fm.cc'), timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(mbox, 'utf8')).toContain('Subject: for fetchmail');
  });

  it.skipIf(!hasMitKinit || !hasCurl)('curl AUTH GSSAPI over STLS with the lab CA (skipped without krb5-user or curl)', async () => {
    expect((await run('kinit', ['bob'], { env: env('curl.cc'), input: 'bob-pw-1\n' })).code).toBe(0);
    deliverTo('bob', 'for curl');
    const r = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', '--ssl-reqd', '--cacert', join(labDir, 'ca', 'ca.pem'), `pop3://localhost:${ports.pop3}/1`], { env: env('curl.cc') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Subject: for curl');
  });

  it.skipIf(!hasMitKinit || !hasMpop)('mpop AUTH GSSAPI with POP3S (skipped without krb5-user or mpop)', async () => {
    expect((await run('kinit', ['bob'], { env: env('mpop.cc'), input: 'bob-pw-1\n' })).code).toBe(0);
    deliverTo('bob', 'for mpop');
    const mbox = join(tmp.dir, 'mpop.mbox');
    writeFileSync(mbox, '');
    const r = await run('mpop', [
      '--host=localhost', `--port=${ports.pop3s}`, '--auth=gssapi', '--user=bob', '--tls=on', '--tls-starttls=off', `--tls-trust-file=${join(labDir, 'ca', 'ca.pem')}`,
      `--delivery=mbox,${mbox}`, '--keep=on', '--only-new=off', `--uidls-file=${join(tmp.dir, 'uidls')}`,
    ], { env: env('mpop.cc') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(mbox, 'utf8')).toContain('Subject: for mpop');
  });
});

describe('admin guide: rotating the service key while the lab runs', () => {
  const popKvno = (cc: string) => {
    const cred = readCcache(join(tmp.dir, cc)).credentials.find((c) => c.server.name.nameString.join('/') === 'pop/localhost');
    return cred ? decodeTicket(cred.ticket).encPart.kvno : undefined;
  };

  it('kdc ktadd --randkey: new tickets get the new kvno, tickets already out still open', async () => {
    expect((await kinit('alice', 'alice-pw-1', 'rot-old.cc')).code).toBe(0);
    const fetchAs = (cc: string) => fetch(['--host', 'localhost', '--port', String(ports.pop3), '--keep', '--out', join(tmp.dir, `${cc}.mbox`)], cc);
    expect((await fetchAs('rot-old.cc')).code).toBe(0);
    const before = popKvno('rot-old.cc');
    expect(before).toBeGreaterThanOrEqual(1);

    const k = await run(process.execPath, [bins.kdc, 'ktadd', '--randkey', '-k', join(labDir, 'pop.keytab'), 'pop/localhost', '--dir', join(labDir, 'kdc')], { env: { ...clockEnv(), PATH: process.env.PATH } });
    expect(k.stderr).toBe('');
    expect(k.stdout).toContain(`Entry for principal pop/localhost@LAB.TEST with kvno ${before! + 1}`);

    // The ticket fetched before the rotation still opens (the keytab keeps the old kvno).
    const old = await fetchAs('rot-old.cc');
    expect(old.stderr).toBe('');
    expect(popKvno('rot-old.cc')).toBe(before);
    // A new login gets a ticket under the new key (the KDC re-reads its database within half a second).
    await new Promise((r) => setTimeout(r, 1200));
    expect((await kinit('alice', 'alice-pw-1', 'rot-new.cc')).code).toBe(0);
    const fresh = await fetchAs('rot-new.cc');
    expect(fresh.stderr).toBe('');
    expect(popKvno('rot-new.cc')).toBe(before! + 1);
  });
});

describe('stop, restart, reset', () => {
  it('Ctrl-C stops cleanly; the next start reuses the realm and prints no passwords', async () => {
    expect(await lab.stop('SIGINT')).toBe(0);
    expect(lab.output()).toContain('kpop lab: stopped');
    lab = await startLab(bins, ['--dir', labDir, '--quiet', ...FREE]);
    expect(lab.output()).toContain('(reused; --reset makes a new one)');
    expect(lab.output()).not.toContain('Passwords');
    ports = JSON.parse(readFileSync(join(labDir, 'ports.json'), 'utf8'));
    expect((await kinit('alice', 'alice-pw-1', 'again.cc')).code).toBe(0);
  });

  it('--reset makes a new realm with new random passwords', async () => {
    expect(await lab.stop('SIGTERM')).toBe(0);
    lab = await startLab(bins, ['--dir', labDir, '--reset', '--quiet', ...FREE]);
    const m = /alice +(\S+)\n/.exec(lab.output());
    expect(m?.[1]).toMatch(/^[A-Za-z0-9]{12}$/);
    ports = JSON.parse(readFileSync(join(labDir, 'ports.json'), 'utf8'));
    expect((await kinit('alice', 'alice-pw-1', 'old.cc')).code).not.toBe(0);
    expect((await kinit('alice', m![1]!, 'new.cc')).code).toBe(0);
    currentAlicePassword = m![1]!;
  });
});

describe('one-line errors', () => {
  it('a port in use is named, with the flag to change it', async () => {
    const blocker = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    const port = (blocker.address() as { port: number }).port;
    try {
      const other = await startLab(bins, ['--dir', join(tmp.dir, 'lab2'), '--quiet', ...FREE, '--pop3s-port', String(port)]);
      expect(other.exited?.code).toBe(1);
      expect(other.exited?.stderr).toBe(`lab: port ${port} (POP3S) on 127.0.0.1 is in use: stop what holds it, or start with --pop3s-port N\n`);
      // The realm it had just made (passwords never shown) is gone, so the next start makes a new one and shows them.
      expect(existsSync(join(tmp.dir, 'lab2'))).toBe(false);
      const kdc = await startLab(bins, ['--dir', join(tmp.dir, 'lab2'), '--quiet', ...FREE, '--kdc-port', String(port)]);
      expect(kdc.exited?.stderr).toBe(`lab: port ${port} (the KDC (UDP and TCP)) on 127.0.0.1 is in use: stop what holds it, or start with --kdc-port N\n`);
    } finally {
      blocker.close();
    }
  });

  it('one lab process per folder: a second start, even with --reset, is refused and changes nothing', async () => {
    const conf = readFileSync(join(labDir, 'krb5.conf'), 'utf8');
    for (const extra of [[], ['--reset']]) {
      const second = await startLab(bins, ['--dir', labDir, '--quiet', ...FREE, ...extra]);
      expect(second.exited?.code).toBe(1);
      expect(second.exited?.stderr).toBe(`lab: a lab is already running from ${labDir} (process ${lab.child.pid}): stop it first (Ctrl-C), or use another --dir\n`);
    }
    expect(readFileSync(join(labDir, 'krb5.conf'), 'utf8')).toBe(conf);
    expect((await kinit('alice', currentAlicePassword, 'lock.cc')).code).toBe(0);
  });

  it('refuses a folder that is not a lab, even with --reset', async () => {
    const foreign = join(tmp.dir, 'precious');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'thesis.tex'), 'do not delete');
    const r = await startLab(bins, ['--dir', foreign, '--reset', ...FREE]);
    expect(r.exited?.code).toBe(1);
    expect(r.exited?.stderr).toMatch(/^lab: .*precious holds other files and no lab\.json: it is not a lab folder; choose another --dir\n$/);
    expect(readFileSync(join(foreign, 'thesis.tex'), 'utf8')).toBe('do not delete');
  });

  it('bad flags exit 2 with one line', async () => {
    const r = await startLab(bins, ['--kdc-port', 'eighty']);
    expect(r.exited?.code).toBe(2);
    expect(r.exited?.stderr).toBe('lab: --kdc-port must be a port number from 0 to 65535 (0: any free port), got "eighty"\n');
  });
});

describe('IMAP in the lab', () => {
  it('serves IMAP (STARTTLS) and IMAPS for imap/localhost: the banner says so and curl fetches with GSSAPI', async (ctx) => {
    const out = lab.output();
    expect(out).toContain(`IMAP   127.0.0.1:${ports.imap} (STARTTLS, AUTHENTICATE GSSAPI)`);
    expect(out).toContain(`IMAPS  127.0.0.1:${ports.imaps} (TLS, AUTHENTICATE GSSAPI)`);
    expect(out).toContain(`imaps://localhost:${ports.imaps}/INBOX;UID=1`);
    if (!hasMitKinit || !hasCurl) ctx.skip(true, 'MIT kinit or curl not installed');
    const cc = 'imap.cc';
    expect((await run('kinit', ['alice'], { env: env(cc), input: `${currentAlicePassword}\n` })).code).toBe(0);
    const ca = join(labDir, 'ca', 'ca.pem');
    const r = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', '--cacert', ca, `imaps://localhost:${ports.imaps}/INBOX;UID=1`], { env: env(cc) });
    expect(r.stderr, `${r.stderr} ca exists: ${existsSync(ca)} ${existsSync(labDir)}`).toBe('');
    expect(r.stdout).toMatch(/^Subject: /m);
    const s = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', '--ssl-reqd', '--cacert', ca, `imap://localhost:${ports.imap}/INBOX?ALL`], { env: env(cc) });
    expect(s.stdout.trim()).toBe('* SEARCH 1');
  });

  it('a lab made before IMAP gets imap/HOST keys on its next start', async () => {
    expect(await lab.stop('SIGTERM')).toBe(0);
    // Make it look like an older lab: no imap/* principals, a keytab with pop/* only.
    const db = openDatabase(join(labDir, 'kdc'));
    for (const p of ['imap/localhost', 'imap/127.0.0.1']) db.deletePrincipal(p);
    db.close();
    const keytab = join(labDir, 'pop.keytab');
    const kt = readKeytab(keytab);
    writeKeytab(keytab, { version: KEYTAB_V2, entries: kt.entries.filter((e) => e.principal.name.nameString[0] === 'pop') });
    lab = await startLab(bins, ['--dir', labDir, '--quiet', ...FREE]);
    ports = JSON.parse(readFileSync(join(labDir, 'ports.json'), 'utf8'));
    const names = new Set(readKeytab(keytab).entries.map((e) => e.principal.name.nameString.join('/')));
    expect([...names].sort()).toEqual(['imap/127.0.0.1', 'imap/localhost', 'pop/127.0.0.1', 'pop/localhost']);
    expect(statSync(keytab).mode & 0o777).toBe(0o600);
    if (hasMitKinit && hasCurl) {
      const cc = 'imap2.cc';
      expect((await run('kinit', ['alice'], { env: env(cc), input: `${currentAlicePassword}\n` })).code).toBe(0);
      const r = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', `imap://127.0.0.1:${ports.imap}/INBOX;UID=1`], { env: env(cc) });
      expect(r.stdout).toMatch(/^Subject: /m);
    }
  });
});
