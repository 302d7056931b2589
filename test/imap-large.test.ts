/**
 * FETCH of large messages is streamed from the file (issue 13): a 50 MB
 * BODY[] goes out chunk by chunk, with backpressure, never further ahead of
 * a stalled client than the socket buffers; its octets are exactly the CRLF
 * form announced as the literal's size; partials <start.len> give exactly
 * their range, from files with bare LFs and from files already in CRLF
 * form; a file cut short while it is being sent ends the connection (the
 * announced literal can no longer be finished truthfully) and never
 * yields a wrong body; one that changed size before the FETCH gets a NO.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '@kpop/common';
import { deliver, SaslError, startPopServer, type PopServer } from '@kpop/kpop';
import { ImapClient } from './imap-helpers.js';
import { tempDir } from './kpop-helpers.js';

const alice: Principal = { name: { nameType: 1, nameString: ['alice'] }, realm: 'KPOP.TEST' } as Principal;
let tmp: ReturnType<typeof tempDir>;
let server: PopServer;
const logs: Record<string, unknown>[] = [];
const box = () => join(tmp.dir, 'mail', 'alice');

const HEAD = 'Subject: big\n\n';
const LINE = 'y'.repeat(99);
const LINES = 500_000; // 50 MB
/** The message as stored: bare LFs (as `kpop deliver` and LMTP store what they get). */
async function* lfMessage(lines = LINES) {
  yield Buffer.from(HEAD);
  const chunk = Buffer.from(`${LINE}\n`.repeat(10_000));
  for (let i = 0; i < lines / 10_000; i++) yield chunk;
}
/** Octets [start, start + len) of the CRLF form of lfMessage(), computed, not read. */
function crlfSlice(start: number, len: number, lines = LINES): Buffer {
  const head = Buffer.from(HEAD.replace(/\n/g, '\r\n'));
  const line = Buffer.from(`${LINE}\r\n`);
  const size = head.length + lines * line.length;
  const end = Math.min(size, start + len);
  const out = Buffer.alloc(Math.max(0, end - start));
  for (let p = start; p < end; p++) out[p - start] = p < head.length ? head[p]! : line[(p - head.length) % line.length]!;
  return out;
}
const crlfSize = (lines = LINES) => HEAD.length + 2 + lines * (LINE.length + 2);

beforeAll(async () => {
  tmp = tempDir('kpop-imap-large-');
  server = await startPopServer({
    maildirRoot: join(tmp.dir, 'mail'), realm: 'KPOP.TEST', imap: { host: '127.0.0.1', port: 0 }, allowPlaintextAuth: true,
    verifyPassword: async (user, pw) => {
      if (user === 'alice' && pw === 'pw') return alice;
      throw new SaslError('bad password');
    },
    log: (r) => logs.push(r),
  });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});
beforeEach(() => {
  for (const d of ['new', 'cur']) {
    try {
      for (const f of readdirSync(join(box(), d))) unlinkSync(join(box(), d, f));
    } catch {
      // no mailbox yet
    }
  }
});

async function login(): Promise<ImapClient> {
  const c = await ImapClient.connect(server.imap!.port);
  await c.line();
  expect((await c.cmd('LOGIN alice pw')).status).toMatch(/^OK/);
  return c;
}

/** The message file's path, and the offset of the server's read of it (/proc/self/fdinfo: the server runs in this process). */
function messageFile(): { path: string; serverOffset: () => number | undefined; open: () => boolean } {
  const cur = readdirSync(join(box(), 'cur'));
  const path = cur.length ? join(box(), 'cur', cur[0]!) : join(box(), 'new', readdirSync(join(box(), 'new'))[0]!);
  const fds = () => readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path ? [fd] : [];
    } catch {
      return []; // closed meanwhile
    }
  });
  return {
    path,
    open: () => fds().length > 0,
    serverOffset: () => {
      for (const fd of fds()) {
        try {
          const m = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
          if (m) return Number(m[1]);
        } catch {
          // closed meanwhile
        }
      }
      return undefined;
    },
  };
}

/**
 * Send a FETCH and read its first literal as it comes, hashing it, keeping
 * none of it; onData sees each chunk (to stall). Resolves with the size
 * announced, the octets of the literal received, their SHA-256, and the
 * rest of the response up to the tagged line (or 'closed').
 */
