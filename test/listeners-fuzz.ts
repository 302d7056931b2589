/**
 * The mail listeners under hostile input, run by test/listeners-hostile.test.ts
 * (small counts, asserted) and `pnpm bench reliability` (100,000 a protocol):
 * one server with POP3, POP3S, IMAP, IMAPS and LMTP; per input a count of
 * outcomes, and afterwards a genuine request on that listener must be served.
 * Then the secrets grep: every log line the server wrote and every file under
 * the run's temp dir (the Maildirs; the keytab is in memory) searched for
 * every key, password and private key the run used.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeContextToken, makeWrapToken, readWrapToken, TokId } from '@kpop/common';
import { rng } from '@kpop/kdc';
import { createCa, issueServerCert, SaslError, startPopServer, type LogRecord, type PopServer } from '@kpop/kpop';
import { buildApReq, mitPopTicket } from '../packages/common/src/gss/testing/initiator.js';
import { captureClientHellos, GSS_SUBKEY, gssTokenMutator, gssTokens, lmtpSession, popAndImapKeytab, runHostile, secretSpellings, throwAt, tlsMutator, type Outcome } from './hostile-inputs.js';
import { ImapClient } from './imap-helpers.js';
import { PopClient, tempDir } from './kpop-helpers.js';

export interface FuzzRow {
  input: string;
  count: number;
  outcome: string;
  afterwards: string;
  /** Whether the afterwards request was served. */
  ok: boolean;
  seconds: number;
}

export interface FuzzResult {
  rows: FuzzRow[];
  /** Connections the server still held 5 s after the last client hung up. */
  connectionsLeft: number;
  logLines: number;
  filesSearched: number;
  secretsSearched: number;
  secretHits: string[];
  /** Uncaught errors in this process while the server ran (none expected). */
  uncaught: string[];
}

const PASSWORD = 'Fuzz-pass-7c1e9a';
const isoNow = new Date('2026-11-29T06:12:30Z');

