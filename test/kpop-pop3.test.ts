/**
 * The POP3 engine over TCP on 127.0.0.1 (RFC 1939, 2449, 5034): state
 * machine, Maildir behaviour, dot-stuffing, UIDL, locks. Logins use AUTH
 * GSSAPI with the genuine MIT pop/localhost ticket (fixtures, clock pinned).
 */
import { existsSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeContextToken, encodeContextToken, makeWrapToken, readWrapToken, TokId } from '@kpop/common';
import { deliver, startPopServer, type PopServer } from '@kpop/kpop';
import { compareDelivery } from '../packages/kpop/src/maildir/maildir.js';
import { buildApReq, mitPopKeytab, MIT_NOW } from '../packages/common/src/gss/testing/initiator.js';
import { PopClient, tempDir } from './kpop-helpers.js';

const subkey = { keytype: 18, keyvalue: new Uint8Array(32).fill(9) };
let cusec = 0;

/** AUTH GSSAPI as curl does it (no mutual) or fetchmail (mutual); returns the final reply. */
async function gssLogin(c: PopClient, opts: { mutual?: boolean; authzid?: string; initialResponse?: boolean } = {}): Promise<string> {
  const seq = 1000 + ++cusec;
  const tok = encodeContextToken(TokId.AP_REQ, buildApReq({ gssFlags: opts.mutual ? 0x13a : 0x134, subkey, seqNumber: seq, cusec: cusec }));
  const b64 = Buffer.from(tok).toString('base64');
  let r: string;
  if (opts.initialResponse) r = await c.cmd(`AUTH GSSAPI ${b64}`);
  else {
    expect(await c.cmd('AUTH GSSAPI')).toBe('+ ');
    r = await c.cmd(b64);
  }
  if (opts.mutual) {
    expect(r.startsWith('+ ')).toBe(true);
    expect(decodeContextToken(Buffer.from(r.slice(2), 'base64')).tokId).toBe(TokId.AP_REP);
    r = await c.cmd('');
  }
  if (!r.startsWith('+ ')) return r;
  const offer = readWrapToken(Buffer.from(r.slice(2), 'base64'), { key: subkey, fromAcceptor: true });
  expect([...offer.plaintext]).toEqual([1, 0, 0, 0]);
  const answer = makeWrapToken(Buffer.from('\x01\x00\x00\x00' + (opts.authzid ?? ''), 'latin1'), { key: subkey, seq, fromAcceptor: false });
  return c.cmd(Buffer.from(answer).toString('base64'));
}

let server: PopServer;
let tmp: ReturnType<typeof tempDir>;
const logs: Record<string, unknown>[] = [];
const box = () => join(tmp.dir, 'mail', 'alice');
const connect = async () => {
  const c = await PopClient.connect(server.pop3!.port);
  expect(await c.line()).toMatch(/^\+OK/);
  return c;
};

