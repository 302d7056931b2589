/**
 * Issue 10, item 5: control bytes never reach the operator's terminal. A
 * service principal whose name carries ESC, BEL, a C1 CSI and a bidi
 * override is real in the lab's KDC; MIT kvno gets a real ticket for it
 * (the KDC's console line names the sname), and that ticket is then
 * presented on the lab's KPOP port, whose keytab has no key for it (the
 * mail server's console line quotes the sname in its refusal). Every
 * console line must show visible escapes and carry no control character;
 * the JSON log files stay valid JSON with the exact names; the pure
 * escaping functions are checked byte by byte.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSendauthPreamble, escapeForTerminal, escapeLines, formatPrincipal, frameMessage, jsonLine, readCcache } from '@kpop/common';
import { openDatabase } from '@kpop/kdc';
import { createLab } from '../packages/kpop/src/lab/create.js';
import { labPaths } from '../packages/kpop/src/lab/layout.js';
import { runLab, type RunningLab } from '../packages/kpop/src/lab/run.js';
import { buildApReq } from '../packages/kpop/src/fetch/ap-req.js';
import { run } from './kpop-helpers.js';

const hasMit = existsSync('/usr/bin/kinit') && existsSync('/usr/bin/kvno');
/** ESC [31m (red), BEL, U+009B (C1 CSI) 2J, U+202E (RLO), DEL. */
const EVIL = 'evil\x1b[31m\x07\u009b2J\u202emoc.\x7f';
const SERVICE = `pop/${EVIL}`;
/** Any control a terminal acts on: C0, DEL, C1, bidi controls. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe('escapeForTerminal / jsonLine', () => {
  it('turns C0, DEL, C1, bidi controls and lone surrogates into visible escapes, leaves the rest alone', () => {
    expect(escapeForTerminal('pop/localhost@LAB.TEST ünïcödé ✓ 🔑')).toBe('pop/localhost@LAB.TEST ünïcödé ✓ 🔑');
    expect(escapeForTerminal(EVIL)).toBe('evil\\x1b[31m\\x07\\x9b2J\\u{202e}moc.\\x7f');
    expect(escapeForTerminal('a\nb\tc\r\0')).toBe('a\\nb\\tc\\r\\0');
    expect(escapeForTerminal('x\ud800y\udc00z')).toBe('x\\u{d800}y\\u{dc00}z');
    expect(escapeForTerminal('\u2066\u2069\u200f\u061c')).toBe('\\u{2066}\\u{2069}\\u{200f}\\u{61c}');
    expect(escapeLines('one\x1b]0;t\x07\ntwo\n')).toBe('one\\x1b]0;t\\x07\ntwo\n');
    // Invalid UTF-8 from the wire decodes to U+FFFD: visible, kept.
    expect(escapeForTerminal(Buffer.from([0x61, 0xff, 0xc3]).toString('utf8'))).toBe('a\ufffd\ufffd');
  });
  it('jsonLine: the same JSON value, with DEL, C1 and bidi controls written as \\u escapes', () => {
    const rec = { sname: `pop/${EVIL}`, n: 1 };
    const line = jsonLine(rec);
    expect(CONTROL.test(line)).toBe(false);
    expect(JSON.parse(line)).toEqual(rec);
    expect(jsonLine({ a: 'plain' })).toBe('{"a":"plain"}');
  });
});

describe.skipIf(!hasMit)(`the lab's console with a real ticket for ${JSON.stringify(SERVICE)}${hasMit ? '' : ' (skipped: MIT krb5-user not installed)'}`, () => {
  let dir: string;
  let lab: RunningLab;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kpop-escape-'));
    const p = labPaths(join(dir, 'lab'));
    await createLab(p, { realm: 'LAB.TEST', users: { alice: 'alice-pw-1' } });
    const db = openDatabase(p.kdcDir);
    db.addPrincipal(SERVICE, { randkey: true });
    db.close();
    lab = await runLab(p, 'LAB.TEST', { ports: { kdc: 0, kpop: 0, pop3: 0, pop3s: 0, imap: 0, imaps: 0 }, onEvent: (l) => lines.push(l) });
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('KDC and mail server console lines show the sname escaped; the JSON logs keep it exactly', async () => {
    const p = labPaths(join(dir, 'lab'));
    const env = { KRB5_CONFIG: p.krb5Conf, KRB5CCNAME: `FILE:${join(dir, 'cc')}` };
    expect((await run('kinit', ['alice@LAB.TEST'], { env, input: 'alice-pw-1\n' })).code).toBe(0);
    const kvno = await run('kvno', [`${SERVICE}@LAB.TEST`], { env });
    expect(kvno.code, kvno.stderr).toBe(0);
    // The real ticket, from MIT's ccache.
    const cred = readCcache(join(dir, 'cc')).credentials.find((c) => c.server.name.nameString[1] === EVIL);
    expect(cred).toBeDefined();
    expect(formatPrincipal(cred!.server)).toBe(`${SERVICE}@LAB.TEST`);
    // Presented on the KPOP port: sendauth, then the AP-REQ.
    const ap = buildApReq(cred!, { mutual: false });
    const sock = connect(lab.ports.kpop, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write(Buffer.concat([Buffer.from(encodeSendauthPreamble()), Buffer.from(frameMessage(ap.bytes))]));
    sock.resume(); // read the KRB-ERROR, so the close is seen
    await new Promise((r) => sock.once('close', r));
    await new Promise((r) => setTimeout(r, 100));

    const kdcLine = lines.find((l) => l.startsWith('kdc  TGS_REQ') && l.includes('evil'));
    const popLine = lines.find((l) => l.startsWith('pop  ') && l.includes('evil'));
    console.log(`[escape] console lines:\n  ${kdcLine}\n  ${popLine}`);
    expect(kdcLine).toContain('evil\\x1b[31m\\x07\\x9b2J\\u{202e}moc.\\x7f');
    expect(popLine).toContain('evil\\x1b[31m\\x07\\x9b2J\\u{202e}moc.\\x7f');
    for (const l of lines) expect(CONTROL.test(l), JSON.stringify(l)).toBe(false);
    // The log files: valid JSON lines, no raw control, the exact name inside.
    for (const file of [p.kdcLog, p.popLog]) {
      const text = readFileSync(file, 'utf8');
      expect(CONTROL.test(text.replace(/\n/g, ''))).toBe(false);
      const records = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records.some((r) => JSON.stringify(r).includes(JSON.stringify(EVIL).slice(1, -1)))).toBe(true);
    }
  }, 60_000);

  it("kpop fetch prints a hostile server's -ERR text escaped", async () => {
    const p = labPaths(join(dir, 'lab'));
    const env = { KRB5_CONFIG: p.krb5Conf, KRB5CCNAME: `FILE:${join(dir, 'cc')}` };
    expect((await run('kinit', ['alice@LAB.TEST'], { env, input: 'alice-pw-1\n' })).code).toBe(0);
    const { createServer } = await import('node:net');
    const { runFetchCli } = await import('../packages/kpop/src/fetch/index.js');
    const server = createServer((s) => s.end('-ERR \x1b]0;pwned\x07\x1b[2J\u009b6n go away\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    let err = '';
    try {
      const code = await runFetchCli(['--host', 'localhost', '--port', String((server.address() as { port: number }).port), '--out', join(dir, 'out'), '--timeout', '5'], {
        stdout: { write: () => true }, stderr: { write: (x: string) => (err += x) }, env,
      });
      expect(code).not.toBe(0);
    } finally {
      server.close();
    }
    console.log(`[escape] kpop fetch said: ${err.trim()}`);
    expect(err).toContain('\\x1b]0;pwned');
    expect(CONTROL.test(err.replace(/\n$/, ''))).toBe(false);
  }, 30_000);
});
