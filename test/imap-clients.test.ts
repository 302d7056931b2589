/**
 * Real IMAP clients against our server, with tickets from our KDC fetched by
 * MIT kinit (what each sends: /work/shared/docs/mail-clients.md): curl
 * (imap:// and imaps://, AUTH=GSSAPI), fetchmail (--auth gssapi; a password
 * inside STARTTLS), mbsync (AuthMechs GSSAPI through Cyrus SASL, a second
 * sync after local flag changes and an APPEND), mutt under tmux (INBOX and a
 * message), Python imaplib with python3-gssapi. Each through plain,
 * STARTTLS and IMAPS where the client allows. Each test skips only when its
 * program is not installed, saying so.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { loadKrb5Config } from '@kpop/common';
import { createCa, deliver, issueServerCert, startPopServer, type PopServer } from '@kpop/kpop';
import { has, run, tempDir } from './kpop-helpers.js';

const hasKinit = has('kinit');
const hasCurl = has('curl');
const hasFetchmail = has('fetchmail');
const hasMbsync = has('mbsync') && existsSync('/usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so') || has('mbsync') && existsSync('/usr/lib/aarch64-linux-gnu/sasl2/libgssapiv2.so');
const hasMutt = has('mutt') && has('tmux');
const hasPyGss = existsSync('/usr/bin/python3') && existsSync('/usr/lib/python3/dist-packages/gssapi');
const why = (p: string, ok: boolean) => (ok ? '' : ` (skipped: ${p} not installed)`);

let kdc: TestKdc;
let server: PopServer;
let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let caPem: string;
const logs: Record<string, unknown>[] = [];
const root = () => join(tmp.dir, 'mail');
const box = () => join(root(), 'alice');
const port = () => server.imap!.port;
const ports = () => server.imaps!.port;

async function fill(n: number, tag: string): Promise<string[]> {
  const subjects: string[] = [];
  for (let i = 0; i < n; i++) {
    const subject = `${tag} ${i}`;
    subjects.push(subject);
    await deliver(box(), Buffer.from(`Subject: ${subject}\nFrom: Test <test@example.org>\nTo: alice@example.org\nMessage-ID: <${tag}.${i}@example.org>\n\nline one of ${tag} ${i}\nlast\n`));
  }
  return subjects;
}
function files(): string[] {
  return [...readdirSync(join(box(), 'new')), ...readdirSync(join(box(), 'cur'))];
}
async function empty(): Promise<void> {
  const { unlinkSync } = await import('node:fs');
  for (const d of ['new', 'cur']) for (const f of readdirSync(join(box(), d))) unlinkSync(join(box(), d, f));
}

beforeAll(async () => {
  if (!hasKinit) return;
  tmp = tempDir('kpop-imap-clients-');
  kdc = await startTestKdc({ realm: 'KPOP.TEST', principals: { alice: 'alice-pw-1', 'imap/127.0.0.1': { randkey: true }, 'imap/localhost': { randkey: true } } });
  const keytab = kdc.keytab(['imap/127.0.0.1', 'imap/localhost'], join(tmp.dir, 'imap.keytab'));
  const ca = await createCa();
  const cert = await issueServerCert(ca, ['localhost', '127.0.0.1']);
  caPem = join(tmp.dir, 'ca.pem');
  writeFileSync(caPem, ca.certPem);
  server = await startPopServer({
    maildirRoot: root(), realm: 'KPOP.TEST', keytab,
    imap: { host: '127.0.0.1', port: 0 }, imaps: { host: '127.0.0.1', port: 0 },
    tls: { cert: cert.certPem, key: cert.keyPem },
    krb5Config: loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath }),
    log: (r) => logs.push(r),
  });
  env = { KRB5_CONFIG: kdc.krb5ConfPath, KRB5CCNAME: `FILE:${join(tmp.dir, 'ccache')}`, HOME: tmp.dir };
  const k = await run('kinit', ['alice@KPOP.TEST'], { env, input: 'alice-pw-1\n' });
  expect(k.code, k.stderr).toBe(0);
  for (const d of ['new', 'cur', 'tmp']) mkdirSync(join(box(), d), { recursive: true });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await kdc?.stop();
  tmp?.cleanup();
});

const authOk = (listener: string, mech = 'GSSAPI') => logs.some((r) => r.event === 'auth' && r.ok === true && r.listener === listener && r.mech === mech);

describe.skipIf(!hasKinit || !hasCurl)(`curl imap:// and imaps:// with AUTH=GSSAPI${why('kinit/curl', hasKinit && hasCurl)}`, () => {
  it('fetches by UID, lists folders and searches, in plain, STARTTLS and IMAPS', async () => {
    await empty();
    const subjects = await fill(3, 'curl');
    const curl = (...a: string[]) => run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', ...a], { env });
    let r = await curl(`imap://127.0.0.1:${port()}/INBOX;UID=1`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Subject: ${subjects[0]}`);
    r = await curl(`imap://127.0.0.1:${port()}/`);
    expect(r.stdout).toMatch(/\* LIST \(.*\) "\." "?INBOX"?/);
    // UID FETCH BODY[] (not PEEK) set \Seen on message 1: UNSEEN is 2 and 3.
    r = await curl(`imap://127.0.0.1:${port()}/INBOX?UNSEEN`);
    expect(r.stdout.trim()).toBe('* SEARCH 2 3');
    r = await curl('--ssl-reqd', '--cacert', caPem, `imap://localhost:${port()}/INBOX;UID=2`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Subject: ${subjects[1]}`);
    r = await curl('--cacert', caPem, `imaps://localhost:${ports()}/INBOX;UID=3`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Subject: ${subjects[2]}`);
    r = await curl('-X', 'EXAMINE INBOX', `imap://127.0.0.1:${port()}/`);
    expect(r.stdout).toMatch(/\* 3 EXISTS/);
    expect(authOk('imap') && authOk('imaps')).toBe(true);
  });

  it('fetches a 20 MB message streamed by the server, octet for octet, over plain IMAP and IMAPS', async () => {
    // Bare LFs on disk, as delivered: the server converts while it streams.
    const line = `${'q'.repeat(99)}\n`;
    await deliver(box(), (async function* () {
      yield Buffer.from('Subject: large\n\n');
      for (let i = 0; i < 20; i++) yield Buffer.from(line.repeat(10_000));
    })());
    const want = createHash('sha256').update(Buffer.from(`Subject: large\r\n\r\n${line.replace('\n', '\r\n').repeat(200_000)}`)).digest('hex');
    const search = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', `imap://127.0.0.1:${port()}/INBOX?SUBJECT%20large`], { env });
    // curl's search answers message numbers: fetch by MAILINDEX (FETCH n BODY[]).
    const n = /^\* SEARCH (\d+)\s*$/.exec(search.stdout)?.[1];
    expect(n, search.stdout + search.stderr).toBeDefined();
    for (const url of [`imap://127.0.0.1:${port()}/INBOX;MAILINDEX=${n}`, `imaps://localhost:${ports()}/INBOX;MAILINDEX=${n}`]) {
      const out = join(tmp.dir, 'large.eml');
      const r = await run('curl', ['-sS', '--login-options', 'AUTH=GSSAPI', '-u', ':', '--cacert', caPem, '-o', out, url], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(createHash('sha256').update(readFileSync(out)).digest('hex'), url).toBe(want);
    }
  }, 90_000);

  it('refuses a password outside TLS (LOGINDISABLED), takes it inside STARTTLS and IMAPS', async () => {
    const plain = await run('curl', ['-sS', '-u', 'alice:alice-pw-1', '--login-options', 'AUTH=PLAIN', `imap://127.0.0.1:${port()}/INBOX;UID=1`], { env });
    expect(plain.code).not.toBe(0);
    const tls = await run('curl', ['-sS', '--ssl-reqd', '--cacert', caPem, '-u', 'alice:alice-pw-1', `imap://localhost:${port()}/INBOX;UID=1`], { env });
    expect(tls.code, tls.stderr).toBe(0);
    expect(tls.stdout).toContain('Subject: curl 0');
    const bad = await run('curl', ['-sS', '--cacert', caPem, '-u', 'alice:wrong', `imaps://localhost:${ports()}/INBOX;UID=1`], { env });
    expect(bad.code).not.toBe(0);
    const plainOverImaps = await run('curl', ['-sS', '--cacert', caPem, '-u', 'alice:alice-pw-1', '--login-options', 'AUTH=PLAIN', `imaps://localhost:${ports()}/INBOX;UID=1`], { env });
    expect(plainOverImaps.code, plainOverImaps.stderr).toBe(0);
  });
});

describe.skipIf(!hasKinit || !hasFetchmail)(`fetchmail IMAP${why('kinit/fetchmail', hasKinit && hasFetchmail)}`, () => {
  it('--auth gssapi fetches with -k, then deletes with EXPUNGE (sequence numbers, untagged EXPUNGE)', async () => {
    await empty();
    const subjects = await fill(3, 'fm');
    const out = join(tmp.dir, 'fm.mbox');
    const args = (extra: string[]) => ['-f', '/dev/null', '--nodetach', '--nosyslog', '-p', 'IMAP', '-P', String(port()), '--auth', 'gssapi', '-u', 'alice', '--sslproto', '', '-m', `/bin/sh -c 'cat >> ${out}'`, '-v', ...extra, '127.0.0.1'];
    let r = await run('fetchmail', args(['-k', '-a']), { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    for (const s of subjects) expect(readFileSync(out, 'utf8')).toContain(`Subject: ${s}`);
    expect(files()).toHaveLength(3);
    r = await run('fetchmail', args(['-a']), { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(files()).toHaveLength(0);
    expect(r.stdout + r.stderr).toMatch(/\* 1 EXPUNGE/);
  });

  it('--auth gssapi inside STARTTLS and over IMAPS, checking our certificate', async () => {
    await empty();
    await fill(2, 'fmgss');
    for (const [label, extra] of [
      ['starttls', ['-P', String(port()), '--sslproto', 'tls1.2+']],
      ['imaps', ['-P', String(ports()), '--ssl']],
    ] as const) {
      const out = join(tmp.dir, `fm-${label}.mbox`);
      const r = await run('fetchmail', ['-f', '/dev/null', '--nodetach', '--nosyslog', '-p', 'IMAP', ...extra, '--sslcertck', '--sslcertfile', caPem, '--auth', 'gssapi', '-u', 'alice', '-k', '-a', '-m', `/bin/sh -c 'cat >> ${out}'`, '-v', 'localhost'], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(readFileSync(out, 'utf8')).toContain('Subject: fmgss 1');
    }
    expect(logs.some((r) => r.event === 'session' && r.listener === 'imap' && r.tls === true && r.mech === 'GSSAPI')).toBe(true);
    expect(authOk('imaps')).toBe(true);
  });

  it('--auth password logs in inside STARTTLS (LOGINDISABLED before it)', async () => {
    await empty();
    await fill(2, 'fmtls');
    const out = join(tmp.dir, 'fmtls.mbox');
    const rc = join(tmp.dir, 'fetchmailrc');
    writeFileSync(rc, `poll localhost protocol IMAP port ${port()} auth password user alice password "alice-pw-1" sslproto tls1.2+ sslcertck sslcertfile "${caPem}" sslcommonname localhost keep mda "/bin/sh -c 'cat >> ${out}'"\n`);
    chmodSync(rc, 0o600);
    const r = await run('fetchmail', ['-f', rc, '--nodetach', '--nosyslog', '-v'], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/STARTTLS/);
    expect(r.stdout + r.stderr).toMatch(/LOGINDISABLED/);
    expect(readFileSync(out, 'utf8')).toContain('Subject: fmtls 1');
    expect(authOk('imap', 'LOGIN')).toBe(true);
  });
});

describe.skipIf(!hasKinit || !hasMbsync)(`mbsync with AuthMechs GSSAPI${why('kinit/mbsync/libsasl2-modules-gssapi-mit', hasKinit && hasMbsync)}`, () => {
  for (const mode of ['None', 'STARTTLS', 'IMAPS'] as const) {
    it(`syncs INBOX (SSLType ${mode}), then pushes a local flag change and an APPEND`, async () => {
      await empty();
      const subjects = await fill(3, `mb${mode}`);
      const local = join(tmp.dir, `mb-${mode}`);
      mkdirSync(local, { recursive: true });
      const rc = join(tmp.dir, `mbsyncrc-${mode}`);
      writeFileSync(rc, [
        'IMAPAccount lab', `Host ${mode === 'None' ? '127.0.0.1' : 'localhost'}`, `Port ${mode === 'IMAPS' ? ports() : port()}`, 'User alice', 'AuthMechs GSSAPI',
        `SSLType ${mode}`, ...(mode === 'None' ? [] : [`CertificateFile ${caPem}`]), '',
        'IMAPStore remote', 'Account lab', '',
        'MaildirStore near', `Path ${local}/`, `Inbox ${local}/INBOX`, '',
        'Channel lab', 'Far :remote:', 'Near :near:', 'Patterns INBOX', 'Create Near', 'Sync All', 'SyncState *', '',
      ].join('\n'));
      // mbsync asks for the host principal imap/HOST; localhost needs the key too.
      let r = await run('mbsync', ['-c', rc, '-V', 'lab'], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const near = () => [...readdirSync(join(local, 'INBOX', 'cur')), ...readdirSync(join(local, 'INBOX', 'new'))];
      expect(near()).toHaveLength(3);
      const got = near().map((f) => readFileSync(join(local, 'INBOX', existsSync(join(local, 'INBOX', 'cur', f)) ? 'cur' : 'new', f), 'utf8')).join('');
      for (const s of subjects) expect(got).toContain(`Subject: ${s}`);
      // Local changes: flag the first as \Flagged + \Seen, add a new message.
      const curDir = join(local, 'INBOX', 'cur');
      const newDir = join(local, 'INBOX', 'new');
      const inNew = readdirSync(newDir).sort();
      const f = inNew[0] ?? readdirSync(curDir).sort()[0]!;
      renameSync(join(inNew.length ? newDir : curDir, f), join(curDir, f.replace(/:2,.*$/, '') + ':2,FS'));
      writeFileSync(join(local, 'INBOX', 'new', `${Date.now()}.local.host`), 'Subject: written locally\nFrom: alice@example.org\nMessage-ID: <local.1@example.org>\n\nappended by mbsync\n');
      await new Promise((res) => setTimeout(res, 1100)); // mbsync waits out a fresh Maildir mtime
      r = await run('mbsync', ['-c', rc, '-V', 'lab'], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const names = files();
      expect(names).toHaveLength(4);
      expect(names.some((n) => n.endsWith(':2,FS'))).toBe(true);
      const all = names.map((n) => readFileSync(join(box(), existsSync(join(box(), 'cur', n)) ? 'cur' : 'new', n), 'utf8')).join('');
      expect(all).toContain('appended by mbsync');
    });
  }
});

describe.skipIf(!hasKinit || !hasPyGss)(`Python imaplib with python3-gssapi${why('python3-gssapi', hasKinit && hasPyGss)}`, () => {
  it('authenticates with GSSAPI, EXAMINEs, UID SEARCHes and fetches headers: plain, STARTTLS, IMAPS', async () => {
    await empty();
    await fill(2, 'py');
    const script = join(__dirname, 'fixtures', 'imap', 'imaplib-gssapi.py');
    for (const [host, p, mode] of [['127.0.0.1', port(), 'plain'], ['localhost', port(), 'starttls'], ['localhost', ports(), 'imaps']] as const) {
      const r = await run('/usr/bin/python3', [script, host, String(p), mode, caPem], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('AUTH OK');
      expect(r.stdout).toMatch(/UIDS \d+ \d+/);
      expect(r.stdout).toContain('SUBJECT Subject: py 1');
    }
  });
});

describe.skipIf(!hasKinit || !hasMutt)(`mutt under tmux${why('mutt/tmux', hasKinit && hasMutt)}`, () => {
  for (const mode of ['plain', 'STARTTLS', 'IMAPS'] as const) {
    it(`opens INBOX and a message with GSSAPI (${mode})`, async () => {
      await empty();
      await deliver(box(), Buffer.from('Subject: mutt one\nFrom: Test <test@example.org>\nTo: alice@example.org\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b1"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\nthe plain body of mutt one\n--b1\nContent-Type: text/html\n\n<p>html</p>\n--b1--\n'));
      const rc = join(tmp.dir, `muttrc-${mode}`);
      const url = mode === 'IMAPS' ? `imaps://localhost:${ports()}/` : mode === 'STARTTLS' ? `imap://localhost:${port()}/` : `imap://127.0.0.1:${port()}/`;
      writeFileSync(rc, [
        'set imap_authenticators="gssapi"', `set ssl_starttls=${mode === 'STARTTLS' ? 'yes' : 'no'}`, `set ssl_force_tls=${mode === 'plain' ? 'no' : 'yes'}`,
        'set header_cache=', 'set imap_idle=no', 'set imap_user=alice', `set folder="${url}"`, 'set spoolfile="+INBOX"',
        `set certificate_file="${caPem}"`, 'set mail_check=60', 'set move=no', 'set confirmappend=no', '',
      ].join('\n'));
      const s = `kpop-mutt-${process.pid}-${mode}`;
      const tmuxEnv = { ...env, TERM: 'xterm' };
      const cmd = `env KRB5_CONFIG=${env.KRB5_CONFIG} KRB5CCNAME=${env.KRB5CCNAME} HOME=${tmp.dir} TERM=xterm mutt -n -F ${rc}`;
      await run('tmux', ['-L', s, 'new', '-d', '-s', s, '-x', '160', '-y', '40', cmd], { env: tmuxEnv });
      const capture = async () => (await run('tmux', ['-L', s, 'capture-pane', '-p', '-t', s], { env: tmuxEnv })).stdout;
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 50; i++) {
          const screen = await capture();
          if (re.test(screen)) return screen;
          await new Promise((r) => setTimeout(r, 200));
        }
        return capture();
      };
      try {
        let screen = await waitFor(/mutt one/);
        expect(screen).toMatch(/1 .*mutt one/);
        await run('tmux', ['-L', s, 'send-keys', '-t', s, 'Enter'], { env: tmuxEnv });
        screen = await waitFor(/the plain body of mutt one/);
        expect(screen).toContain('the plain body of mutt one');
        await run('tmux', ['-L', s, 'send-keys', '-t', s, 'q'], { env: tmuxEnv });
        await new Promise((r) => setTimeout(r, 300));
        await run('tmux', ['-L', s, 'send-keys', '-t', s, 'q'], { env: tmuxEnv });
        await new Promise((r) => setTimeout(r, 300));
        await run('tmux', ['-L', s, 'send-keys', '-t', s, 'y'], { env: tmuxEnv });
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await run('tmux', ['-L', s, 'kill-server'], { env: tmuxEnv });
      }
      expect(authOk(mode === 'IMAPS' ? 'imaps' : 'imap')).toBe(true);
    });
  }
});