beforeAll(async () => {
  tmp = tempDir();
  server = await startPopServer({
    maildirRoot: join(tmp.dir, 'mail'),
    realm: 'LAB.TEST',
    keytab: mitPopKeytab(),
    pop3: { host: '127.0.0.1', port: 0 },
    now: () => MIT_NOW,
    log: (r) => logs.push(r),
  });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('AUTHORIZATION state', () => {
  it('CAPA offers SASL GSSAPI but no USER and no PLAIN without TLS', async () => {
    const c = await connect();
    c.send('CAPA');
    expect(await c.line()).toMatch(/^\+OK/);
    const caps = await c.multi();
    expect(caps).toContain('SASL GSSAPI');
    expect(caps).toContain('UIDL');
    expect(caps.some((l) => l === 'USER' || l === 'STLS' || l.includes('PLAIN'))).toBe(false);
    expect(await c.cmd('USER alice')).toMatch(/^-ERR \[AUTH\]/);
    expect(await c.cmd('PASS secret')).toMatch(/^-ERR \[AUTH\]/);
    expect(await c.cmd('STAT')).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH PLAIN')).toBe('-ERR [AUTH] Unsupported authentication mechanism.');
    c.send('AUTH');
    expect(await c.line()).toBe('+OK');
    expect(await c.multi()).toEqual(['GSSAPI']);
    expect(await c.cmd('AUTH GSSAPI')).toBe('+ ');
    expect(await c.cmd('*')).toBe('-ERR Authentication aborted by client.');
    expect(await c.cmd('X'.repeat(300))).toBe('-ERR Line too long');
    expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
    expect(await c.waitClose()).toBe(true);
  });
  it('logs in with AUTH GSSAPI, mutual or not, with an initial response, and refuses someone else\'s mailbox', async () => {
    for (const o of [{}, { mutual: true }, { initialResponse: true, authzid: 'alice' }, { mutual: true, authzid: 'alice@LAB.TEST' }]) {
      const c = await connect();
      expect(await gssLogin(c, o)).toMatch(/^\+OK Logged in/);
      expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
      await c.waitClose();
    }
    const c = await connect();
    expect(await gssLogin(c, { authzid: 'bob' })).toBe('-ERR [AUTH] Authentication failed.');
    const rec = logs.find((r) => r.event === 'auth' && r.user === 'bob');
    expect(rec).toMatchObject({ ok: false, mech: 'GSSAPI' });
    c.close();
  });
  it('closes after three failed authentications', async () => {
    const c = await connect();
    for (let i = 0; i < 3; i++) expect(await c.cmd('AUTH GSSAPI !!!!')).toMatch(/^-ERR \[AUTH\]/);
    expect(await c.line()).toMatch(/Too many/);
    expect(await c.waitClose()).toBe(true);
  });
});

describe('TRANSACTION and UPDATE on a Maildir', () => {
  const messages = [
    'Subject: one\n\nfirst body\n.leading dot\n..two dots\n.\nend\n',
    'Subject: two\r\nX: y\r\n\r\nline 1\r\nline 2\r\nline 3\r\n',
    'Subject: three\n\nno final newline',
  ];
  beforeEach(async () => {
    for (const m of messages) await deliver(box(), Buffer.from(m));
  });
  afterEach(async () => {
    // Empty the box between tests.
    const c = await connect();
    await gssLogin(c);
    const n = Number((await c.cmd('STAT')).split(' ')[1]);
    for (let i = 1; i <= n; i++) await c.cmd(`DELE ${i}`);
    await c.cmd('QUIT');
    await c.waitClose();
  });

  it('STAT, LIST, RETR with dot-stuffing: sizes match the octets sent', async () => {
    const c = await connect();
    expect(await gssLogin(c)).toBe('+OK Logged in; 3 messages (' + messages.reduce((n, m) => n + Buffer.byteLength(m.replace(/\r?\n/g, '\r\n')) + (m.endsWith('\n') ? 0 : 2), 0) + ' octets)');
    c.send('LIST');
    expect(await c.line()).toMatch(/^\+OK 3 messages/);
    const sizes = (await c.multi()).map((l) => Number(l.split(' ')[1]));
    for (let i = 0; i < 3; i++) {
      c.send(`RETR ${i + 1}`);
      expect(await c.line()).toBe(`+OK ${sizes[i]} octets`);
      const lines = await c.multi();
      const text = lines.map((l) => l + '\r\n').join('');
      expect(Buffer.byteLength(text)).toBe(sizes[i]);
      const want = messages[i]!.replace(/\r?\n/g, '\r\n');
      expect(text).toBe(want.endsWith('\r\n') ? want : want + '\r\n');
    }
    expect(await c.cmd('LIST 2')).toBe(`+OK 2 ${sizes[1]}`);
    expect(await c.cmd('LIST 9')).toBe("-ERR There's no message 9.");
    expect(await c.cmd('LAST')).toBe('-ERR Unknown command: LAST');
    expect(await c.cmd('USER alice')).toBe('-ERR Unknown command: USER');
    expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
    // At the end of the session, retrieved messages moved to cur/ with the S flag.
    expect(readdirSync(join(box(), 'new'))).toEqual([]);
    expect(readdirSync(join(box(), 'cur')).every((n) => n.endsWith(':2,S'))).toBe(true);
  });

  it('TOP n 0, TOP n 2, and a huge line count as fetchmail sends', async () => {
    const c = await connect();
    await gssLogin(c);
    c.send('TOP 2 0');
    expect(await c.line()).toBe('+OK');
    expect(await c.multi()).toEqual(['Subject: two', 'X: y', '']);
    c.send('TOP 2 2');
    await c.line();
    expect(await c.multi()).toEqual(['Subject: two', 'X: y', '', 'line 1', 'line 2']);
    c.send('TOP 1 99999999999999999999');
    await c.line();
    expect(await c.multi()).toEqual(['Subject: one', '', 'first body', '.leading dot', '..two dots', '.', 'end']);
    expect(await c.cmd('TOP 1 -1')).toMatch(/^-ERR/);
    // TOP does not mark as seen.
    expect(readdirSync(join(box(), 'new')).length).toBe(3);
    await c.cmd('QUIT');
  });

  it('DELE marks, RSET unmarks, QUIT removes; a dropped connection removes nothing', async () => {
    let c = await connect();
    await gssLogin(c);
    expect(await c.cmd('DELE 1')).toBe('+OK Marked to be deleted.');
    expect(await c.cmd('DELE 1')).toBe('-ERR Message is deleted.');
    expect(await c.cmd('RETR 1')).toBe('-ERR Message is deleted.');
    expect(await c.cmd('STAT')).toMatch(/^\+OK 2 /);
    expect(await c.cmd('RSET')).toMatch(/^\+OK maildrop has 3 messages/);
    expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
    c.close(); // dropped: no QUIT
    await new Promise((r) => setTimeout(r, 200));
    c = await connect();
    expect(await gssLogin(c)).toMatch(/3 messages/);
    expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
    await c.waitClose();
    c = await connect();
    expect(await gssLogin(c)).toMatch(/2 messages/);
    c.send('TOP 2 0');
    await c.line();
    expect(await c.multi()).toContain('Subject: three');
    await c.cmd('QUIT');
  });

  it('a message removed behind our back gets -ERR [SYS/TEMP], and the session goes on', async () => {
    const c = await connect();
    await gssLogin(c);
    const name = readdirSync(join(box(), 'new')).sort(compareDelivery)[0]!; // message 1: the first delivered
    unlinkSync(join(box(), 'new', name));
    expect(await c.cmd('RETR 1')).toBe('-ERR [SYS/TEMP] Message cannot be read now');
    expect(await c.cmd('NOOP')).toBe('+OK');
    await c.cmd('QUIT');
    await c.waitClose();
  });

  it('a symlink planted in the Maildir is not served', async () => {
    symlinkSync('/etc/passwd', join(box(), 'new', '1.M1P1Q1.evil'));
    const c = await connect();
    expect(await gssLogin(c)).toMatch(/; 3 messages/);
    c.send('UIDL');
    await c.line();
    expect((await c.multi()).some((l) => l.includes('evil'))).toBe(false);
    await c.cmd('QUIT');
    await c.waitClose();
    unlinkSync(join(box(), 'new', '1.M1P1Q1.evil'));
  });

  it('UIDL is the Maildir unique name and stays the same across sessions', async () => {
    let c = await connect();
    await gssLogin(c);
    c.send('UIDL');
    await c.line();
    const first = await c.multi();
    expect(first).toHaveLength(3);
    for (const l of first) expect(l).toMatch(/^\d \d+\.M\d+P\d+Q\d+R[0-9a-f]{8}\.[A-Za-z0-9._-]+$/);
    await c.cmd('RETR 1'); // moves to cur/:2,S; the UIDL must not change
    await c.multi();
    await c.cmd('QUIT');
    await c.waitClose();
    c = await connect();
    await gssLogin(c);
    c.send('UIDL');
    await c.line();
    expect(await c.multi()).toEqual(first);
    expect(await c.cmd('UIDL 3')).toBe('+OK ' + first[2]);
    await c.cmd('QUIT');
  });

  it('a second session gets [IN-USE]; a stale lock of a dead process is taken over', async () => {
    const a = await connect();
    await gssLogin(a);
    const b = await connect();
    expect(await gssLogin(b)).toBe('-ERR [IN-USE] Mailbox is locked by another POP3 session');
    await a.cmd('QUIT');
    await a.waitClose();
    b.close();
    // A lock file left by a crashed server (PID that no longer runs).
    writeFileSync(join(box(), 'kpop.lock'), `999999999 ${(await import('node:os')).hostname()}\n`);
    const c = await connect();
    expect(await gssLogin(c)).toMatch(/^\+OK Logged in/);
    expect(readFileSync(join(box(), 'kpop.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await c.cmd('QUIT');
    await c.waitClose();
    expect(existsSync(join(box(), 'kpop.lock'))).toBe(false);
  });
});

describe('limits', () => {
  it('an idle session is logged out', async () => {
    const quick = await startPopServer({ maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', pop3: { host: '127.0.0.1', port: 0 }, idleTimeoutMs: 300, log: () => {} });
    try {
      const c = await PopClient.connect(quick.pop3!.port);
      await c.line();
      expect(await c.line()).toMatch(/^-ERR Autologout/);
      expect(await c.waitClose()).toBe(true);
    } finally {
      await quick.close();
    }
  });
  it('a flood of pipelined garbage gets answers and then a close, never a hang', async () => {
    const c = await connect();
    c.send(Buffer.from('FOO\r\n'.repeat(100)));
    const replies: string[] = [];
    while (!c.closed) {
      try {
        replies.push(await c.line(2000));
      } catch {
        break;
      }
    }
    expect(replies.filter((r) => r.startsWith('-ERR Unknown command')).length).toBe(21);
    expect(replies).toContain('-ERR Too many bad commands');
  });
});