function streamFetch(c: ImapClient, command: string, onData?: (received: number) => void): Promise<{ announced: number; received: number; sha: string; rest: string }> {
  c.socket.removeAllListeners('data');
  c.socket.removeAllListeners('close');
  const hash = createHash('sha256');
  let head = Buffer.alloc(0);
  let announced = -1;
  let received = 0;
  let rest = '';
  return new Promise((resolve) => {
    let done = false;
    const finish = (tail: string) => {
      if (done) return;
      done = true;
      c.socket.removeAllListeners('data');
      resolve({ announced, received, sha: hash.digest('hex'), rest: tail });
    };
    c.socket.on('close', () => finish('closed'));
    c.socket.on('data', (d: Buffer) => {
      if (announced < 0) {
        head = Buffer.concat([head, d]);
        const i = head.indexOf('}\r\n');
        if (i === -1) return;
        announced = Number(/\{(\d+)$/.exec(head.toString('latin1', 0, i))![1]);
        d = head.subarray(i + 3);
      }
      const take = Math.min(d.length, announced - received);
      hash.update(d.subarray(0, take));
      received += take;
      onData?.(received);
      if (take < d.length || received === announced) {
        rest += d.toString('latin1', take);
        if (/\r\nS1 [^\r]*\r\n$/.test(rest)) {
          c.socket.removeAllListeners('close');
          finish(rest);
        }
      }
    });
    c.socket.write(`S1 ${command}\r\n`);
  });
}

describe('FETCH of a 50 MB message', () => {
  it('streams BODY[] from the file with backpressure: the octets announced, the right ones, never far ahead of a stalled client', async () => {
    await deliver(box(), lfMessage());
    const c = await login();
    expect((await c.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    const file = messageFile();
    const fileSize = statSync(file.path).size;
    let aheadPeak = 0;
    let got = 0;
    const sample = () => {
      const pos = file.serverOffset();
      if (pos !== undefined) aheadPeak = Math.max(aheadPeak, pos - got);
    };
    const stall: { mid?: number; end?: number } = {};
    let paused = false;
    const sampler = setInterval(sample, 5);
    const r = await streamFetch(c, 'FETCH 1 (UID RFC822.SIZE BODY.PEEK[])', (received) => {
      got = received;
      sample();
      // A slow reader: nothing read for half a second after 5 MB. A server
      // that did not wait for 'drain' (or read the message whole) would have
      // read the whole file by then.
      if (!paused && received > 5 * 1024 * 1024) {
        paused = true;
        c.socket.pause();
        setTimeout(() => (stall.mid = file.serverOffset()), 300);
        setTimeout(() => {
          stall.end = file.serverOffset();
          c.socket.resume();
        }, 500);
      }
    });
    clearInterval(sampler);
    expect(r.announced).toBe(crlfSize());
    expect(r.received).toBe(crlfSize());
    const expected = createHash('sha256');
    for (let p = 0; p < crlfSize(); p += 4 * 1024 * 1024) expected.update(crlfSlice(p, 4 * 1024 * 1024));
    expect(r.sha).toBe(expected.digest('hex'));
    expect(r.rest).toMatch(/^\)\r\nS1 OK/);
    // Mid-stall the server's read is where the socket buffers stopped it, far from the end.
    expect(stall.mid, 'the file is still open 300 ms into the stall').toBeDefined();
    expect(stall.mid!).toBeLessThan(fileSize / 2);
    expect(stall.end!).toBeLessThan(fileSize / 2);
    expect(aheadPeak).toBeLessThan(fileSize / 2);
    // The file is closed once the response is out.
    expect(file.open()).toBe(false);

    // Partials give exactly their range: at the start, across a 1 MiB mark, at the end, past it.
    c.close();
    const c2 = await login();
    expect((await c2.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    const size = crlfSize();
    for (const [start, len] of [[0, 10], [1_048_570, 20], [30_000_000, 100_000], [size - 7, 100], [size + 5, 10]] as const) {
      const p = await c2.cmd(`FETCH 1 BODY.PEEK[]<${start}.${len}>`);
      expect(p.status).toMatch(/^OK/);
      const want = crlfSlice(start, len);
      expect(p.untagged[0]).toBe(`* 1 FETCH (BODY[]<${start}> {${want.length}}\r\n${want.toString('latin1')})`);
    }
    // fetchmail's way (RFC822.HEADER, then BODY.PEEK[TEXT]) and mutt's and
    // imaplib's header fields, from the header alone and the text streamed.
    const headerText = 'Subject: big\r\n\r\n';
    const h = await c2.cmd('FETCH 1 (RFC822.HEADER ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(h.status).toMatch(/^OK/);
    expect(h.untagged[0]).toBe(`* 1 FETCH (RFC822.HEADER {${headerText.length}}\r\n${headerText} ENVELOPE (NIL "big" NIL NIL NIL NIL NIL NIL NIL NIL) BODY[HEADER.FIELDS (SUBJECT)] {${headerText.length}}\r\n${headerText})`);
    const t = await c2.cmd(`FETCH 1 BODY.PEEK[TEXT]<${size - 120}.1000>`);
    expect(t.untagged[0]).toBe(`* 1 FETCH (BODY[TEXT]<${size - 120}> {${120 - headerText.length}}\r\n${crlfSlice(size - 120 + headerText.length, 1000).toString('latin1')})`);
    c2.close();
    const c3 = await login();
    expect((await c3.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    const text = await streamFetch(c3, 'FETCH 1 BODY.PEEK[TEXT]');
    expect(text.announced).toBe(size - headerText.length);
    const expectedText = createHash('sha256');
    for (let p = headerText.length; p < size; p += 4 * 1024 * 1024) expectedText.update(crlfSlice(p, Math.min(4 * 1024 * 1024, size - p)));
    expect(text.sha).toBe(expectedText.digest('hex'));
    expect(text.rest).toMatch(/^\)\r\nS1 OK/);
    expect(file.open()).toBe(false);
    c3.close();
  }, 90_000);

  it('a file cut short while it is sent ends the connection before the announced octets are complete; the server serves on', async () => {
    await deliver(box(), lfMessage());
    const c = await login();
    expect((await c.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    logs.length = 0;
    let cut = false;
    const r = await streamFetch(c, 'FETCH 1 BODY[]', (received) => {
      if (cut || received < 1024 * 1024) return;
      cut = true;
      c.socket.pause();
      // Edited in place behind the server's back (Maildir files never are): cut to 1 MB.
      // BODY[] set \\Seen first: the file is in cur/ under its new name now.
      setTimeout(() => {
        truncateSync(messageFile().path, 1024 * 1024);
        c.socket.resume();
      }, 200);
    });
    expect(r.rest).toBe('closed');
    expect(r.received).toBeLessThan(r.announced);
    // What did arrive is the message's own beginning, not something else.
    expect(r.sha).toBe(createHash('sha256').update(crlfSlice(0, r.received)).digest('hex'));
    expect(logs.some((l) => l.status === 'MESSAGE_CHANGED' && l.event === 'error')).toBe(true);
    expect(logs.some((l) => l.event === 'session' && l.end === 'message-changed')).toBe(true);
    expect(messageFile().open()).toBe(false);
    // Its size now disagrees with its name (S=): a NO, not a body.
    const d = await login();
    expect((await d.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    const again = await d.cmd('FETCH 1 BODY.PEEK[]');
    expect(again.status).toMatch(/^NO/);
    expect(again.untagged.join('')).not.toContain('BODY[]');
    d.close();
  }, 60_000);
});

describe('FETCH of a message already in CRLF form', () => {
  it('reads partials at their offset and the whole message as stored', async () => {
    const lines = 40_000; // 4 MB
    const crlf = Buffer.concat([crlfSlice(0, crlfSize(lines), lines)]);
    await deliver(box(), crlf);
    const c = await login();
    expect((await c.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    expect(statSync(messageFile().path).size).toBe(crlf.length);
    const whole = await streamFetch(c, 'FETCH 1 RFC822');
    expect(whole.announced).toBe(crlf.length);
    expect(whole.sha).toBe(createHash('sha256').update(crlf).digest('hex'));
    const c2 = await login();
    expect((await c2.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    for (const [start, len] of [[0, 100], [2_000_003, 70_000], [crlf.length - 3, 10]] as const) {
      const p = await c2.cmd(`FETCH 1 BODY.PEEK[]<${start}.${len}>`);
      const want = crlf.subarray(start, start + len);
      expect(p.untagged[0]).toBe(`* 1 FETCH (BODY[]<${start}> {${want.length}}\r\n${want.toString('latin1')})`);
    }
    c.close();
    c2.close();
  }, 60_000);

  it('one FETCH of small, large and small messages keeps their order and octets (memory and file pieces interleaved)', async () => {
    const lines = 20_000; // 2 MB
    await deliver(box(), Buffer.from('Subject: first\n\nsmall one\n'));
    await deliver(box(), lfMessage(lines));
    await deliver(box(), Buffer.from('Subject: third\n\nsmall two\n'));
    const c = await login();
    expect((await c.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    const r = await c.cmd('FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[])', 20_000);
    expect(r.status).toMatch(/^OK/);
    expect(r.untagged).toHaveLength(3);
    const big = crlfSlice(0, crlfSize(lines), lines).toString('latin1');
    // Delivery order, whatever the names' order.
    const bodies = r.untagged.map((u) => /BODY\[\] \{(\d+)\}\r\n([\s\S]*)\)$/.exec(u)!);
    expect(bodies.map((b) => b[2]!.slice(0, 15))).toEqual(['Subject: first\r', 'Subject: big\r\n\r', 'Subject: third\r']);
    expect(bodies[1]![2]).toBe(big);
    expect(bodies.map((b) => Number(b[1]))).toEqual([29, big.length, 29]);
    expect(r.untagged[1]).toContain(`RFC822.SIZE ${big.length} `);
    c.close();
  }, 30_000);

  it('a large file rewritten to another size before the FETCH gets a NO', async () => {
    const lines = 10_000; // 1 MB
    const crlf = crlfSlice(0, crlfSize(lines), lines);
    await deliver(box(), crlf);
    const c = await login();
    expect((await c.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    writeFileSync(messageFile().path, Buffer.concat([crlf, Buffer.from('appended\r\n')]));
    const r = await c.cmd('FETCH 1 (UID BODY.PEEK[])');
    expect(r.status).toMatch(/^NO/);
    expect(r.untagged.join('')).not.toContain('appended');
    expect((await c.cmd('NOOP')).status).toMatch(/^OK/);
    c.close();
  }, 30_000);
});
