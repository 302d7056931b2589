/**
 * A 50 MB message goes out of RETR streamed from the file: the server's
 * memory stays flat (it never holds the message), and the octets received
 * are exactly the size LIST announced. Also: `kpop deliver` exit codes and
 * `kpop ca init` / `kpop cert issue` as a user runs them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeContextToken, makeWrapToken, readWrapToken, TokId } from '@kpop/common';
import { deliver, startPopServer, type PopServer } from '@kpop/kpop';
import { buildApReq, mitPopKeytab, MIT_NOW } from '../packages/common/src/gss/testing/initiator.js';
import { has, PopClient, tempDir } from './kpop-helpers.js';

let server: PopServer;
let tmp: ReturnType<typeof tempDir>;
const subkey = { keytype: 18, keyvalue: new Uint8Array(32).fill(3) };

beforeAll(async () => {
  tmp = tempDir('kpop-large-');
  server = await startPopServer({ maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', keytab: mitPopKeytab(), pop3: { host: '127.0.0.1', port: 0 }, now: () => MIT_NOW, log: () => {} });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('a 50 MB message', () => {
  it('is retrieved streaming, never further ahead of a slow client than the socket buffers, octet count as LIST said', async () => {
    const line = 'y'.repeat(99) + '\n';
    async function* source() {
      yield Buffer.from('Subject: big\n\n');
      const chunk = Buffer.from(line.repeat(10_000)); // 1 MB
      for (let i = 0; i < 50; i++) yield chunk;
    }
    await deliver(join(tmp.dir, 'mail', 'alice'), source());
    const c = await PopClient.connect(server.pop3!.port);
    await c.line();
    const tok = encodeContextToken(TokId.AP_REQ, buildApReq({ gssFlags: 0x134, subkey, seqNumber: 5 }));
    expect(await c.cmd('AUTH GSSAPI')).toBe('+ ');
    const offer = await c.cmd(Buffer.from(tok).toString('base64'));
    readWrapToken(Buffer.from(offer.slice(2), 'base64'), { key: subkey, fromAcceptor: true });
    expect(await c.cmd(Buffer.from(makeWrapToken(Uint8Array.of(1, 0, 0, 0), { key: subkey, seq: 5, fromAcceptor: false })).toString('base64'))).toMatch(/^\+OK/);
    const size = Number((await c.cmd('LIST 1')).split(' ')[2]);
    expect(size).toBe(14 + 2 + 50 * 10_000 * 101);

    // Count bytes as they come, keeping only the tail. What "never holds the
    // message" means is measured directly: how far the server's read of the
    // file (its file offset, /proc/self/fdinfo) runs ahead of the bytes the
    // client has received, while the client reads fast and while it stalls.
    // That is everything in flight: the read-ahead, the stuffed chunk, the
    // socket's queue and the kernel's loopback buffers.
    // (This test once measured process memory after gc(): heapUsed +
    // arrayBuffers, 21 MB against 16 in 1 run of 3 on a busy machine. That
    // figure counts Buffers already dropped whose backing stores V8's
    // concurrent ArrayBuffer sweeper had not yet released, and the client's
    // side, which runs in this process too: it measured the garbage collector's
    // lag, not what the server holds.)
    const path = join(tmp.dir, 'mail', 'alice', 'new', readdirSync(join(tmp.dir, 'mail', 'alice', 'new'))[0]!);
    const serverOffset = (): number | undefined => {
      for (const fd of readdirSync('/proc/self/fd')) {
        let target = '';
        try {
          target = readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          continue; // closed meanwhile
        }
        if (target !== path && !target.startsWith(path.replace('/new/', '/cur/'))) continue;
        const m = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
        if (m) return Number(m[1]);
      }
      return undefined;
    };
    let received = 0;
    let aheadPeak = 0;
    let samples = 0;
    const sample = (): void => {
      const pos = serverOffset();
      if (pos === undefined) return;
      samples++;
      aheadPeak = Math.max(aheadPeak, pos - received);
    };
    c.socket.removeAllListeners('data');
    let tail = Buffer.alloc(0);
    const stall: { mid?: number | undefined; end?: number | undefined } = {};
    const done = new Promise<void>((resolve) => {
      let paused = false;
      c.socket.on('data', (d: Buffer) => {
        received += d.length;
        sample();
        // A slow reader: stop reading for half a second after 5 MB. A server
        // that did not wait for 'drain' would go on reading and queueing the file.
        if (!paused && received > 5 * 1024 * 1024) {
          paused = true;
          c.socket.pause();
          setTimeout(() => (stall.mid = serverOffset()), 300);
          setTimeout(() => {
            stall.end = serverOffset();
            c.socket.resume();
          }, 500);
        }
        tail = Buffer.concat([tail, d]).subarray(-64);
        if (tail.toString('latin1').endsWith('\r\n.\r\n')) resolve();
      });
    });
    const sampler = setInterval(sample, 5);
    c.send('RETR 1');
    await done;
    clearInterval(sampler);
    const header = `+OK ${size} octets\r\n`;
    expect(received).toBe(header.length + size + 3);
    // 50 MB went through. While the client read nothing the server read on
    // only as far as the socket buffers took its writes (the kernel's loopback
    // buffers: 7 to 15 MB measured here, as their autotuning goes), then
    // waited for 'drain': mid-stall it is far from the end of the file. A
    // server that wrote without waiting for 'drain' had read the whole file
    // and closed it by then, 40 MB ahead of the client.
    const fileSize = statSync(path).size;
    expect(samples).toBeGreaterThan(50);
    expect(stall.mid, 'the server still has the file open 300 ms into the stall').toBeDefined();
    expect(stall.mid!).toBeLessThan(fileSize / 2);
    expect(stall.end!).toBeLessThan(fileSize / 2);
    expect(aheadPeak).toBeLessThan(statSync(path).size / 2);
    c.close();
  }, 60_000);
});

describe('kpop CLI', () => {
  // The program as users run it (built by set-up); from source when not built.
  const built = join(import.meta.dirname, '..', 'packages', 'kpop', 'dist', 'bin', 'kpop.js');
  const src = join(import.meta.dirname, '..', 'packages', 'kpop', 'src', 'bin', 'kpop.ts');
  const tsx = join(import.meta.dirname, '..', 'node_modules', '.bin', 'tsx');
  const kpop = (args: string[], input?: string) =>
    existsSync(built)
      ? spawnSync(process.execPath, [built, ...args], { input, encoding: 'utf8', cwd: tmp.dir })
      : spawnSync(tsx, [src, ...args], { input, encoding: 'utf8', cwd: tmp.dir });

  it('deliver: 0 into new/, 67 for a bad mailbox name, 75 when the Maildir cannot be written', () => {
    const ok = kpop(['deliver', 'carol', '--maildir-root', 'boxes'], 'Subject: x\n\nhi\n');
    expect(ok.status, ok.stderr).toBe(0);
    expect(readdirSync(join(tmp.dir, 'boxes', 'carol', 'new'))).toHaveLength(1);
    const bad = kpop(['deliver', '../etc', '--maildir-root', 'boxes'], 'x');
    expect(bad.status).toBe(67);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    writeFileSync(join(tmp.dir, 'boxes', 'dave'), 'a file where a Maildir should be');
    const temp = kpop(['deliver', 'dave', '--maildir-root', 'boxes'], 'x');
    expect(temp.status).toBe(75);
    expect(temp.stderr).toMatch(/^kpop: .*not delivered\n$/);
  }, 30_000);
  it.skipIf(!has('openssl'))('ca init and cert issue make a chain openssl verifies, with SANs and a 0600 key', () => {
    expect(kpop(['ca', 'init', '--dir', 'ca']).status).toBe(0);
    expect(statSync(join(tmp.dir, 'ca', 'ca.key')).mode & 0o777).toBe(0o600);
    const again = kpop(['ca', 'init', '--dir', 'ca']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists; use --force/);
    expect(kpop(['cert', 'issue', '--host', 'mail.example', '127.0.0.1', '--ca-dir', 'ca', '--out', 'srv']).status).toBe(0);
    expect(statSync(join(tmp.dir, 'srv', 'server.key')).mode & 0o777).toBe(0o600);
    const v = execFileSync('openssl', ['verify', '-CAfile', join(tmp.dir, 'ca', 'ca.pem'), join(tmp.dir, 'srv', 'server.pem')], { encoding: 'utf8' });
    expect(v).toMatch(/OK/);
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(tmp.dir, 'srv', 'server.pem')], { encoding: 'utf8' });
    expect(text).toMatch(/DNS:mail\.example, IP Address:127\.0\.0\.1/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    const missing = kpop(['cert', 'issue', '--host', 'x', '--ca-dir', 'nope']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^kpop: cannot read CA certificate/);
  }, 60_000);
  it('start runs the listeners, logs one JSON line per session and per authentication, stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const keytab = join(import.meta.dirname, 'fixtures', 'mit', 'pop.keytab');
    const args = ['start', '--realm', 'LAB.TEST', '--keytab', keytab, '--maildir-root', join(tmp.dir, 'srvmail'), '--kpop', '127.0.0.1:0', '--pop3', '127.0.0.1:0'];
    const child = existsSync(built) ? spawn(process.execPath, [built, ...args]) : spawn(tsx, [src, ...args]);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const deadline = Date.now() + 20_000;
    while (!/"event":"start"/.test(err) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    const start = JSON.parse(err.split('\n').find((l) => l.includes('"event":"start"'))!);
    const pop3Port = Number(/pop3=127\.0\.0\.1:(\d+)/.exec(start.listeners)![1]);
    expect(start.listeners).toMatch(/kpop=127\.0\.0\.1:\d+/);
    const c = await PopClient.connect(pop3Port);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.cmd('AUTH GSSAPI =')).toBe('-ERR [AUTH] Authentication failed.');
    expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
    await c.waitClose();
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    const records = err.trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => r.event)).toEqual(['start', 'auth', 'session']);
    expect(records[1]).toMatchObject({ mech: 'GSSAPI', ok: false });
    expect(records[2]).toMatchObject({ listener: 'pop3', end: 'quit' });
  }, 40_000);
  it('start --imap/--imaps serves IMAP with STARTTLS and IMAPS', async () => {
    const { spawn } = await import('node:child_process');
    // The source, not dist/: the built file may predate the IMAP flags.
    expect(kpop(['ca', 'init', '--dir', 'ica']).status).toBe(0);
    expect(kpop(['cert', 'issue', '--host', 'localhost', '127.0.0.1', '--ca-dir', 'ica', '--out', 'isrv']).status).toBe(0);
    const args = ['start', '--realm', 'LAB.TEST', '--keytab', join(tmp.dir, 'none.keytab'), '--maildir-root', join(tmp.dir, 'imapmail'), '--kpop', 'none', '--pop3', 'none',
      '--imap', '127.0.0.1:0', '--imaps', '127.0.0.1:0', '--cert', join(tmp.dir, 'isrv', 'server.pem'), '--key', join(tmp.dir, 'isrv', 'server.key')];
    const child = spawn(tsx, [src, ...args]);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const deadline = Date.now() + 20_000;
    while (!/"event":"start"/.test(err) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    const start = JSON.parse(err.split('\n').find((l) => l.includes('"event":"start"'))!);
    const imapPort = Number(/imap=127\.0\.0\.1:(\d+)/.exec(start.listeners)![1]);
    expect(start.listeners).toMatch(/imaps=127\.0\.0\.1:\d+/);
    const c = await PopClient.connect(imapPort);
    expect(await c.line()).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*STARTTLS.*LOGINDISABLED/);
    expect(await c.cmd('a LOGOUT')).toBe('* BYE Logging out');
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    const bad = spawnSync(tsx, [src, 'start', '--realm', 'X', '--kpop', 'none', '--pop3', 'none', '--imaps', '127.0.0.1:0'], { encoding: 'utf8', cwd: tmp.dir });
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/^kpop: --imaps needs --cert and --key/);
  }, 60_000);
  it('start refuses bad arguments in one line', () => {
    const r = kpop(['start', '--realm', 'X', '--pop3', 'nonsense']);
    expect(r.status).toBe(64);
    expect(r.stderr).toBe('kpop: --pop3 "nonsense" is not HOST:PORT (e.g. 127.0.0.1:1109, or "none")\n');
    const noKeytab = kpop(['start', '--realm', 'X', '--keytab', join(tmp.dir, 'missing.keytab'), '--pop3', 'none']);
    expect(noKeytab.status).toBe(1);
    expect(noKeytab.stderr).toMatch(/^kpop: keytab .* not found/);
  }, 30_000);
});
