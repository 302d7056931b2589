/**
 * Hostile SASL exchanges over the wire: for every secret mechanism, on POP3
 * AUTH and IMAP AUTHENTICATE, mutated and random client messages in long
 * sessions. Each gets the protocol's answer (a challenge, -ERR / NO / BAD)
 * in time; the server never crashes or hangs, and a genuine login works
 * afterwards. (The 100,000-per-mechanism runs are in
 * packages/kpop/src/mechs/fuzz.test.ts, on the mechanisms directly.)
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, startPopServer, type PopServer } from '@kpop/kpop';
import { SecretsStore } from '../packages/kpop/src/secrets/store.js';
import { cramDigest } from '../packages/kpop/src/mechs/cram-md5.js';
import { PopClient, tempDir } from './kpop-helpers.js';

const PW = 'hostile-Secret-3';
const PER_MECH = 400;
const tmp = tempDir('kpop-mechs-hostile-');
const logs: Record<string, unknown>[] = [];
let server: PopServer;

beforeAll(async () => {
  const store = new SecretsStore({ file: join(tmp.dir, 's.json'), keyFile: join(tmp.dir, 's.key') });
  store.set('alice', PW);
  await deliver(join(tmp.dir, 'mail', 'alice'), (async function* () { yield Buffer.from('Subject: x\r\n\r\ny\r\n'); })());
  server = await startPopServer({
    maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', kpop: false, pop3s: false,
    pop3: { host: '127.0.0.1', port: 0 }, imap: { host: '127.0.0.1', port: 0 },
    mechanisms: ['CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM'], allowNtlmV1: true, secrets: store,
    maxAuthFailures: 1_000_000, lockout: { maxFailures: 0, windowMs: 1, durationMs: 1 }, log: (r) => logs.push(r),
  });
});
afterAll(async () => {
  await server?.close();
  expect(JSON.stringify(logs)).not.toContain(PW);
  tmp.cleanup();
});

let seed = 12345;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  const kind = rand(5);
  if (kind === 0 && out.length) out[rand(out.length)] ^= 1 << rand(8);
  if (kind === 1) return out.subarray(0, rand(out.length + 1));
  if (kind === 2) return Buffer.concat([out, Buffer.from(Array.from({ length: rand(40) }, () => rand(256)))]);
  if (kind === 3) return Buffer.from(Array.from({ length: rand(200) }, () => rand(256)));
  if (kind === 4 && out.length >= 24) out.writeUInt32LE(rand(0x7fffffff), rand(out.length - 4));
  return out;
}

const negotiate = (() => {
  const b = Buffer.alloc(32);
  b.write('NTLMSSP\0', 'latin1');
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(0x00088207, 12);
  return b;
})();
const type3 = (() => {
  const h = Buffer.alloc(64);
  h.write('NTLMSSP\0', 'latin1');
  h.writeUInt32LE(3, 8);
  return Buffer.concat([h, Buffer.alloc(80, 0x41)]);
})();

/** A line that is not a well-formed answer at all, or a mutated message in base64. */
function answer(msg: Buffer): string {
  const k = rand(10);
  if (k === 0) return '';
  if (k === 1) return '!!!not base64!!!';
  if (k === 2) return 'A'.repeat(rand(20000));
  return mutate(msg).toString('base64');
}

for (const proto of ['pop3', 'imap'] as const) {
  describe(`${proto}: ${PER_MECH} hostile exchanges per mechanism`, () => {
    for (const mech of ['CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'NTLM']) {
      it(mech, async () => {
        const port = proto === 'pop3' ? server.pop3!.port : server.imap!.port;
        let c = await PopClient.connect(port);
        await c.line();
        let n = 0;
        const final = (l: string) => (proto === 'pop3' ? /^-ERR|^\+OK/.test(l) : /^a\d+ (NO|BAD|OK)/.test(l) || /^\* BAD/.test(l));
        for (let i = 0; i < PER_MECH; i++) {
          if (c.closed) {
            c = await PopClient.connect(port);
            await c.line();
          }
          const tag = `a${n++}`;
          const first = mech === 'NTLM' ? negotiate : Buffer.from('n,,n=alice,r=abcdef');
          const withIr = mech !== 'CRAM-MD5' && rand(2) === 0;
          const cmd = proto === 'pop3' ? `AUTH ${mech}` : `${tag} AUTHENTICATE ${mech}`;
          c.send(withIr ? `${cmd} ${mutate(first).toString('base64') || '='}` : cmd);
          for (let step = 0; step < 4; step++) {
            let l: string;
            try {
              l = await c.line(10_000);
            } catch (e) {
              if (c.closed) break; // the server may hang up on garbage: that is an answer
              throw e;
            }
            if (final(l)) break;
            expect(l.startsWith('+ ') || l === '+' || l.startsWith('* '), l.slice(0, 80)).toBe(true);
            if (l.startsWith('* ')) { step--; continue; }
            const challenge = Buffer.from(l.slice(2), 'base64');
            const msg = mech === 'CRAM-MD5' ? Buffer.from(`alice ${cramDigest(PW, challenge.toString())}`)
              : mech === 'NTLM' ? (step === 0 && !withIr ? negotiate : type3)
              : step === 0 && !withIr ? first : Buffer.from(`c=biws,r=${/r=([^,]*)/.exec(challenge.toString())?.[1] ?? ''},p=AAAA`);
            c.send(step >= 2 ? '*' : answer(msg));
          }
        }
        c.close();
        // Still serving: a genuine CRAM-MD5 login succeeds.
        const ok = await PopClient.connect(port);
        await ok.line();
        const ch = await ok.cmd(proto === 'pop3' ? 'AUTH CRAM-MD5' : 'z1 AUTHENTICATE CRAM-MD5');
        const reply = Buffer.from(`alice ${cramDigest(PW, Buffer.from(ch.slice(2), 'base64').toString())}`).toString('base64');
        let l = await ok.cmd(reply);
        while (l.startsWith('* ')) l = await ok.line();
        expect(l).toMatch(proto === 'pop3' ? /^\+OK/ : /^z1 OK/);
        ok.close();
      }, 120_000);
    }
  });
}
