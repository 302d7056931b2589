/**
 * Hostile input: random bytes, random command lines and random sendauth
 * frames thrown at the POP3 and KPOP ports never crash or hang the server;
 * a well-behaved session still works afterwards. Plus the user map.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSendauthPreamble, frameMessage, parsePrincipal } from '@kpop/common';
import { startPopServer, UserMap, UserMapError, parseUserMap, type PopServer } from '@kpop/kpop';
import { mitPopKeytab, MIT_NOW } from '../packages/common/src/gss/testing/initiator.js';
import { PopClient, tempDir } from './kpop-helpers.js';

let server: PopServer;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  tmp = tempDir('kpop-hostile-');
  server = await startPopServer({
    maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', keytab: mitPopKeytab(), now: () => MIT_NOW,
    pop3: { host: '127.0.0.1', port: 0 }, kpop: { host: '127.0.0.1', port: 0 }, log: () => {}, idleTimeoutMs: 2000,
  });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

/** Send bytes, read whatever comes back for a moment, hang up. */
async function throwAt(port: number, data: Buffer): Promise<void> {
  const c = await PopClient.connect(port);
  c.send(data);
  await c.waitClose(150);
  c.close();
}

async function stillServing(): Promise<void> {
  const c = await PopClient.connect(server.pop3!.port);
  expect(await c.line()).toMatch(/^\+OK/);
  expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
  await c.multi();
  expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
  c.close();
}

describe('hostile input', () => {
  it('random bytes and command lines on the POP3 port', async () => {
    const verbs = fc.constantFrom('USER', 'PASS', 'AUTH', 'AUTH GSSAPI', 'AUTH PLAIN', 'STLS', 'CAPA', 'RETR', 'TOP', 'LIST', 'DELE', 'QUIT', 'UIDL', '*', '+', '.');
    const line = fc.tuple(verbs, fc.string({ maxLength: 40 })).map(([v, a]) => `${v} ${a}\r\n`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)), fc.array(line, { maxLength: 12 }).map((l) => Buffer.from(l.join('')))), async (data) => {
        await throwAt(server.pop3!.port, data);
      }),
      { numRuns: 25 },
    );
    await stillServing();
  }, 30_000);
  it('random and truncated sendauth on the KPOP port', async () => {
    const pre = Buffer.from(encodeSendauthPreamble());
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat(pre.length), async (junk, cut) => {
        await throwAt(server.kpop!.port, Buffer.concat([pre.subarray(0, cut), Buffer.from(junk)]));
        await throwAt(server.kpop!.port, Buffer.concat([pre, Buffer.from(frameMessage(junk))]));
      }),
      { numRuns: 25 },
    );
    await stillServing();
    expect(server.connections).toBeLessThan(5);
  }, 30_000);
});

describe('connection cap', () => {
  it('answers -ERR [SYS/TEMP] beyond maxConnections and serves again once one leaves', async () => {
    const small = await startPopServer({ maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', pop3: { host: '127.0.0.1', port: 0 }, maxConnections: 2, log: () => {} });
    try {
      const a = await PopClient.connect(small.pop3!.port);
      const b = await PopClient.connect(small.pop3!.port);
      expect(await a.line()).toMatch(/^\+OK/);
      expect(await b.line()).toMatch(/^\+OK/);
      const c = await PopClient.connect(small.pop3!.port);
      expect(await c.line()).toBe('-ERR [SYS/TEMP] Too many connections');
      expect(await c.waitClose()).toBe(true);
      a.close();
      await new Promise((r) => setTimeout(r, 100));
      const d = await PopClient.connect(small.pop3!.port);
      expect(await d.line()).toMatch(/^\+OK/);
      b.close();
      d.close();
    } finally {
      await small.close();
    }
  });
});

describe('user map (principal → mailbox)', () => {
  it('USER@REALM owns USER; the map file grants others; principals compare without name type', () => {
    const map = new UserMap('LAB.TEST', parseUserMap('# comment\nbob/admin@LAB.TEST  bob\nalice@OTHER.TEST alice\n', 'LAB.TEST'));
    const p = (s: string) => parsePrincipal(s);
    expect(map.mailboxFor(p('alice@LAB.TEST'), 'alice')).toBe('alice');
    expect(map.mailboxFor(p('alice@LAB.TEST'), 'bob')).toBeUndefined();
    expect(map.mailboxFor(p('bob/admin@LAB.TEST'), 'bob')).toBe('bob');
    expect(map.mailboxFor({ ...p('alice@OTHER.TEST'), name: { nameType: 0, nameString: ['alice'] } }, 'alice')).toBe('alice');
    expect(map.mailboxFor(p('mallory@OTHER.TEST'), 'mallory')).toBeUndefined();
    expect(map.mailboxFor(p('alice@LAB.TEST'), 'alice@LAB.TEST')).toBe('alice');
    expect(map.mailboxFor(p('alice@LAB.TEST'), 'bob@LAB.TEST')).toBeUndefined();
    expect(map.localUser(p('bob/admin@LAB.TEST'))).toBe('bob');
    expect(map.localUser(p('pop/host@LAB.TEST'))).toBeUndefined();
    expect(() => parseUserMap('just-one-field\n', 'LAB.TEST')).toThrow(UserMapError);
    const f = join(tmp.dir, 'users.map');
    writeFileSync(f, 'carol@LAB.TEST c2\n');
    expect(UserMap.load(f, 'LAB.TEST').mailboxFor(p('carol@LAB.TEST'), 'c2')).toBe('c2');
    expect(() => UserMap.load(join(tmp.dir, 'missing'), 'LAB.TEST')).toThrow(/cannot read user map/);
  });
});
