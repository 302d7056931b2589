/**
 * `kpop lab compare`: every way the lab lets alice in, side by side, as an
 * eavesdropper sees them. Each method runs with a real client where one is
 * installed (ours otherwise) through recording relays (./relay.ts) in front
 * of the mail server and the KDC; then, from the capture alone
 * (./analyze.ts): is the password on the wire, does a 10,000-word list
 * (with the real password planted at a random position) find it offline,
 * does replaying the client's messages on a fresh connection log in, did
 * the client verify the server, and is the session after login encrypted.
 * USER/PASS and LOGIN without TLS, which the lab's listeners refuse, run
 * against a demonstration listener this command starts on the lab's
 * Maildirs with plaintext logins permitted.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { loadKrb5Config } from '@kpop/common';
import { krb5ConfText } from '@kpop/kdc';
import { labPaths, readMarker, type LabPaths } from '../lab/layout.js';
import { labSecretsPaths } from '../lab/secrets.js';
import { SecretsStore } from '../secrets/store.js';
import { startPopServer } from '../server.js';
import { deliver } from '../maildir/deliver.js';
import { maildirPath } from '../maildir/maildir.js';
import { runFetchCli } from '../fetch/cli.js';
import { Recorder, kdcRelay, tcpRelay, type Chunk } from './relay.js';
import {
  apopVerifier, apReqMutual, asReqVerifier, cramVerifier, findApReq, guess, ntlmVerifier, passwordOnWire, plaintextVerifier,
  saslMessages, scramVerifier, seenInClear, transcript, type Guessable, type Line,
} from './analyze.js';
import { has as hasProgram, ourBin, poplibScript, runProgram, type RunResult } from './clients.js';
import { ownPop3, type OwnMech } from './own-client.js';

export class CompareError extends Error {
  override name = 'CompareError';
}

export interface CompareRow {
  method: string;
  protocol: 'pop3' | 'imap' | 'kpop';
  tls: boolean;
  password_on_wire: boolean;
  offline_guess: 'found' | 'not found';
  guess_seconds: number;
  replay_accepted: boolean;
  server_verified: boolean;
  encrypted: boolean;
}

export interface CompareDetail extends CompareRow {
  client: string;
  loggedIn: boolean;
  guessBasis: string;
  wordsTried: number;
  mail: Line[];
  kdc: Chunk[];
  replayOutput: string;
  notes: string[];
}

export interface CompareOptions {
  dir: string;
  /** Size of the word list (default 10,000). */
  words?: number;
  /** Progress lines (stderr). */
  progress?: (line: string) => void;
  /** Only these methods (names as in the report). */
  only?: string[];
  /** 'ours': our own clients even where real ones are installed. */
  clients?: 'real' | 'ours';
}

/** The real client programs, unless the comparison runs with our own clients only. */
let ownOnly = false;
const has = (p: string) => !ownOnly && hasProgram(p);

interface LabPorts { kdc: number; kpop: number; pop3: number; pop3s: number; imap?: number; imaps?: number }

interface Target { host: string; port: number }

interface Method {
  method: string;
  protocol: 'pop3' | 'imap' | 'kpop';
  tls: boolean;
  kerberos?: boolean;
  /** Our own client's mechanism, where no real client is installed (or --clients ours). */
  own?: OwnMech;
  /** Only when this holds (IMAP rows: when the lab serves IMAP). */
  when?: (ctx: Ctx) => boolean;
  /** Where the client connects (through the relay). */
  target: (ctx: Ctx) => Target;
  client: (ctx: Ctx, port: number, env: NodeJS.ProcessEnv) => { name: string; run: () => Promise<RunResult> } | undefined;
  verifier: (mail: Line[], kdc: Chunk[]) => Guessable;
  /** Did the client authenticate the server, judged from the capture? */
  verified: (mail: Line[], mailChunks: Chunk[]) => boolean;
}

interface Ctx {
  /** Only our own clients (--clients ours). */
  ownOnly: boolean;
  p: LabPaths;
  ports: LabPorts;
  demo: Target;
  user: string;
  password: string;
  tmp: string;
  netrc: string;
  pwFile: string;
}

const LOCAL = '127.0.0.1';

