/**
 * kpop/imap on the wire, driven by a raw client: the RFC 3501 commands with
 * their exact responses, UIDs that last across restarts and across POP3,
 * POP3 and IMAP on one mailbox at once, IDLE hearing a delivery within a
 * second, and the parser's limits. Passwords are checked by a verifier
 * given to the server (the KDC path is proved by the client tests).
 */
import { existsSync, readdirSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@kpop/common';
import { createCa, deliver, issueServerCert, SaslError, startPopServer, type PopServer, type PopServerOptions } from '@kpop/kpop';
import { ImapClient } from './imap-helpers.js';
import { PopClient, tempDir } from './kpop-helpers.js';

const alice: Principal = { name: { nameType: 1, nameString: ['alice'] }, realm: 'KPOP.TEST' } as Principal;
let tmp: ReturnType<typeof tempDir>;
let server: PopServer;
let tls: { cert: string; key: string };
let caPem: string;
const clients: ImapClient[] = [];
const root = () => join(tmp.dir, 'mail');
const box = () => join(root(), 'alice');

function options(extra: Partial<PopServerOptions> = {}): PopServerOptions {
  return {
    maildirRoot: root(), realm: 'KPOP.TEST',
    imap: { host: '127.0.0.1', port: 0 }, imaps: { host: '127.0.0.1', port: 0 }, pop3: { host: '127.0.0.1', port: 0 },
    tls, allowPlaintextAuth: true,
    verifyPassword: async (user, pw) => {
      if (user === 'alice' && pw === 'pw') return alice;
      throw new SaslError('bad password');
    },
    log: () => {},
    ...extra,
  };
}

async function login(port = server.imap!.port): Promise<ImapClient> {
  const c = await ImapClient.connect(port);
  clients.push(c);
  await c.line();
  const r = await c.cmd('LOGIN alice pw');
  expect(r.status).toMatch(/^OK/);
  return c;
}

async function clear(): Promise<void> {
  for (const d of ['new', 'cur']) for (const f of readdirSync(join(box(), d))) unlinkSync(join(box(), d, f));
}

const MULTI = [
  'Date: Thu, 03 Dec 2026 10:00:00 +0100',
  'From: "Doe, Jane" <jane@example.org>',
  'To: alice@example.org, Bob <bob@example.org>',
  'Cc: team: carol@example.org, dave@example.org;',
  'Subject: =?utf-8?q?caf=C3=A9?= report',
  'Message-ID: <m1@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="XX"',
  '',
  'preamble',
  '--XX',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=FC=DFe aus K=F6ln',
  '--XX',
  'Content-Type: message/rfc822',
  'Content-Disposition: attachment; filename="fwd.eml"',
  '',
  'From: x@example.net',
  'Subject: inner',
  '',
  'inner body',
  '--XX--',
  '',
].join('\n');

beforeAll(async () => {
  tmp = tempDir('kpop-imap-proto-');
  const ca = await createCa();
  const cert = await issueServerCert(ca, ['localhost', '127.0.0.1']);
  tls = { cert: cert.certPem, key: cert.keyPem };
  caPem = ca.certPem;
  for (const d of ['new', 'cur', 'tmp']) mkdirSync(join(box(), d), { recursive: true });
  server = await startPopServer(options());
}, 30_000);
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  // A session still selected would claim the next test's new messages as \Recent.
  for (let i = 0; i < 100 && server.connections > 0; i++) await new Promise((r) => setTimeout(r, 20));
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('greeting, capabilities, login', () => {
  it('offers LOGINDISABLED and no PLAIN before TLS by default, takes LOGIN after STARTTLS', async () => {
    const strict = await startPopServer(options({ allowPlaintextAuth: false, pop3: false, imaps: false }));
    try {
      const c = await ImapClient.connect(strict.imap!.port);
      clients.push(c);
      const greeting = await c.line();
      expect(greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*STARTTLS.*LOGINDISABLED/);
      expect(greeting).not.toContain('AUTH=PLAIN');
      expect((await c.cmd('LOGIN alice pw')).status).toMatch(/^NO \[PRIVACYREQUIRED\]/);
      expect((await c.cmd('AUTHENTICATE PLAIN AGFsaWNlAHB3')).status).toMatch(/^NO/);
      expect((await c.cmd('STARTTLS')).status).toMatch(/^OK/);
      await c.startTls({ ca: caPem, servername: 'localhost' });
      const caps = await c.cmd('CAPABILITY');
      expect(caps.untagged[0]).toContain('AUTH=PLAIN');
      expect(caps.untagged[0]).not.toContain('LOGINDISABLED');
      expect(caps.untagged[0]).not.toContain('STARTTLS');
      const r = await c.cmd('LOGIN alice pw');
      expect(r.status).toMatch(/^OK \[CAPABILITY IMAP4rev1 /);
    } finally {
      await strict.close();
    }
  });

  it('AUTHENTICATE PLAIN with SASL-IR and with a continuation; a wrong password is NO [AUTHENTICATIONFAILED]', async () => {
    const c = await ImapClient.connect(server.imap!.port);
    clients.push(c);
    await c.line();
    expect((await c.cmd(`AUTHENTICATE PLAIN ${Buffer.from('\0alice\0nope').toString('base64')}`)).status).toMatch(/^NO \[AUTHENTICATIONFAILED\]/);
    c.send('a1 AUTHENTICATE PLAIN\r\n');
    expect(await c.line()).toBe('+ ');
    c.send(Buffer.from('\0alice\0pw').toString('base64') + '\r\n');
    expect((await c.until('a1')).status).toMatch(/^OK/);
  });

  it('answers ID, ENABLE and NAMESPACE as mutt and mbsync expect', async () => {
    const c = await login();
    expect((await c.cmd('ID ("name" "test")')).untagged[0]).toMatch(/^\* ID \(/);
    expect((await c.cmd('ENABLE UTF8=ACCEPT')).untagged).toEqual(['* ENABLED']);
    expect((await c.cmd('NAMESPACE')).untagged).toEqual(['* NAMESPACE (("" ".")) NIL NIL']);
    expect((await c.cmd('LIST "" ""')).untagged).toEqual(['* LIST (\\Noselect) "." ""']);
  });
});

describe('SELECT, FETCH, STORE', () => {
  it('SELECT reports flags, counts, UIDVALIDITY and UIDNEXT; FETCH gives ENVELOPE, BODYSTRUCTURE and sections', async () => {
    await clear();
    await deliver(box(), Buffer.from(MULTI));
    await deliver(box(), Buffer.from('Subject: two\n\nsecond\n'));
    const c = await login();
    const sel = await c.cmd('SELECT INBOX');
    expect(sel.status).toBe('OK [READ-WRITE] Select completed.');
    expect(sel.untagged).toContain('* 2 EXISTS');
    expect(sel.untagged).toContain('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)');
    expect(sel.untagged).toContain('* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.');
    expect(sel.untagged.some((l) => /^\* OK \[UIDVALIDITY \d+\]/.test(l))).toBe(true);
    const uidnext = Number(/UIDNEXT (\d+)/.exec(sel.untagged.join('\n'))![1]);

    const env = await c.cmd('FETCH 1 (ENVELOPE)');
    expect(env.untagged[0]).toBe(
      '* 1 FETCH (ENVELOPE ("Thu, 03 Dec 2026 10:00:00 +0100" "=?utf-8?q?caf=C3=A9?= report" (("Doe, Jane" NIL "jane" "example.org")) (("Doe, Jane" NIL "jane" "example.org")) (("Doe, Jane" NIL "jane" "example.org")) ((NIL NIL "alice" "example.org")("Bob" NIL "bob" "example.org")) ((NIL NIL "team" NIL)(NIL NIL "carol" "example.org")(NIL NIL "dave" "example.org")(NIL NIL NIL NIL)) NIL NIL "<m1@example.org>"))',
    );
    const bs = await c.cmd('FETCH 1 BODYSTRUCTURE');
    expect(bs.untagged[0]).toBe(
      '* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 20 1 NIL NIL NIL NIL)' +
        '("message" "rfc822" NIL NIL NIL "7bit" 49 (NIL "inner" ((NIL NIL "x" "example.net")) ((NIL NIL "x" "example.net")) ((NIL NIL "x" "example.net")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) 4 NIL ("attachment" ("filename" "fwd.eml")) NIL NIL)' +
        ' "mixed" ("boundary" "XX") NIL NIL NIL))',
    );
    const body = await c.cmd('FETCH 1 BODY');
    expect(body.untagged[0]).toMatch(/^\* 1 FETCH \(BODY \(\("text" "plain" \("charset" "iso-8859-1"\) NIL NIL "quoted-printable" 20 1\)/);
    const sec = await c.cmd('FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] BODY.PEEK[1.MIME] BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)] BODY.PEEK[]<0.4>)');
    const t = sec.untagged.join('\n');
    const lit = (label: string, s: string) => `${label} {${Buffer.byteLength(s)}}\r\n${s}`;
    // RFC 2046 §5.1.1: the CRLF before a boundary belongs to the boundary.
    expect(t).toContain(lit('BODY[1]', 'Gr=FC=DFe aus K=F6ln'));
    expect(t).toContain(lit('BODY[2.HEADER]', 'From: x@example.net\r\nSubject: inner\r\n\r\n'));
    expect(t).toContain(lit('BODY[2.TEXT]', 'inner body'));
    expect(t).toContain(lit('BODY[2.1]', 'inner body'));
    expect(t).toContain(lit('BODY[1.MIME]', 'Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'));
    expect(t).toContain(lit('BODY[HEADER.FIELDS (SUBJECT MESSAGE-ID)]', 'Subject: =?utf-8?q?caf=C3=A9?= report\r\nMessage-ID: <m1@example.org>\r\n\r\n'));
    expect(t).toContain('BODY[]<0> {4}\r\nDate');
    // RFC822.SIZE is exactly what BODY[] sends (CRLF line ends).
    const whole = await c.cmd('FETCH 2 (RFC822.SIZE BODY.PEEK[] FLAGS)');
    const size = Number(/RFC822.SIZE (\d+)/.exec(whole.untagged[0]!)![1]);
    expect(whole.untagged[0]).toContain(`BODY[] {${size}}\r\nSubject: two\r\n\r\nsecond\r\n`);
    expect(whole.untagged[0]).toMatch(/FLAGS \(\\Recent\)/);
    // BODY[] without PEEK sets \Seen and says so.
    expect((await c.cmd('FETCH 2 BODY[TEXT]')).untagged[0]).toMatch(/FLAGS \(\\Seen \\Recent\)/);
    const uf = await c.cmd('UID FETCH 1:* (UID FLAGS)');
    expect(uf.untagged.map((l) => l.replace(/UID \d+/, 'UID n'))).toEqual(['* 1 FETCH (UID n FLAGS (\\Recent))', '* 2 FETCH (UID n FLAGS (\\Seen \\Recent))']);
    expect(uidnext).toBeGreaterThan(Number(/UID (\d+)/.exec(uf.untagged[1]!)![1]));
    expect((await c.cmd('FETCH 1 (INTERNALDATE RFC822.HEADER)')).untagged[0]).toMatch(/INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d \+0000" RFC822.HEADER \{\d+\}/);
    expect((await c.cmd('FETCH 3 FLAGS')).status).toMatch(/^BAD/);
    expect((await c.cmd('FETCH 1 (BODY[4.2])')).untagged[0]).toContain('BODY[4.2] {0}');
  });

  it('STORE sets flags and keywords that last (PERMANENTFLAGS \\*), .SILENT says nothing, UID STORE names UIDs', async () => {
    await clear();
    await deliver(box(), Buffer.from('Subject: s1\n\none\n'));
    await deliver(box(), Buffer.from('Subject: s2\n\ntwo\n'));
    const c = await login();
    await c.cmd('SELECT INBOX');
    expect((await c.cmd('STORE 1 +FLAGS (\\Flagged Old $Label1)')).untagged[0]).toMatch(/^\* 1 FETCH \(FLAGS \((?=.*\\Flagged)(?=.*Old)(?=.*\$Label1).*\)\)$/);
    expect((await c.cmd('UID STORE 1:* +FLAGS.SILENT (Old)')).untagged).toEqual([]);
    expect((await c.cmd('STORE 1 -FLAGS (\\Flagged)')).untagged[0]).not.toContain('\\Flagged');
    expect((await c.cmd('STORE 2 FLAGS (\\Answered \\Draft)')).untagged[0]).toMatch(/FLAGS \(\\Answered \\Draft \\Recent\)|FLAGS \(\\Draft \\Answered \\Recent\)/);
    expect((await c.cmd('STORE 1 +FLAGS (\\Bogus)')).status).toMatch(/^BAD/);
    await c.cmd('LOGOUT');
    const d = await login();
    const sel = await d.cmd('EXAMINE INBOX');
    expect(sel.status).toMatch(/^OK \[READ-ONLY\]/);
    expect(sel.untagged.join('\n')).toMatch(/\* FLAGS \(.*Old.*\)/);
    const f = await d.cmd('FETCH 1:2 FLAGS');
    expect(f.untagged[0]).toMatch(/Old/);
    expect(f.untagged[0]).toMatch(/\$Label1/);
    expect(f.untagged[1]).toMatch(/\\Answered/);
    expect((await d.cmd('STORE 1 +FLAGS (\\Seen)')).status).toMatch(/^NO \[READ-ONLY\]/);
    // Maildir letters on disk: R (answered), D (draft), keywords as a–z.
    expect(readdirSync(join(box(), 'cur')).some((n) => /:2,DR$/.test(n))).toBe(true);
    expect(readFileSync(join(box(), 'dovecot-keywords'), 'utf8')).toMatch(/^0 Old\n1 \$Label1\n/);
  });
});

describe('UIDs that last', () => {
  it('the same message keeps its UID across a restart, across POP3 and across flag changes; UIDVALIDITY stays', async () => {
    await clear();
    for (let i = 0; i < 3; i++) await deliver(box(), Buffer.from(`Subject: keep ${i}\n\nbody\n`));
    let c = await login();
    const s1 = await c.cmd('SELECT INBOX');
    const v1 = /UIDVALIDITY (\d+)/.exec(s1.untagged.join())![1];
    const u1 = (await c.cmd('UID SEARCH ALL')).untagged[0];
    await c.cmd('STORE 2 +FLAGS (\\Seen)');
    await c.cmd('LOGOUT');
    // POP3 reads message 1 (moves it to cur/ with S) and deletes message 3.
    const p = await PopClient.connect(server.pop3!.port);
    await p.line();
    await p.cmd('USER alice');
    expect(await p.cmd('PASS pw')).toMatch(/^\+OK/);
    p.send('UIDL');
    expect(await p.line()).toMatch(/^\+OK/);
    const uidl1 = await p.multi();
    await p.cmd('RETR 1').then(() => p.multi());
    expect(await p.cmd('DELE 3')).toMatch(/^\+OK/);
    expect(await p.cmd('QUIT')).toMatch(/^\+OK/);
    p.close();
    await server.close();
    server = await startPopServer(options());
    c = await login();
    const s2 = await c.cmd('SELECT INBOX');
    expect(/UIDVALIDITY (\d+)/.exec(s2.untagged.join())![1]).toBe(v1);
    const u2 = (await c.cmd('UID SEARCH ALL')).untagged[0]!;
    expect(u1!.split(' ').slice(2, 4).join(' ')).toBe(u2.split(' ').slice(2).join(' '));
    expect((await c.cmd('FETCH 1:* (UID FLAGS)')).untagged.map((l) => l.replace(/^\* \d+ FETCH /, ''))).toEqual([
      `(UID ${u2.split(' ')[2]} FLAGS (\\Seen))`, `(UID ${u2.split(' ')[3]} FLAGS (\\Seen))`,
    ]);
    // POP3's UIDL stays what it was.
    const p2 = await PopClient.connect(server.pop3!.port);
    await p2.line();
    await p2.cmd('USER alice');
    await p2.cmd('PASS pw');
    p2.send('UIDL');
    await p2.line();
    expect(await p2.multi()).toEqual(uidl1.slice(0, 2));
    await p2.cmd('QUIT');
    p2.close();
  });

  it('POP3 and IMAP on one mailbox at once: IMAP is told of POP3 deletions, POP3 of IMAP flag renames, nothing lost or doubled', async () => {
    await clear();
    for (let i = 0; i < 4; i++) await deliver(box(), Buffer.from(`Subject: both ${i}\n\nbody ${i}\n`));
    const c = await login();
    await c.cmd('SELECT INBOX');
    const p = await PopClient.connect(server.pop3!.port);
    await p.line();
    await p.cmd('USER alice');
    await p.cmd('PASS pw');
    // IMAP renames message 1 (flags) while POP3 holds its snapshot: RETR still finds it.
    await c.cmd('STORE 1 +FLAGS (\\Flagged)');
    p.send('RETR 1');
    expect(await p.line()).toMatch(/^\+OK/);
    expect((await p.multi()).join('\n')).toContain('Subject: both 0');
    // IMAP renames message 2 too; POP3 deletes it under its new name.
    await c.cmd('STORE 2 +FLAGS (\\Answered)');
    expect(await p.cmd('DELE 2')).toMatch(/^\+OK/);
    expect(await p.cmd('QUIT')).toMatch(/^\+OK/);
    p.close();
    const noop = await c.cmd('NOOP');
    expect(noop.untagged).toContain('* 2 EXPUNGE');
    const all = await c.cmd('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(all.untagged.map((l) => /Subject: (both \d)/.exec(l)![1])).toEqual(['both 0', 'both 2', 'both 3']);
    expect(readdirSync(join(box(), 'new')).length + readdirSync(join(box(), 'cur')).length).toBe(3);
  });
});

describe('IDLE, EXPUNGE, COPY, MOVE, UIDPLUS, APPEND', () => {
  it('IDLE announces a delivery within a second', async () => {
    await clear();
    const c = await login();
    await c.cmd('SELECT INBOX');
    c.send('i1 IDLE\r\n');
    expect(await c.line()).toMatch(/^\+ /);
    const t0 = Date.now();
    await deliver(box(), Buffer.from('Subject: while idle\n\nhi\n'));
    expect(await c.line(1500)).toBe('* 1 EXISTS');
    expect(Date.now() - t0).toBeLessThan(1000);
    c.send('DONE\r\n');
    const r = await c.until('i1');
    expect(r.status).toMatch(/^OK/);
  });

  it('IDLE announces within a second a message from `kpop deliver` (another process) and one from LMTP', async () => {
    await clear();
    const lmtpServer = await startPopServer(options({ imap: false, imaps: false, pop3: false, lmtp: { host: '127.0.0.1', port: 0 } }));
    try {
      const c = await login();
      await c.cmd('SELECT INBOX');
      c.send('i2 IDLE\r\n');
      expect(await c.line()).toMatch(/^\+ /);
      // kpop deliver, as an MTA's delivery agent runs it.
      const src = join(import.meta.dirname, '..', 'packages', 'kpop', 'src', 'bin', 'kpop.ts');
      const tsx = join(import.meta.dirname, '..', 'node_modules', '.bin', 'tsx');
      const { spawnSync } = await import('node:child_process');
      const d = spawnSync(tsx, [src, 'deliver', 'alice', '--maildir-root', root()], { input: 'Subject: from kpop deliver\n\nhi\n', encoding: 'utf8' });
      expect(d.status, d.stderr).toBe(0);
      const t0 = Date.now();
      expect(await c.line(1500)).toBe('* 1 EXISTS');
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(await c.line()).toBe('* 1 RECENT');
      // LMTP (RFC 2033).
      const l = await PopClient.connect(lmtpServer.lmtp!.port);
      await l.line();
      const t1 = Date.now();
      l.send(Buffer.from('LHLO test\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\nDATA\r\n'));
      let got = await l.line();
      while (!/^354 /.test(got)) got = await l.line();
      l.send(Buffer.from('Subject: by lmtp\r\n\r\nhello\r\n.\r\n'));
      let reply = await l.line();
      while (!/^250 /.test(reply)) reply = await l.line();
      expect(await c.line(1500)).toBe('* 2 EXISTS');
      expect(Date.now() - t1).toBeLessThan(1000);
      expect(await c.line()).toBe('* 2 RECENT');
      l.close();
      c.send('DONE\r\n');
      expect((await c.until('i2')).status).toMatch(/^OK/);
      const subjects = await c.cmd('FETCH 1:2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]');
      expect(subjects.untagged.join('\n')).toMatch(/from kpop deliver[\s\S]*by lmtp/);
    } finally {
      await lmtpServer.close();
    }
  });

  it('EXPUNGE sends * n EXPUNGE; UID EXPUNGE only its set; COPY and MOVE give COPYUID; APPEND gives APPENDUID (LITERAL+)', async () => {
    await clear();
    for (let i = 0; i < 5; i++) await deliver(box(), Buffer.from(`Subject: e${i}\n\nbody ${i}\n`));
    const c = await login();
    expect((await c.cmd('CREATE Archive')).status).toMatch(/^OK/);
    await c.cmd('SELECT INBOX');
    const uids = (await c.cmd('UID SEARCH ALL')).untagged[0]!.split(' ').slice(2).map(Number);
    await c.cmd('STORE 1:3 +FLAGS.SILENT (\\Deleted)');
    const ux = await c.cmd(`UID EXPUNGE ${uids[1]}`);
    expect(ux.untagged).toEqual(['* 2 EXPUNGE']);
    const ex = await c.cmd('EXPUNGE');
    expect(ex.untagged).toEqual(['* 2 EXPUNGE', '* 1 EXPUNGE']);
    const cp = await c.cmd('COPY 1 Archive');
    expect(cp.status).toMatch(new RegExp(`^OK \\[COPYUID \\d+ ${uids[3]} 1\\]`));
    const mv = await c.cmd('UID MOVE 1:* Archive');
    expect(mv.untagged[0]).toMatch(new RegExp(`^\\* OK \\[COPYUID \\d+ ${uids[3]}:${uids[4]} 2:3\\]`));
    expect(mv.untagged.slice(1)).toEqual(['* 2 EXPUNGE', '* 1 EXPUNGE']);
    const msg = 'Subject: appended\r\n\r\nliteral plus\r\n';
    const ap = await c.cmd(`APPEND Archive (\\Seen) "05-Dec-2026 01:02:03 +0100" {${msg.length}+}\r\n${msg}`);
    expect(ap.status).toMatch(/^OK \[APPENDUID \d+ 4\] /);
    c.send(`s1 APPEND Archive {${msg.length}}\r\n`);
    expect(await c.line()).toMatch(/^\+ /);
    c.send(`${msg}\r\n`);
    expect((await c.until('s1')).status).toMatch(/^OK \[APPENDUID \d+ 5\]/);
    expect((await c.cmd(`APPEND Nowhere {${msg.length}+}\r\n${msg}`)).status).toMatch(/^NO \[TRYCREATE\]/);
    const st = await c.cmd('STATUS Archive (MESSAGES UIDNEXT UNSEEN)');
    expect(st.untagged[0]).toBe('* STATUS "Archive" (MESSAGES 5 UIDNEXT 6 UNSEEN 4)');
    await c.cmd('SELECT Archive');
    expect((await c.cmd('UID FETCH 4 (INTERNALDATE FLAGS)')).untagged[0]).toBe('* 4 FETCH (UID 4 INTERNALDATE "05-Dec-2026 00:02:03 +0000" FLAGS (\\Seen \\Recent))');
  });

  it('folders: CREATE, LIST, LSUB, RENAME (with children), DELETE', async () => {
    const c = await login();
    await c.cmd('CREATE Work.2026.');
    expect((await c.cmd('LIST "" *')).untagged).toEqual(expect.arrayContaining(['* LIST (\\HasChildren) "." "Work"', '* LIST (\\HasNoChildren) "." "Work.2026"']));
    expect((await c.cmd('LIST "" %')).untagged).not.toContain('* LIST (\\HasNoChildren) "." "Work.2026"');
    await c.cmd('SUBSCRIBE Work.2026');
    expect((await c.cmd('LSUB "" *')).untagged).toEqual(['* LSUB (\\HasNoChildren) "." "Work.2026"']);
    expect((await c.cmd('RENAME Work Job')).status).toMatch(/^OK/);
    expect((await c.cmd('LIST "" Job*')).untagged).toEqual(['* LIST (\\HasChildren) "." "Job"', '* LIST (\\HasNoChildren) "." "Job.2026"']);
    expect((await c.cmd('DELETE Job')).status).toMatch(/^NO/);
    expect((await c.cmd('DELETE Job.2026')).status).toMatch(/^OK/);
    expect((await c.cmd('DELETE Job')).status).toMatch(/^OK/);
    expect((await c.cmd('SELECT Job')).status).toMatch(/^NO \[NONEXISTENT\]/);
    expect((await c.cmd('CREATE ../etc')).status).toMatch(/^NO/);
    expect((await c.cmd('DELETE INBOX')).status).toMatch(/^NO/);
  });
});

describe('RENAME and the uidlist lock', () => {
  const lockIn = (name: string) => join(box(), `.${name}`, 'kpop-uidlist.lock');
  it('a stale lock file is not carried to the new name; UIDs and UIDVALIDITY travel with the folder', async () => {
    const c = await login();
    expect((await c.cmd('CREATE Old')).status).toMatch(/^OK/);
    await deliver(join(box(), '.Old'), Buffer.from('Subject: kept\n\nbody\n'));
    const before = await c.cmd('STATUS Old (UIDVALIDITY UIDNEXT MESSAGES)');
    // A crashed writer's lock, older than the stale limit.
    writeFileSync(lockIn('Old'), '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockIn('Old'), old, old);
    expect((await c.cmd('RENAME Old New')).status).toMatch(/^OK/);
    expect(existsSync(lockIn('New'))).toBe(false);
    expect(readdirSync(join(box(), '.New'))).not.toContain('kpop-uidlist.lock');
    expect((await c.cmd('STATUS New (UIDVALIDITY UIDNEXT MESSAGES)')).untagged[0]).toBe(before.untagged[0]!.replace('"Old"', '"New"'));
    // A new folder under the old name is a new mailbox: its own UIDVALIDITY, nothing of the old one's.
    expect((await c.cmd('CREATE Old')).status).toMatch(/^OK/);
    const fresh = await c.cmd('STATUS Old (MESSAGES UIDNEXT)');
    expect(fresh.untagged[0]).toBe('* STATUS "Old" (MESSAGES 0 UIDNEXT 1)');
    const sel = await c.cmd('SELECT New');
    expect(sel.untagged).toContain('* 1 EXISTS');
    const f = await c.cmd('FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(f.untagged[0]).toContain('Subject: kept');
    await c.cmd('UNSELECT');
    await c.cmd('DELETE Old');
    await c.cmd('DELETE New');
  });

  it('waits for a live lock (a writer midway) and leaves no lock behind at either name', async () => {
    const c = await login();
    expect((await c.cmd('CREATE Busy')).status).toMatch(/^OK/);
    writeFileSync(lockIn('Busy'), '');
    let released = 0;
    setTimeout(() => {
      released = Date.now();
      unlinkSync(lockIn('Busy'));
    }, 300);
    const r = await c.cmd('RENAME Busy Moved');
    expect(r.status).toMatch(/^OK/);
    expect(released, 'RENAME went ahead while the lock was held').toBeGreaterThan(0);
    expect(existsSync(lockIn('Moved'))).toBe(false);
    expect(existsSync(lockIn('Busy'))).toBe(false);
    await c.cmd('DELETE Moved');
  });
});

describe('SEARCH', () => {
  it('every RFC 3501 key', async () => {
    await clear();
    await deliver(box(), Buffer.from(MULTI));
    await deliver(box(), Buffer.from('Date: Mon, 30 Nov 2026 08:00:00 +0000\nFrom: bob@example.org\nTo: alice@example.org\nBcc: secret@example.org\nSubject: lunch\nX-Prio: high\n\nsee you at noon\n'));
    await deliver(box(), Buffer.from('Subject: =?iso-8859-1?q?K=F6ln?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n' + Buffer.from('Grüße aus dem Süden\n').toString('base64') + '\n'));
    const c = await login();
    await c.cmd('SELECT INBOX');
    await c.cmd('STORE 2 +FLAGS (\\Answered \\Flagged $Work)');
    await c.cmd('STORE 3 +FLAGS (\\Seen \\Draft \\Deleted)');
    const s = async (q: string) => (await c.cmd(`SEARCH ${q}`)).untagged[0];
    expect(await s('ALL')).toBe('* SEARCH 1 2 3');
    expect(await s('ANSWERED')).toBe('* SEARCH 2');
    expect(await s('UNANSWERED')).toBe('* SEARCH 1 3');
    expect(await s('FLAGGED')).toBe('* SEARCH 2');
    expect(await s('UNFLAGGED DELETED')).toBe('* SEARCH 3');
    expect(await s('UNDELETED')).toBe('* SEARCH 1 2');
    expect(await s('DRAFT')).toBe('* SEARCH 3');
    expect(await s('UNDRAFT SEEN')).toBe('* SEARCH');
    expect(await s('UNSEEN')).toBe('* SEARCH 1 2');
    expect(await s('KEYWORD $Work')).toBe('* SEARCH 2');
    expect(await s('UNKEYWORD $Work')).toBe('* SEARCH 1 3');
    expect(await s('RECENT')).toBe('* SEARCH 1 2 3');
    expect(await s('NEW')).toBe('* SEARCH 1 2');
    expect(await s('OLD')).toBe('* SEARCH');
    expect(await s('FROM jane')).toBe('* SEARCH 1');
    expect(await s('TO bob')).toBe('* SEARCH 1');
    expect(await s('CC carol')).toBe('* SEARCH 1');
    expect(await s('BCC secret')).toBe('* SEARCH 2');
    expect(await s('SUBJECT café')).toBe('* SEARCH 1');
    expect(await s('SUBJECT "köln"')).toBe('* SEARCH 3');
    expect(await s('HEADER X-Prio high')).toBe('* SEARCH 2');
    expect(await s('HEADER X-Prio ""')).toBe('* SEARCH 2');
    expect(await s('BODY noon')).toBe('* SEARCH 2');
    expect(await s('BODY "Grüße aus Köln"')).toBe('* SEARCH 1');
    expect(await s('BODY süden')).toBe('* SEARCH 3');
    expect(await s('TEXT lunch')).toBe('* SEARCH 2');
    expect(await s('TEXT "inner body"')).toBe('* SEARCH 1');
    expect(await s('SENTON 3-Dec-2026')).toBe('* SEARCH 1');
    expect(await s('SENTBEFORE 1-Dec-2026')).toBe('* SEARCH 2');
    expect(await s('SENTSINCE 1-Dec-2026')).toBe('* SEARCH 1');
    expect(await s('SINCE 1-Jan-2000')).toBe('* SEARCH 1 2 3');
    expect(await s('BEFORE 1-Jan-2000')).toBe('* SEARCH');
    expect(await s('NOT ON 1-Jan-2000')).toBe('* SEARCH 1 2 3');
    expect(await s('LARGER 200')).toBe('* SEARCH 1');
    expect(await s('SMALLER 200')).toBe('* SEARCH 2 3');
    expect(await s('OR ANSWERED DRAFT')).toBe('* SEARCH 2 3');
    expect(await s('NOT (OR ANSWERED DRAFT)')).toBe('* SEARCH 1');
    expect(await s('2:*')).toBe('* SEARCH 2 3');
    expect(await s('CHARSET UTF-8 SUBJECT café')).toBe('* SEARCH 1');
    expect((await c.cmd('SEARCH CHARSET X-NOPE ALL')).status).toMatch(/^NO \[BADCHARSET/);
    const uids = (await c.cmd('UID SEARCH ALL')).untagged[0]!.split(' ').slice(2);
    expect((await c.cmd(`UID SEARCH UID ${uids[1]}:*`)).untagged[0]).toBe(`* SEARCH ${uids[1]} ${uids[2]}`);
    expect((await c.cmd('SEARCH FOO')).status).toMatch(/^BAD/);
  });
});

describe('hostile input', () => {
  it('a huge literal is refused before anything is read; a non-synchronizing one closes the connection', async () => {
    const c = await login();
    c.send('h1 APPEND INBOX {99999999999999}\r\n');
    expect(await c.line()).toMatch(/^h1 NO \[TOOBIG\]/);
    expect((await c.cmd('NOOP')).status).toMatch(/^OK/);
    c.send('h2 LOGIN {70000}\r\n');
    expect(await c.line()).toMatch(/^h2 NO \[TOOBIG\]/);
    c.send('h3 APPEND INBOX {99999999999+}\r\n');
    expect(await c.line()).toMatch(/^\* BYE \[TOOBIG\]/);
    expect(await c.waitClose()).toBe(true);
  });

  it('overlong lines, deep nesting and too many ranges get BAD and the session goes on', async () => {
    const c = await login();
    await c.cmd('SELECT INBOX');
    c.send('l1 NOOP ' + 'x'.repeat(200_000) + '\r\n');
    expect(await c.line()).toMatch(/^l1 BAD \[TOOBIG\]/);
    expect((await c.cmd('FETCH 1 ' + '('.repeat(40) + 'FLAGS' + ')'.repeat(40))).status).toMatch(/^BAD/);
    expect((await c.cmd('UID FETCH ' + Array.from({ length: 10_001 }, (_, i) => i + 1).join(',') + ' FLAGS')).status).toMatch(/^BAD/);
    expect((await c.cmd('UID FETCH 1:4294967295,1:*,4294967295 FLAGS')).status).toMatch(/^OK/);
    expect((await c.cmd('NOOP')).status).toMatch(/^OK/);
  });

  it('a message file that vanishes or changes under FETCH gives NO, never a wrong body', async () => {
    await clear();
    // Which file is which, from the deliveries themselves (Maildir names need not sort in delivery order).
    await deliver(box(), Buffer.from('Subject: v1\n\nfirst\n'));
    const a = readdirSync(join(box(), 'new'))[0];
    await deliver(box(), Buffer.from('Subject: v2\n\nsecond\n'));
    const b = readdirSync(join(box(), 'new')).find((f) => f !== a);
    const c = await login();
    await c.cmd('SELECT INBOX');
    unlinkSync(join(box(), 'new', a!));
    const r = await c.cmd('FETCH 1:2 BODY.PEEK[]');
    expect(r.status).toMatch(/^NO \[EXPUNGEISSUED\]/);
    expect(r.untagged.join('')).toContain('second');
    writeFileSync(join(box(), 'new', b!), 'Subject: v2\n\nsecond, but edited to be longer\n');
    const r2 = await c.cmd('FETCH 2 BODY.PEEK[]');
    expect(r2.status).toMatch(/^NO/);
    expect(r2.untagged.join('')).not.toContain('edited');
    const n = await c.cmd('NOOP');
    expect(n.untagged).toContain('* 1 EXPUNGE');
  });

  it('a malformed message still FETCHes: no boundary end, bad Content-Type, garbage header', async () => {
    await clear();
    await deliver(box(), Buffer.from('Content-Type: multipart/mixed; boundary=zz\nFrom: <<<@@@>>>, "unterminated\nSubject: \xff\xfe\n\n--zz\nContent-Type: ///\n\nhalf\n--zz\nContent-Type: message/rfc822\n\nno header end'));
    await deliver(box(), Buffer.from('\x00\x01garbage without header\n'));
    const c = await login();
    await c.cmd('SELECT INBOX');
    const r = await c.cmd('FETCH 1:2 (ENVELOPE BODYSTRUCTURE BODY[1] BODY[2.HEADER] BODY[3])');
    expect(r.status).toMatch(/^OK/);
    expect(r.untagged).toHaveLength(2);
  });
});