export async function fuzzMailListeners(opts: { n: number; seed: number; parallel?: number; onRow?: (r: FuzzRow) => void; only?: string[] }): Promise<FuzzResult> {
  const parallel = opts.parallel ?? 16;
  const tmp = tempDir('listeners-fuzz-');
  const logs: string[] = [];
  const uncaught: string[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(String(e));
  process.on('uncaughtException', onUncaught);
  const ca = await createCa();
  const cert = await issueServerCert(ca, ['localhost', '127.0.0.1']);
  const keytab = popAndImapKeytab();
  const server: PopServer = await startPopServer({
    maildirRoot: join(tmp.dir, 'mail'), realm: 'LAB.TEST', keytab, now: () => isoNow,
    pop3: { host: '127.0.0.1', port: 0 }, pop3s: { host: '127.0.0.1', port: 0 }, imap: { host: '127.0.0.1', port: 0 }, imaps: { host: '127.0.0.1', port: 0 }, lmtp: { host: '127.0.0.1', port: 0 },
    tls: { cert: cert.certPem, key: cert.keyPem }, allowPlaintextAuth: true,
    verifyPassword: async (user, password) => {
      if (user === 'alice' && password === PASSWORD) return { name: { nameType: 1, nameString: ['alice'] }, realm: 'LAB.TEST' };
      throw new SaslError('bad password');
    },
    log: (r: LogRecord) => void logs.push(JSON.stringify(r)), idleTimeoutMs: 2000,
  });
  for (const d of ['new', 'cur', 'tmp']) mkdirSync(join(tmp.dir, 'mail', 'alice', d), { recursive: true });
  const rows: FuzzRow[] = [];
  const want = (k: string): boolean => !opts.only || opts.only.includes(k);
  // Connections the server still holds 1 s after its hostile clients hung up (the idle deadline here is 2 s: a held one is a leak).
  const held = async (): Promise<number> => {
    for (let i = 0; i < 20 && server.connections > 0; i++) await new Promise((res) => setTimeout(res, 50));
    return server.connections;
  };
  const add = async (input: string, count: number, outcome: string, after: () => Promise<string | null>, t0: number): Promise<void> => {
    const h = await held();
    const afterwards = await after();
    const row = { input, count, outcome: `${outcome}; ${h} held 1 s later`, afterwards: afterwards ?? 'NOT SERVED', ok: afterwards !== null && h === 0, seconds: (performance.now() - t0) / 1000 };
    rows.push(row);
    opts.onRow?.(row);
  };
  const tlsOpts = { rejectUnauthorized: false, servername: 'localhost' };

  // Afterwards: a genuine AUTH GSSAPI login (curl's way) on POP3 or POP3S, and a PASS login too.
  let cusec = 100;
  const popLogin = async (port: number, secure: boolean): Promise<string | null> => {
    try {
      const c = await PopClient.connect(port, secure ? tlsOpts : undefined);
      if (!/^\+OK/.test(await c.line())) return null;
      const seq = 5000 + ++cusec;
      const tok = encodeContextToken(TokId.AP_REQ, buildApReq({ gssFlags: 0x134, subkey: GSS_SUBKEY, seqNumber: seq, cusec }));
      let r = await c.cmd(`AUTH GSSAPI ${Buffer.from(tok).toString('base64')}`);
      const offer = readWrapToken(Buffer.from(r.slice(2), 'base64'), { key: GSS_SUBKEY, fromAcceptor: true });
      if (offer.plaintext[0] !== 1) return null;
      r = await c.cmd(Buffer.from(makeWrapToken(Buffer.from('\x01\x00\x00\x00', 'latin1'), { key: GSS_SUBKEY, seq, fromAcceptor: false })).toString('base64'));
      if (!/^\+OK Logged in/.test(r)) return null;
      if (!/^\+OK/.test(await c.cmd('QUIT'))) return null;
      c.close();
      const p = await PopClient.connect(port, secure ? tlsOpts : undefined);
      await p.line();
      await p.cmd('USER alice');
      const ok = /^\+OK/.test(await p.cmd(`PASS ${PASSWORD}`));
      await p.cmd('QUIT');
      p.close();
      return ok ? `AUTH GSSAPI and USER/PASS logins on ${secure ? 'POP3S' : 'POP3'}` : null;
    } catch {
      return null;
    }
  };
  const imapLogin = async (port: number, secure: boolean, starttls = false): Promise<string | null> => {
    try {
      const c = await ImapClient.connect(port, secure ? tlsOpts : undefined);
      if (!/^\* OK/.test(await c.line())) return null;
      if (starttls) {
        if (!/^OK/.test((await c.cmd('STARTTLS')).status)) return null;
        await c.startTls(tlsOpts);
      }
      // A fresh authenticator each time (the replay cache remembers the earlier ones).
      const { ticket } = mitPopTicket();
      const t = { ...ticket, sname: { ...ticket.sname, nameString: ['imap', ...ticket.sname.nameString.slice(1)] } };
      const seq = 7000 + ++cusec;
      const tok = encodeContextToken(TokId.AP_REQ, buildApReq({ ticket: t, gssFlags: 0x134, subkey: GSS_SUBKEY, seqNumber: seq, cusec }));
      c.send('a AUTHENTICATE GSSAPI\r\n');
      if (!(await c.line()).startsWith('+')) return null;
      c.send(Buffer.from(tok).toString('base64') + '\r\n');
      const offer = await c.line();
      if (!offer.startsWith('+ ')) return null;
      const o = readWrapToken(Buffer.from(offer.slice(2), 'base64'), { key: GSS_SUBKEY, fromAcceptor: true });
      if (o.plaintext[0] !== 1) return null;
      c.send(Buffer.from(makeWrapToken(Buffer.from('\x01\x00\x00\x00', 'latin1'), { key: GSS_SUBKEY, seq, fromAcceptor: false })).toString('base64') + '\r\n');
      const done = await c.until('a');
      await c.cmd('LOGOUT');
      c.close();
      return /^OK/.test(done.status) ? `AUTHENTICATE GSSAPI on ${secure ? 'IMAPS' : starttls ? 'IMAP after STARTTLS' : 'IMAP'}` : null;
    } catch {
      return null;
    }
  };

  const ERR = { '-ERR': /\r\n-ERR|^-ERR/m, '+ (continue)': /\r\n\+ /, '+OK Logged in': /\+OK Logged in/ };
  // 1. POP3 AUTH GSSAPI: mutated tokens, up to three a connection (the server closes after three failures).
  if (want('pop3-gssapi')) {
    const r = rng(opts.seed + 11);
    const tok = gssTokenMutator('pop');
    const per = 3;
    const conns = Math.ceil(opts.n / per);
    const t0 = performance.now();
    const res = await runHostile(conns, parallel, () => throwAt(server.pop3!.port, Buffer.from(Array.from({ length: per }, () => (r(2) ? `AUTH GSSAPI ${tok(r)}\r\n` : `AUTH GSSAPI\r\n${tok(r)}\r\n`)).join(''), 'latin1'), { waitMs: 300 }), ERR);
    await add('POP3 AUTH GSSAPI, mutated tokens (3 a connection)', conns * per, `${res.counts['-ERR']} connections answered -ERR, ${res.counts['+ (continue)']} a continuation, ${res.counts['+OK Logged in']} logged in; ${res.closedByServer} of ${conns} closed by the server`, () => popLogin(server.pop3!.port, false), t0);
  }
  // 2. IMAP AUTHENTICATE GSSAPI.
  if (want('imap-gssapi')) {
    const r = rng(opts.seed + 12);
    const tok = gssTokenMutator('imap');
    const per = 3;
    const conns = Math.ceil(opts.n / per);
    const t0 = performance.now();
    const res = await runHostile(conns, parallel, () => throwAt(server.imap!.port, Buffer.from(Array.from({ length: per }, (_, k) => (r(2) ? `a${k} AUTHENTICATE GSSAPI ${tok(r)}\r\n` : `a${k} AUTHENTICATE GSSAPI\r\n${tok(r)}\r\n`)).join(''), 'latin1'), { waitMs: 300 }), { NO: /\r\na\d NO /, BAD: /\r\na\d BAD /, OK: /\r\na\d OK /, '+ (continue)': /\r\n\+ / });
    await add('IMAP AUTHENTICATE GSSAPI, mutated tokens (3 a connection)', conns * per, `${res.counts.NO} connections answered NO, ${res.counts.BAD} BAD, ${res.counts['+ (continue)']} a continuation, ${res.counts.OK} OK; ${res.closedByServer} of ${conns} closed by the server`, () => imapLogin(server.imap!.port, false), t0);
  }
  // 3. TLS: mutated ClientHellos and random bytes, to POP3S, IMAPS, and after STLS and STARTTLS.
  if (want('tls')) {
    const hello = tlsMutator(await captureClientHellos());
    const targets: [string, number, { upgrade?: string; upgradeOk?: RegExp }, () => Promise<string | null>][] = [
      ['POP3S', server.pop3s!.port, {}, () => popLogin(server.pop3s!.port, true)],
      ['IMAPS', server.imaps!.port, {}, () => imapLogin(server.imaps!.port, true)],
      ['POP3 after STLS', server.pop3!.port, { upgrade: 'STLS\r\n', upgradeOk: /\r\n\+OK/ }, () => popLogin(server.pop3!.port, false)],
      ['IMAP after STARTTLS', server.imap!.port, { upgrade: 't STARTTLS\r\n', upgradeOk: /t OK/ }, () => imapLogin(server.imap!.port, false, true)],
    ];
    for (const [idx, [name, port, up, after]] of targets.entries()) {
      const r = rng(opts.seed + 13 + idx * 101);
      const n = Math.ceil(opts.n / targets.length);
      const t0 = performance.now();
      const res = await runHostile(n, parallel, () => throwAt(port, hello(r), { ...up, waitMs: 300 }), { alert: /\x15\x03[\x01-\x04]/ });
      await add(`TLS handshakes, ${name}: mutated ClientHellos, random bytes`, n, `${res.counts.alert} answered with a TLS alert, ${res.closedByServer} closed by the server, ${n - res.closedByServer} left waiting for more bytes (client hung up after 300 ms)`, after, t0);
    }
  }
  // 4. LMTP sessions.
  if (want('lmtp')) {
    const r = rng(opts.seed + 17);
    const t0 = performance.now();
    const res = await runHostile(opts.n, parallel, () => throwAt(server.lmtp!.port, lmtpSession(r), { waitMs: 300 }), { '5xx': /\r\n5\d\d/, '4xx': /\r\n4\d\d/ });
    const box = join(tmp.dir, 'mail', 'alice', 'new');
    const before = readdirSync(box).length;
    const deliverOne = async (): Promise<string | null> => {
      const good = await throwAt(server.lmtp!.port, Buffer.from('LHLO mta.test\r\nMAIL FROM:<s@example>\r\nRCPT TO:<alice@lab.test>\r\nDATA\r\nSubject: afterwards\r\n\r\nok\r\n.\r\nQUIT\r\n'), { waitMs: 3000 });
      return /\r\n250 [^\r]*\r\n221/.test(good.text) && readdirSync(box).length === before + 1 ? 'delivered a message to alice' : null;
    };
    await add('LMTP sessions, mutated', opts.n, `${res.counts['5xx']} sessions got a 5xx, ${res.counts['4xx']} a 4xx; ${res.closedByServer} of ${opts.n} closed by the server; ${before} messages delivered`, deliverOne, t0);
  }

  // No hang: once the clients are gone, the server holds no connection.
  let connectionsLeft = server.connections;
  for (let i = 0; i < 100 && connectionsLeft > 0; i++) await new Promise((res) => setTimeout(res, 50)), (connectionsLeft = server.connections);
  await server.close();
  process.off('uncaughtException', onUncaught);
  // The secrets grep: logs and every file in the run's temp dir.
  const { sessionKey } = mitPopTicket();
  const spellings = secretSpellings({ keys: [...keytab.entries.map((e) => e.key.keyvalue), sessionKey.keyvalue, GSS_SUBKEY.keyvalue], passwords: [PASSWORD], pems: [cert.keyPem, ca.keyPem] });
  const hits: string[] = [];
  let files = 0;
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else {
        files++;
        const text = readFileSync(p, 'latin1');
        for (const s of spellings) if (text.includes(s)) hits.push(`${p}: ${s.slice(0, 6)}…`);
      }
    }
  };
  walk(tmp.dir);
  for (const l of logs) for (const s of spellings) if (l.includes(s)) hits.push(`log: ${s.slice(0, 6)}…`);
  tmp.cleanup();
  return { rows, connectionsLeft, logLines: logs.length, filesSearched: files, secretsSearched: spellings.length, secretHits: hits, uncaught };
}

export type { Outcome };