/** The user's words: lowercase pseudo-words, with the real password at a random position. */
export function wordList(n: number, password: string): { words: string[]; position: number } {
  const words: string[] = [];
  const syll = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pa', 'se', 'do', 'fu', 'gi', 'ha', 'jo', 'be'];
  for (let i = 0; words.length < n - 1; i++) {
    const w = Array.from({ length: 2 + randomInt(3) }, () => syll[randomInt(syll.length)]).join('') + (randomInt(3) === 0 ? String(randomInt(100)) : '');
    if (w !== password) words.push(w);
  }
  const position = randomInt(n);
  words.splice(position, 0, password);
  return { words, position };
}

const curl = (args: string[], env: NodeJS.ProcessEnv) => ({ name: 'curl', run: () => runProgram('curl', ['-sS', '--max-time', '30', ...args], { env }) });

function methods(): Method[] {
  const popUrl = (port: number) => `pop3://${LOCAL}:${port}/1`;
  const tlsCurl = (ctx: Ctx) => ['--ssl-reqd', '--cacert', ctx.p.caCert];
  const none = () => false;
  const tlsVerified = (_m: Line[], chunks: Chunk[]) => chunks.some((c) => c.dir === 's2c' && c.data[0] === 0x16);
  const kerbVerified = (mail: Line[], chunks: Chunk[]) => {
    const c2s = chunks.filter((c) => c.dir === 'c2s').map((c) => c.data);
    const tokens = mail.filter((l) => l.dir === 'c2s' && l.text).flatMap((l) => l.text!.split(' ')).filter((t) => t.length > 100).map((t) => Buffer.from(t, 'base64'));
    return apReqMutual(findApReq([...c2s, ...tokens]));
  };
  const list: Method[] = [
    {
      method: 'KPOP', protocol: 'kpop', tls: false, kerberos: true,
      target: (c) => ({ host: LOCAL, port: c.ports.kpop }),
      client: (c, port, env) => ({
        name: 'kpop fetch (ours: fetchmail speaks KPOP only on port 1109)',
        run: async () => {
          let out = '';
          const code = await runFetchCli(['--kpop', '--host', LOCAL, '--port', String(port), '--keep', '--out', join(c.tmp, 'kpop-out')], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env });
          return { code, stdout: out, stderr: '' };
        },
      }),
      verifier: (_m, kdc) => asReqVerifier(kdc),
      verified: kerbVerified,
    },
    {
      method: 'GSSAPI', protocol: 'pop3', tls: false, kerberos: true,
      target: (c) => ({ host: LOCAL, port: c.ports.pop3 }),
      client: (c, port, env) => has('curl') ? curl(['--login-options', 'AUTH=GSSAPI', '-u', ':', popUrl(port)], env) : {
        name: 'kpop fetch --gssapi (ours)',
        run: async () => {
          let out = '';
          const code = await runFetchCli(['--gssapi', '--host', LOCAL, '--port', String(port), '--keep', '--out', join(c.tmp, 'gss-out')], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env });
          return { code, stdout: out, stderr: '' };
        },
      },
      verifier: (_m, kdc) => asReqVerifier(kdc),
      verified: kerbVerified,
    },
    ...[false, true].map((tls): Method => ({
      method: 'USER/PASS', protocol: 'pop3', tls, own: 'USER',
      target: (c) => (tls ? { host: LOCAL, port: c.ports.pop3 } : c.demo),
      client: (c, port, env) => has('python3')
        ? { name: 'python3 poplib', run: () => runProgram('python3', ['-c', poplibScript(tls), LOCAL, String(port), c.user, c.p.caCert], { env, input: c.password + '\n' }) }
        : undefined,
      verifier: (m) => plaintextVerifier(m),
      verified: tls ? tlsVerified : none,
    })),
    ...[false, true].map((tls): Method => ({
      method: 'LOGIN', protocol: 'pop3', tls, own: 'LOGIN',
      target: (c) => (tls ? { host: LOCAL, port: c.ports.pop3 } : c.demo),
      client: (c, port, env) => has('curl') ? curl([...(tls ? tlsCurl(c) : []), '--netrc-file', c.netrc, '--login-options', 'AUTH=LOGIN', popUrl(port)], env) : undefined,
      verifier: (m) => plaintextVerifier(m),
      verified: tls ? tlsVerified : none,
    })),
    {
      method: 'APOP', protocol: 'pop3', tls: false, own: 'APOP',
      target: (c) => ({ host: LOCAL, port: c.ports.pop3 }),
      client: (c, port, env) => has('curl') ? curl(['--netrc-file', c.netrc, '--login-options', 'AUTH=+APOP', popUrl(port)], env) : undefined,
      verifier: (m) => apopVerifier(m),
      verified: none,
    },
    {
      method: 'CRAM-MD5', protocol: 'pop3', tls: false, own: 'CRAM-MD5',
      target: (c) => ({ host: LOCAL, port: c.ports.pop3 }),
      client: (c, port, env) => has('curl') ? curl(['--netrc-file', c.netrc, '--login-options', 'AUTH=CRAM-MD5', popUrl(port)], env) : undefined,
      verifier: (m) => cramVerifier(m),
      verified: none,
    },
    {
      method: 'SCRAM-SHA-256', protocol: 'pop3', tls: false, own: 'SCRAM-SHA-256',
      target: (c) => ({ host: LOCAL, port: c.ports.pop3 }),
      client: (c, port, env) => has('mpop') ? {
        name: 'mpop',
        run: () => runProgram('mpop', [`--host=${LOCAL}`, `--port=${port}`, '--auth=scram-sha-256', `--user=${c.user}`, `--passwordeval=cat ${c.pwFile}`, '--tls=off',
          `--delivery=mbox,${join(c.tmp, 'mpop.mbox')}`, '--keep=on', '--only-new=off', `--uidls-file=${join(c.tmp, 'mpop.uidls')}`], { env }),
      } : undefined,
      verifier: (m) => scramVerifier(m, 'SCRAM-SHA-256'),
      // The client checked the server's signature (v=) and went on: only a server with the verifier can make it.
      verified: (m) => !!saslMessages(m, 'SCRAM-SHA-256')?.some((x) => x.from === 's' && x.data.toString().startsWith('v=')),
    },
    {
      method: 'NTLMv2', protocol: 'pop3', tls: false, own: 'NTLMv2',
      target: (c) => ({ host: LOCAL, port: c.ports.pop3 }),
      client: (c, port, env) => has('curl') ? curl(['--netrc-file', c.netrc, '--login-options', 'AUTH=NTLM', popUrl(port)], env) : undefined,
      verifier: (m) => ntlmVerifier(m),
      verified: none,
    },
    {
      method: 'NTLMv1', protocol: 'pop3', tls: false, own: 'NTLMv1',
      target: (c) => ({ host: LOCAL, port: c.ports.pop3 }),
      client: (c, port, env) => has('fetchmail') ? {
        name: 'fetchmail',
        run: () => {
          const rc = join(c.tmp, 'fetchmailrc');
          writeFileSync(rc, `set no syslog\npoll ${LOCAL} service ${port} proto POP3 auth ntlm user "${c.user}" password "${c.password.replace(/["\\]/g, '\\$&')}" is "${c.user}" here keep fetchall sslproto "" mda "/bin/sh -c 'cat >> ${join(c.tmp, 'fm.mbox')}'"\n`, { mode: 0o600 });
          return runProgram('fetchmail', ['-f', rc, '--nodetach', '--nosyslog'], { env: { ...env, HOME: c.tmp } });
        },
      } : undefined,
      verifier: (m) => ntlmVerifier(m),
      verified: none,
    },
  ];
  // IMAP, where the lab serves it: AUTHENTICATE through the same SASL layer, with curl.
  const imapUrl = (port: number) => `imap://${LOCAL}:${port}/INBOX;UID=1`;
  const imap = (c: Ctx) => c.ports.imap !== undefined;
  list.push(
    {
      method: 'GSSAPI', protocol: 'imap', tls: false, kerberos: true, when: imap,
      target: (c) => ({ host: LOCAL, port: c.ports.imap! }),
      client: (_c, port, env) => has('curl') ? curl(['--login-options', 'AUTH=GSSAPI', '-u', ':', imapUrl(port)], env) : undefined,
      verifier: (_m, kdc) => asReqVerifier(kdc),
      verified: kerbVerified,
    },
    {
      method: 'CRAM-MD5', protocol: 'imap', tls: false, when: imap,
      target: (c) => ({ host: LOCAL, port: c.ports.imap! }),
      client: (c, port, env) => has('curl') ? curl(['--netrc-file', c.netrc, '--login-options', 'AUTH=CRAM-MD5', imapUrl(port)], env) : undefined,
      verifier: (m) => cramVerifier(m),
      verified: none,
    },
    {
      method: 'NTLMv2', protocol: 'imap', tls: false, when: imap,
      target: (c) => ({ host: LOCAL, port: c.ports.imap! }),
      client: (c, port, env) => has('curl') ? curl(['--netrc-file', c.netrc, '--login-options', 'AUTH=NTLM', imapUrl(port)], env) : undefined,
      verifier: (m) => ntlmVerifier(m),
      verified: none,
    },
  );
  return list;
}

