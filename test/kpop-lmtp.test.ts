/**
 * LMTP delivery (RFC 2033): Python's smtplib.LMTP (an outside client) sends
 * to several recipients; each gets its own reply and its own Maildir file;
 * dot-transparency (RFC 5321 §4.5.2) is undone, and the message then comes
 * out of POP3 RETR byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DotUnstuffer, startPopServer, type PopServer } from '@kpop/kpop';
import { has, PopClient, run, tempDir } from './kpop-helpers.js';

let server: PopServer;
let tmp: ReturnType<typeof tempDir>;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  tmp = tempDir('kpop-lmtp-');
  server = await startPopServer({ maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', lmtp: { host: '127.0.0.1', port: 0 }, log: (r) => logs.push(r) });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('DATA dot-transparency, receiving side', () => {
  it('undoes stuffing, stops at CRLF.CRLF and returns what follows, however split', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '.', '..x', '', '.\r', 'b.c'), { maxLength: 8 }), fc.array(fc.nat(80), { maxLength: 4 }), (lines, cuts) => {
        const body = lines.map((l) => l + '\r\n').join('');
        const wire = Buffer.from(lines.map((l) => (l.startsWith('.') ? '.' + l : l) + '\r\n').join('') + '.\r\nQUIT\r\n');
        const u = new DotUnstuffer();
        const data: Buffer[] = [];
        let rest: Buffer | undefined;
        let prev = 0;
        for (const c of [...cuts.filter((c) => c < wire.length).sort((a, b) => a - b), wire.length]) {
          if (u.done) break;
          const r = u.push(wire.subarray(prev, c));
          data.push(r.data);
          if (r.rest) rest = Buffer.concat([r.rest, wire.subarray(c)]);
          prev = c;
        }
        expect(Buffer.concat(data).toString()).toBe(body);
        expect(rest?.toString()).toBe('QUIT\r\n');
      }),
      { numRuns: 300 },
    );
  });
});

describe.skipIf(!has('python3'))(`LMTP with Python smtplib.LMTP${has('python3') ? '' : ' (skipped: python3 not installed)'}`, () => {
  it('delivers to each valid recipient with a reply per recipient, refuses bad ones', async () => {
    const script = `
import smtplib, sys
msg = b"Subject: via lmtp\\r\\n\\r\\n.starts with a dot\\r\\nsecond line\\r\\n"
s = smtplib.LMTP("127.0.0.1", ${server.lmtp!.port})
s.ehlo("mta.test")  # LMTP.ehlo sends LHLO (ehlo_msg = "lhlo")
try:
    refused = s.sendmail("sender@example", ["alice@lab.test", "bob@lab.test", "bad..name@lab.test"], msg)
except smtplib.SMTPRecipientsRefused as e:
    refused = e.recipients
print(sorted(refused.keys()))
s.quit()
`;
    const r = await run('python3', ['-c', script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("['bad..name@lab.test']");
    for (const u of ['alice', 'bob']) {
      const files = readdirSync(join(tmp.dir, 'mail', u, 'new'));
      expect(files).toHaveLength(1);
      expect(readFileSync(join(tmp.dir, 'mail', u, 'new', files[0]!), 'latin1')).toBe('Subject: via lmtp\r\n\r\n.starts with a dot\r\nsecond line\r\n');
    }
    expect(logs.filter((l) => l.event === 'lmtp-delivery')).toHaveLength(2);
    expect(readdirSync(join(tmp.dir, 'mail', '.lmtp-spool'))).toEqual([]);
  });
  it('answers protocol errors and survives pipelining', async () => {
    const c = await PopClient.connect(server.lmtp!.port);
    expect(await c.line()).toMatch(/^220 /);
    expect(await c.cmd('MAIL FROM:<a@b>')).toMatch(/^503 /);
    c.send('LHLO x');
    const caps: string[] = [];
    for (;;) {
      const l = await c.line();
      caps.push(l);
      if (l.startsWith('250 ')) break;
    }
    expect(caps).toContain('250-PIPELINING');
    c.send(Buffer.from('MAIL FROM:<a@b>\r\nRCPT TO:<carol@x>\r\nDATA\r\nhello\r\n..dot\r\n.\r\nNOOP\r\n'));
    expect(await c.line()).toBe('250 2.1.0 OK');
    expect(await c.line()).toBe('250 2.1.5 OK');
    expect(await c.line()).toMatch(/^354 /);
    expect(await c.line()).toBe('250 2.0.0 <carol> delivered');
    expect(await c.line()).toBe('250 2.0.0 OK');
    const f = readdirSync(join(tmp.dir, 'mail', 'carol', 'new'));
    expect(readFileSync(join(tmp.dir, 'mail', 'carol', 'new', f[0]!), 'latin1')).toBe('hello\r\n.dot\r\n');
    expect(await c.cmd('BOGUS')).toMatch(/^500 /);
    expect(await c.cmd('QUIT')).toMatch(/^221 /);
  });
});
