/**
 * `kpop fetch` against our KPOP/POP3 server and our KDC on free ports: KPOP
 * sendauth with mutual authentication, AUTH GSSAPI with the RFC 4752
 * negotiation, STLS and POP3S with a CA file, Maildir and mbox output, the
 * service ticket fetched with the TGT and stored back in the ccache, and the
 * one-line errors (no ccache, wrong mailbox, wrong port, silent or hostile
 * server).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeApRep, encodeEncApRepPart, encodeKrbErrorMessage, encryptData, formatPrincipal, KrbError, krbErrorToMessage, randomKeyFor, readCcache } from '@kpop/common';
import { runFetchCli } from '../packages/kpop/src/fetch/index.js';
import { kinitInProcess, putMail, startFetchRealm, tempDir, type FetchRealm } from './fetch-helpers.js';

let r: FetchRealm;
let tmp: ReturnType<typeof tempDir>;

const MSG1 = 'From: bob@fetch.test\nTo: alice@fetch.test\nSubject: one\n\nHello Alice.\n.leading dot\nFrom the start of a line\n';
const MSG2 = 'From: carol@fetch.test\nSubject: two\n\nSecond.\n';

async function fetch(args: string[], env: Record<string, string> = r.env): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runFetchCli(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: { ...env } });
  return { code, out, err };
}

function maildirFiles(dir: string): string[] {
  return readdirSync(join(dir, 'new')).map((f) => readFileSync(join(dir, 'new', f), 'utf8')).sort();
}

const serverBox = (user: string) => join(r.maildirRoot, user);
const waiting = (user: string) => (existsSync(join(serverBox(user), 'new')) ? readdirSync(join(serverBox(user), 'new')).length : 0) + (existsSync(join(serverBox(user), 'cur')) ? readdirSync(join(serverBox(user), 'cur')).length : 0);

beforeAll(async () => {
  r = await startFetchRealm();
  tmp = tempDir();
}, 60_000);
afterAll(async () => {
  await r?.stop();
  tmp?.cleanup();
});
beforeEach(async () => {
  await kinitInProcess(r, 'alice', 'alice-pw-1');
  // Every test starts with empty server mailboxes.
  for (const u of ['alice', 'bob']) for (const d of ['new', 'cur']) rmSync(join(serverBox(u), d), { recursive: true, force: true });
});

describe('kpop fetch --kpop (krb5 sendauth, KPOPV1.0)', () => {
  it('fetches every message into a Maildir, byte for byte, and removes them from the server', async () => {
    await putMail(r, 'alice', [MSG1, MSG2]);
    const out = join(tmp.dir, 'kpop-maildir');
    const res = await fetch(['--kpop', '--host', 'localhost', '--port', String(r.pop.kpop!.port), '--out', out]);
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^2 messages \(\d+ bytes\) for alice@FETCH\.TEST from mailbox alice into maildir .*, removed from the server\n$/);
    expect(maildirFiles(out)).toEqual([MSG1, MSG2].sort());
    expect(waiting('alice')).toBe(0);
  });

  it('gets the pop/localhost ticket with the TGT once and keeps it in the ccache', async () => {
    const res = await fetch(['--kpop', '--host', 'localhost', '--port', String(r.pop.kpop!.port), '--out', join(tmp.dir, 'kpop-empty')]);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^0 messages/);
    const servers = readCcache(r.ccachePath).credentials.map((c) => formatPrincipal(c.server));
    expect(servers).toContain(`pop/localhost@${r.kdc.realm}`);
    // A second fetch uses the stored ticket instead of adding another.
    const before = readCcache(r.ccachePath).credentials.length;
    const again = await fetch(['--kpop', '--host', 'localhost', '--port', String(r.pop.kpop!.port), '--out', join(tmp.dir, 'kpop-empty')]);
    expect(again.code).toBe(0);
    expect(readCcache(r.ccachePath).credentials.length).toBe(before);
  });

  it('refuses a mailbox the principal does not own, with one line, and leaves the mail', async () => {
    await putMail(r, 'bob', [MSG2]);
    const res = await fetch(['--kpop', '--host', '127.0.0.1', '--port', String(r.pop.kpop!.port), '--user', 'bob', '--out', join(tmp.dir, 'nope')]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: .*did not let alice@FETCH\.TEST open mailbox "bob".*\n$/);
    expect(res.err.split('\n')).toHaveLength(2);
    expect(waiting('bob')).toBe(1);
  });

  it('--tls asks for STLS after sendauth; a KPOP port without it gets one line, and the mail stays', async () => {
    await putMail(r, 'alice', [MSG2]);
    const res = await fetch(['--kpop', '--tls', '--cafile', r.caFile, '--host', 'localhost', '--port', String(r.pop.kpop!.port), '--out', join(tmp.dir, 'kpop-stls')]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: localhost:\d+ does not offer STLS \(its CAPA lacks it\): drop --tls, or use --gssapi --tls on the POP3 port for an encrypted session\n$/);
    expect(waiting('alice')).toBe(1);
  });

  it('says so when pointed at the plain POP3 port', async () => {
    const res = await fetch(['--kpop', '--host', 'localhost', '--port', String(r.pop.pop3!.port), '--out', join(tmp.dir, 'x'), '--timeout', '5']);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: .*(plain POP3 server|not 0).*\n$/);
  });
});

describe('kpop fetch --gssapi (RFC 4752)', () => {
  it('fetches into an mbox with --keep (mboxrd quoting) and leaves the messages', async () => {
    await putMail(r, 'alice', [MSG1]);
    const mbox = join(tmp.dir, 'alice.mbox');
    const res = await fetch(['--gssapi', '--host', 'localhost', '--port', String(r.pop.pop3!.port), '--keep', '--out', mbox]);
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^1 message .* into mbox .*alice\.mbox, kept on the server\n$/);
    const text = readFileSync(mbox, 'utf8');
    expect(text).toMatch(/^From MAILER-DAEMON \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/);
    expect(text).toContain('\n>From the start of a line\n');
    expect(text).toContain('\n.leading dot\n');
    expect(text.endsWith('\n\n')).toBe(true);
    expect(waiting('alice')).toBe(1);
  });

  it('upgrades with STLS and checks the certificate against --cafile', async () => {
    await putMail(r, 'alice', [MSG1]);
    const out = join(tmp.dir, 'stls');
    const res = await fetch(['--tls', '--cafile', r.caFile, '--host', 'localhost', '--port', String(r.pop.pop3!.port), '--out', out]);
    expect(res.err).toBe('');
    expect(res.out).toMatch(/, over TLS\n$/);
    expect(maildirFiles(out)).toEqual([MSG1]);
    expect(waiting('alice')).toBe(0);
  });

  it('speaks POP3S (implicit TLS) with an authzid naming her own mailbox', async () => {
    await putMail(r, 'alice', [MSG2]);
    const out = join(tmp.dir, 'pop3s');
    const res = await fetch(['--tls-implicit', '--cafile', r.caFile, '--host', 'localhost', '--port', String(r.pop.pop3s!.port), '--user', 'alice', '--out', out]);
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    expect(maildirFiles(out)).toEqual([MSG2]);
  });

  it('rejects a certificate it cannot verify, in one line naming --cafile', async () => {
    const res = await fetch(['--tls', '--host', 'localhost', '--port', String(r.pop.pop3!.port), '--out', join(tmp.dir, 'x')]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: TLS with localhost:\d+ failed: .*--cafile\)\n$/);
  });

  it('is refused a mailbox that is not hers', async () => {
    await putMail(r, 'bob', [MSG2]);
    const res = await fetch(['--host', '127.0.0.1', '--port', String(r.pop.pop3!.port), '--user', 'bob', '--out', join(tmp.dir, 'x')]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: .*refused us after GSSAPI: \[AUTH\]/);
    expect(waiting('bob')).toBe(1);
  });

  it('bob, after his own kinit, gets his mail', async () => {
    await putMail(r, 'bob', [MSG2]);
    const cc = join(tmp.dir, 'bob.cc');
    await kinitInProcess(r, 'bob', 'bob-pw-1', cc);
    const out = join(tmp.dir, 'bob-mail');
    const res = await fetch(['--host', 'localhost', '--port', String(r.pop.pop3!.port), '--out', out, '-c', `FILE:${cc}`]);
    expect(res.err).toBe('');
    expect(maildirFiles(out)).toEqual([MSG2]);
  });
});

describe('one-line errors, no hang', () => {
  it('without a ccache it says to run kinit', async () => {
    const res = await fetch(['--host', 'localhost', '--port', '1', '--out', join(tmp.dir, 'x')], { ...r.env, KRB5CCNAME: `FILE:${join(tmp.dir, 'missing-cc')}` });
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: no credentials cache .*missing-cc: run kinit first/);
  });

  it('a damaged ccache is named, in one line', async () => {
    const bad = join(tmp.dir, 'damaged-cc');
    writeFileSync(bad, Buffer.from([5, 4, 0, 0, 0, 0, 0, 1]));
    const res = await fetch(['--host', 'localhost', '--port', '1', '--out', join(tmp.dir, 'x')], { ...r.env, KRB5CCNAME: `FILE:${bad}` });
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^kpop fetch: cannot read the credentials cache .*damaged-cc: .*\n$/);
    expect(res.err.split('\n')).toHaveLength(2);
  });

  it('nothing listening: names the address', async () => {
    const s = createServer();
    await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((ok) => s.close(() => ok()));
    const res = await fetch(['--host', '127.0.0.1', '--port', String(port), '--out', join(tmp.dir, 'x')]);
    expect(res.code).toBe(1);
    expect(res.err).toBe(`kpop fetch: nothing listens on 127.0.0.1:${port} (connection refused): is the server (npm start) running, and is the port right?\n`);
  });

  it('usage mistakes exit 2', async () => {
    const both = await fetch(['--kpop', '--gssapi']);
    expect(both.code).toBe(2);
    expect(both.err).toBe(`kpop fetch: option '--kpop' cannot be used with option '--gssapi' (see "kpop fetch --help")\n`);
    const unknown = await fetch(['--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^kpop fetch: unknown option '--frobnicate' \(see "kpop fetch --help"\)\n$/);
    const bad = await fetch(['--port', 'seventy']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^kpop fetch: --port must be a whole number/);
    expect((await fetch(['--cafile', 'x.pem'])).code).toBe(2);
  });

  describe('hostile servers', () => {
    let fake: Server;
    let behaviour: (sock: import('node:net').Socket) => void = () => {};
    beforeAll(async () => {
      fake = createServer((sock) => behaviour(sock));
      await new Promise<void>((ok) => fake.listen(0, '127.0.0.1', ok));
    });
    afterAll(() => new Promise<void>((ok) => fake.close(() => ok())));
    const port = () => (fake.address() as { port: number }).port;

    it('a silent server times out with a message', async () => {
      behaviour = () => {};
      const res = await fetch(['--host', '127.0.0.1', '--port', String(port()), '--timeout', '1', '--out', join(tmp.dir, 'x')]);
      expect(res.err).toMatch(/^kpop fetch: 127\.0\.0\.1:\d+ sent nothing for 1 s while we waited for the server greeting \(a KPOP port waits for the client to speak first: add --kpop\)\n$/);
    });

    it('an endless line is cut off', async () => {
      behaviour = (sock) => {
        sock.on('error', () => {});
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        const pump = () => {
          while (!sock.destroyed && sock.write(chunk));
          if (!sock.destroyed) sock.once('drain', pump);
        };
        pump();
      };
      const res = await fetch(['--host', '127.0.0.1', '--port', String(port()), '--out', join(tmp.dir, 'x')]);
      expect(res.err).toMatch(/^kpop fetch: 127\.0\.0\.1:\d+ sent a line longer than \d+ bytes/);
    });

    it('garbage instead of a SASL challenge, and a bogus AP-REP', async () => {
      behaviour = (sock) => {
        sock.on('error', () => {});
        sock.write('+OK hi\r\n');
        sock.on('data', (d) => {
          const l = d.toString();
          if (l.startsWith('CAPA')) sock.write('-ERR no\r\n');
          else if (l.startsWith('AUTH')) sock.write('+ \r\n');
          else sock.write(`+ ${Buffer.from('not a token').toString('base64')}\r\n`);
        });
      };
      const res = await fetch(['--host', '127.0.0.1', '--port', String(port()), '--out', join(tmp.dir, 'x')]);
      expect(res.code).toBe(1);
      expect(res.err).toMatch(/^kpop fetch: 127\.0\.0\.1:\d+ sent a malformed GSS-API token/);
    });

    /** A fake KPOP server: accepts the versions, reads the AP-REP frame, then answers with `reply`. */
    const kpopFake = (reply: (apReq: Buffer) => Buffer) => (sock: import('node:net').Socket) => {
      sock.on('error', () => {});
      let buf = Buffer.alloc(0);
      let stage = 0;
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (stage === 0 && buf.length >= 36) {
          sock.write(Buffer.of(0));
          buf = buf.subarray(36);
          stage = 1;
        }
        if (stage === 1 && buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          stage = 2;
          sock.write(reply(buf.subarray(4, 4 + buf.readUInt32BE(0))));
          sock.on('data', (more) => received.push(more.toString()));
        }
      });
    };
    const received: string[] = [];
    const frame = (b: Uint8Array) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, Buffer.from(b)]);
    };

    it('KPOP: a server that sends a KRB-ERROR is quoted, with a hint', async () => {
      behaviour = kpopFake(() => {
        const err = encodeKrbErrorMessage(krbErrorToMessage(new KrbError(37, 'Clock skew too great'), { realm: 'FETCH.TEST', sname: { nameType: 3, nameString: ['pop', 'localhost'] }, stime: new Date(), susec: 0 }));
        return frame(err);
      });
      const res = await fetch(['--kpop', '--host', 'localhost', '--port', String(port()), '--out', join(tmp.dir, 'x')]);
      expect(res.code).toBe(1);
      expect(res.err).toMatch(/^kpop fetch: localhost:\d+ rejected our ticket: .*Clock skew too great.*\(clocks differ by more than 5 minutes: fix the clock\)\n$/);
    });

    it('KPOP: an AP-REP that does not open with the session key fails mutual authentication before any POP3 command', async () => {
      received.length = 0;
      behaviour = kpopFake(() => {
        // Accepted, then an AP-REP under some other key: an impostor without the service key.
        const bogus = encodeApRep({ pvno: 5, msgType: 15, encPart: encryptData(randomKeyFor(18), 12, encodeEncApRepPart({ ctime: new Date(), cusec: 1 })) });
        return Buffer.concat([Buffer.alloc(4), frame(bogus), Buffer.from('+OK impostor\r\n')]);
      });
      const res = await fetch(['--kpop', '--host', 'localhost', '--port', String(port()), '--out', join(tmp.dir, 'x')]);
      expect(res.code).toBe(1);
      expect(res.err).toMatch(/^kpop fetch: localhost:\d+ sent an AP-REP that does not open with our session key .*it is not the server the ticket is for\n$/);
      expect(received.join('')).not.toContain('USER');
    });

    it('a KPOP server that drops the connection after the versions', async () => {
      behaviour = (sock) => {
        sock.on('error', () => {});
        sock.once('data', () => sock.end(Buffer.of(0)));
      };
      const res = await fetch(['--kpop', '--host', '127.0.0.1', '--port', String(port()), '--out', join(tmp.dir, 'x')]);
      expect(res.err).toMatch(/^kpop fetch: 127\.0\.0\.1:\d+ closed the connection while we waited for the sendauth verdict\n$/);
    });
  });
});