/** Sends the captured client messages of the first mail connection to the server again, on a fresh connection. */
async function replay(target: Target, chunks: Chunk[]): Promise<string> {
  const first = chunks.find((c) => c.dir === 'c2s')?.conn;
  const sends = chunks.filter((c) => c.conn === first && c.dir === 'c2s').map((c) => c.data);
  return new Promise((resolve) => {
    const s = connect(target.port, target.host);
    let out = Buffer.alloc(0);
    let quiet: NodeJS.Timeout | undefined;
    let i = 0;
    const done = () => {
      clearTimeout(quiet);
      clearTimeout(overall);
      s.destroy();
      resolve(out.toString('latin1'));
    };
    // Wait for the server to answer (and then fall quiet) before each captured message, as the client did.
    const next = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        if (i < sends.length) {
          s.write(sends[i++]!);
          next();
        } else done();
      }, 250);
    };
    const overall = setTimeout(done, 20_000);
    s.on('data', (d: Buffer) => {
      out = Buffer.concat([out, d]);
      next();
    });
    s.on('connect', next);
    s.on('error', done);
    s.on('close', done);
  });
}

function loggedIn(text: string): boolean {
  return /^\+OK Logged in|^\S+ OK .*Logged in/m.test(text);
}

async function reachable(t: Target): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(t.port, t.host);
    s.setTimeout(2000, () => { s.destroy(); resolve(false); });
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

