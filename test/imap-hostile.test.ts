/**
 * Hostile IMAP input: 100,000 mutated commands (800 sessions of 125, eight
 * at a time) built from what real clients send, with bytes flipped, cut,
 * repeated, literals and parentheses thrown in, numbers made huge. The
 * server never crashes (no uncaught error), never hangs (every session's
 * LOGOUT is answered or the session is closed by the server), its memory
 * stays bounded, and a well-behaved session works afterwards. Seeded, so a
 * failure can be replayed (IMAP_FUZZ_SEED, IMAP_FUZZ_SESSIONS, IMAP_FUZZ_PER).
 * A session whose mutation announced a large synchronizing literal leaves
 * the server rightly waiting for the client's octets: the client hangs up
 * after 3 s and the server must then end the session at once.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@kpop/common';
import { deliver, SaslError, startPopServer, type PopServer } from '@kpop/kpop';
import { ImapClient } from './imap-helpers.js';
import { tempDir } from './kpop-helpers.js';

const alice: Principal = { name: { nameType: 1, nameString: ['alice'] }, realm: 'KPOP.TEST' } as Principal;
let server: PopServer;
let tmp: ReturnType<typeof tempDir>;

const SEEDS = [
  'CAPABILITY', 'NOOP', 'ID ("name" "mutt")', 'ENABLE UTF8=ACCEPT', 'NAMESPACE', 'LIST "" "*"', 'LIST "" ""', 'LSUB "" *',
  'SELECT "INBOX"', 'EXAMINE INBOX', 'STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)', 'CHECK',
  'FETCH 1:3 RFC822.SIZE', 'FETCH 1 RFC822.HEADER', 'FETCH 1 BODY.PEEK[TEXT]', 'UID FETCH 1:* (UID FLAGS)', 'UID FETCH 2 (BODY.PEEK[])',
  'FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SENDER SUBJECT TO CC MESSAGE-ID)])',
  'FETCH 1:* (ENVELOPE BODYSTRUCTURE)', 'FETCH 2 (BODY[1.2.MIME] BODY.PEEK[2.HEADER.FIELDS.NOT (X)]<0.10>)', 'FETCH 1:2 ALL', 'FETCH * FULL',
  'UID STORE 1:3 +FLAGS.SILENT (Old)', 'STORE 1 +FLAGS (\\Seen)', 'STORE 1:* -FLAGS (\\Flagged $Work)',
  'SEARCH UNSEEN', 'SEARCH UNSEEN UNDELETED', 'UID SEARCH ALL', 'SEARCH OR FROM a (NOT SUBJECT b) SINCE 1-Jan-2020',
  'SEARCH CHARSET UTF-8 TEXT "x" LARGER 10 HEADER X-A "" 1:5,7', 'COPY 1:2 Trash', 'UID MOVE 5 Trash', 'CREATE Trash', 'SUBSCRIBE Trash',
  'APPEND Trash (\\Seen) {12+}\r\nSubject: x\r\n', 'APPEND INBOX {5}\r\nhello', 'AUTHENTICATE PLAIN', 'IDLE', 'UNSELECT', 'CLOSE',
];
const NOISE = ['(', ')', '{', '}', '{5}', '{99999999999}', '{3+}\r\n', '"', '\\', '[', ']', '<', '>', '*', '%', '\0', '\r', '\n', ' ', '4294967296', '-1', ':', ',', 'NIL', '\xff'];

/** xorshift32: deterministic, seedable. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function mutate(r: () => number, s: string): string {
  let out = s;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * (out.length + 1));
    switch (Math.floor(r() * 7)) {
      case 0: out = out.slice(0, pos) + String.fromCharCode(Math.floor(r() * 256)) + out.slice(pos + 1); break;
      case 1: out = out.slice(0, pos) + NOISE[Math.floor(r() * NOISE.length)] + out.slice(pos); break;
      case 2: out = out.slice(0, pos); break;
      case 3: out = out.slice(0, pos) + out.slice(pos, pos + 8).repeat(1 + Math.floor(r() * 50)) + out.slice(pos); break;
      case 4: out = out.replace(/\d+/, String(Math.floor(r() * 2 ** 32) * (r() < 0.5 ? 1 : 1000))); break;
      case 5: out = '('.repeat(Math.floor(r() * 60)) + out + ')'.repeat(Math.floor(r() * 60)); break;
      default: out = out.replace(/ /, '  '); break;
    }
  }
  return out;
}

beforeAll(async () => {
  tmp = tempDir('kpop-imap-hostile-');
  const box = join(tmp.dir, 'mail', 'alice');
  for (const d of ['new', 'cur', 'tmp']) mkdirSync(join(box, d), { recursive: true });
  for (let i = 0; i < 5; i++) {
    await deliver(box, Buffer.from(`Subject: seed ${i}\nFrom: a@b\nContent-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nx${i}\n--q\nContent-Type: message/rfc822\n\nSubject: in\n\nin\n--q--\n`));
  }
  server = await startPopServer({
    maildirRoot: join(tmp.dir, 'mail'), realm: 'KPOP.TEST', imap: { host: '127.0.0.1', port: 0 }, allowPlaintextAuth: true,
    verifyPassword: async (u, p) => {
      if (u === 'alice' && p === 'pw') return alice;
      throw new SaslError('bad password');
    },
    log: () => {},
  });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('hostile IMAP input', () => {
  it('100,000 mutated commands: no crash, no hang, memory bounded', async () => {
    const uncaught: unknown[] = [];
    const onErr = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onErr);
    process.on('unhandledRejection', onErr);
    const SESSIONS = Number(process.env.IMAP_FUZZ_SESSIONS ?? 800);
    const PER = Number(process.env.IMAP_FUZZ_PER ?? 125);
    const seed = Number(process.env.IMAP_FUZZ_SEED ?? 1796400000);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let answered = 0;
    let closedByServer = 0;
    let waitingForData = 0;
    let next = 0;
    const worker = async () => {
      for (;;) {
        const s = next++;
        if (s >= SESSIONS) return;
        if (process.env.IMAP_FUZZ_TRACE) (await import('node:fs')).appendFileSync(process.env.IMAP_FUZZ_TRACE, `${s} ${Date.now()}\n`);
        const r = rng(seed + s);
        const c = await ImapClient.connect(server.imap!.port);
        try {
          await c.line();
          const lines = ['a LOGIN alice pw', 'b SELECT INBOX'];
          for (let i = 0; i < PER; i++) lines.push(`m${i} ${mutate(r, SEEDS[Math.floor(r() * SEEDS.length)]!)}`);
          c.send(Buffer.from(lines.join('\r\n') + '\r\nDONE\r\n\r\nZZZ LOGOUT\r\n', 'latin1'));
          const deadline = Date.now() + 3000;
          let done = false;
          while (!done && Date.now() < deadline) {
            let l: string;
            try {
              l = await c.line(Math.max(1, deadline - Date.now()));
            } catch {
              break;
            }
            if (l.startsWith('ZZZ ') || l.startsWith('* BYE')) done = true;
          }
          if (done) answered++;
          else if (c.closed) closedByServer++;
          else {
            // Still reading an announced literal or an AUTHENTICATE response: legitimately
            // waiting for the client. Hanging up must end the session promptly.
            waitingForData++;
            c.socket.end();
            expect(await c.waitClose(3000)).toBe(true);
          }
        } finally {
          c.close();
          if (process.env.IMAP_FUZZ_TRACE) (await import('node:fs')).appendFileSync(process.env.IMAP_FUZZ_TRACE, `end ${s} ${Date.now()}\n`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    global.gc?.();
    const heapAfter = process.memoryUsage().heapUsed;
    process.off('uncaughtException', onErr);
    process.off('unhandledRejection', onErr);
    expect(uncaught).toEqual([]);
    expect(answered + closedByServer + waitingForData).toBe(SESSIONS);
    expect(answered).toBeGreaterThan(SESSIONS / 2);
    expect(heapAfter - heapBefore).toBeLessThan(256 * 1024 * 1024);
    // A well-behaved session afterwards.
    const c = await ImapClient.connect(server.imap!.port);
    await c.line();
    expect((await c.cmd('LOGIN alice pw')).status).toMatch(/^OK/);
    expect((await c.cmd('SELECT INBOX')).status).toMatch(/^OK/);
    expect((await c.cmd('FETCH 1:* (UID FLAGS)')).status).toMatch(/^OK/);
    c.close();
    expect(server.connections).toBeLessThanOrEqual(1);
  }, 600_000);
});