export async function runCompare(o: CompareOptions): Promise<CompareDetail[]> {
  const say = o.progress ?? (() => {});
  const p = labPaths(o.dir);
  if (!existsSync(p.marker)) throw new CompareError(`${p.dir} is not a lab folder: start one with npm start (or give --dir)`);
  const marker = readMarker(p);
  let ports: LabPorts;
  try {
    ports = JSON.parse(readFileSync(join(p.dir, 'ports.json'), 'utf8')) as LabPorts;
  } catch {
    throw new CompareError(`the lab in ${p.dir} has not run yet: start it with npm start`);
  }
  if (!(await reachable({ host: LOCAL, port: ports.pop3 })) || !(await reachable({ host: LOCAL, port: ports.kdc }))) {
    throw new CompareError(`the lab in ${p.dir} is not running (nothing on ${LOCAL}:${ports.pop3}): start it with npm start, then run the comparison`);
  }
  const user = marker.users.includes('alice') ? 'alice' : marker.users[0]!;
  const store = new SecretsStore(labSecretsPaths(p.dir));
  const password = store.password(user);
  if (password === undefined) throw new CompareError(`the lab has no mechanism secrets for ${user} (made before they existed): kpop secrets set ${user} --file ${labSecretsPaths(p.dir).file}, or npm start -- --reset`);

  const tmp = mkdtempSync(join(tmpdir(), 'kpop-compare-'));
  chmodSync(tmp, 0o700);
  const netrc = join(tmp, 'netrc');
  writeFileSync(netrc, `machine ${LOCAL} login ${user} password ${password}\n`, { mode: 0o600 });
  const pwFile = join(tmp, 'pw');
  writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  // One message to fetch whose text shows whether the session after login is encrypted.
  const subject = `kpop lab compare ${randomBytes(6).toString('hex')}`;
  const delivered = await deliver(maildirPath(p.mailRoot, user), Buffer.from(`From: compare@lab\r\nSubject: ${subject}\r\n\r\nA message to fetch.\r\n`));
  // USER/PASS and LOGIN without TLS: a demonstration listener that permits them.
  const demo = await startPopServer({
    maildirRoot: p.mailRoot, realm: marker.realm, keytab: p.keytab, krb5Config: loadKrb5Config({ KRB5_CONFIG: p.krb5Conf }),
    pop3: { host: LOCAL, port: 0 }, kpop: false, pop3s: false, allowPlaintextAuth: true, mechanisms: ['LOGIN'], log: () => {},
  });
  ownOnly = o.clients === 'ours';
  const ctx: Ctx = { ownOnly, p, ports, demo: { host: LOCAL, port: demo.pop3!.port }, user, password, tmp, netrc, pwFile };
  const { words } = wordList(o.words ?? 10_000, password);
  const rows: CompareDetail[] = [];
  try {
    for (const m of methods()) {
      if (o.only && !o.only.includes(m.method)) continue;
      if (m.when && !m.when(ctx)) continue;
      // No client at all (neither a real one installed nor ours): nothing measured, no row.
      if (!m.own && !m.client(ctx, 0, {})) {
        say(`compare: ${m.method} (${m.protocol}${m.tls ? ', TLS' : ''}): no client for it is installed here; skipped`);
        continue;
      }
      const rec = new Recorder();
      const kdc = await kdcRelay({ host: LOCAL, port: ports.kdc }, rec);
      const target = m.target(ctx);
      const mail = await tcpRelay(target, rec, 'mail');
      const conf = join(tmp, `krb5-${rows.length}.conf`);
      writeFileSync(conf, krb5ConfText(marker.realm, `${LOCAL}:${kdc.port}`));
      const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(tmp, `cc-${rows.length}`)}` };
      const notes: string[] = [];
      const t0 = Date.now();
      let clientName = 'none';
      let ok = false;
      try {
        if (m.kerberos) {
          const mit = has('kinit');
          const kinitBin = mit ? 'kinit' : ourBin('kinit');
          if (!kinitBin) throw new CompareError('no kinit (MIT\'s or ours) to get a ticket with');
          const r = mit ? await runProgram('kinit', [user], { env, input: password + '\n' }) : await runProgram(process.execPath, [kinitBin, user], { env, input: password + '\n' });
          if (r.code !== 0) notes.push(`kinit failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
          notes.push(`ticket from ${mit ? 'MIT kinit' : 'our kinit'} through the KDC relay`);
        }
        const own = m.own;
        const client = m.client(ctx, mail.port, env) ?? (own ? {
          name: `ours (${own})`,
          run: () => ownPop3({ host: LOCAL, port: mail.port, mech: own, user, password, ...(m.tls ? { tls: { ca: readFileSync(p.caCert) } } : {}) }),
        } : undefined);
        if (!client) {
          notes.push('no client installed for this method: not run');
        } else {
          clientName = client.name;
          const r = await client.run();
          if (r.code !== 0) notes.push(`${client.name} exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').at(-1)?.slice(0, 200) ?? ''}`);
        }
      } finally {
        await new Promise((r) => setTimeout(r, 100));
        await mail.close();
        await kdc.close();
      }
      const mailChunks = rec.of('mail');
      const kdcChunks = rec.of('kdc');
      const lines = transcript(mailChunks);
      ok = lines.some((l) => l.dir === 's2c' && l.text !== undefined && loggedIn(l.text)) || (m.tls && mailChunks.some((c) => c.dir === 's2c') && !notes.some((n) => / exited /.test(n)));
      const g = m.verifier(lines, kdcChunks);
      say(`compare: ${m.method} (${m.protocol}${m.tls ? ', TLS' : ''}) with ${clientName}: ${ok ? 'logged in' : 'NOT logged in'}; guessing ${words.length} words …`);
      const guessed = await guess(g, words);
      const replayOutput = await replay(target, mailChunks);
      const row: CompareDetail = {
        method: m.method, protocol: m.protocol, tls: m.tls,
        password_on_wire: passwordOnWire([...mailChunks, ...kdcChunks], password),
        offline_guess: guessed.found ? 'found' : 'not found',
        guess_seconds: Math.round(guessed.seconds * 1000) / 1000,
        replay_accepted: loggedIn(replayOutput),
        server_verified: ok && m.verified(lines, mailChunks),
        encrypted: !seenInClear(mailChunks, subject) && !seenInClear(mailChunks, 'Subject:'),
        client: clientName, loggedIn: ok, guessBasis: g.basis, wordsTried: guessed.tried, mail: lines, kdc: kdcChunks, replayOutput, notes,
      };
      say(`compare: ${m.method}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      rows.push(row);
    }
  } finally {
    await demo.close();
    rmSync(tmp, { recursive: true, force: true });
    // Take the marker message away again (new/ or, once seen, cur/ with flags).
    const base = basename(delivered).split(':')[0]!;
    for (const sub of ['new', 'cur']) {
      const d = join(maildirPath(p.mailRoot, user), sub);
      for (const f of existsSync(d) ? readdirSync(d) : []) if (f.split(':')[0] === base) try { unlinkSync(join(d, f)); } catch { /* gone */ }
    }
  }
  return rows;
}

export function publicRow(r: CompareDetail): CompareRow {
  return {
    method: r.method, protocol: r.protocol, tls: r.tls, password_on_wire: r.password_on_wire, offline_guess: r.offline_guess,
    guess_seconds: r.guess_seconds, replay_accepted: r.replay_accepted, server_verified: r.server_verified, encrypted: r.encrypted,
  };
}
