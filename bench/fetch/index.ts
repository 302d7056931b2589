// kpop fetch: the client's per-session Kerberos work (building an AP-REQ,
// checking the AP-REP) and whole sessions against our server on 127.0.0.1:
// KPOP and AUTH GSSAPI, many small messages and a few large ones, into a
// Maildir (each message fsync'd before DELE, so the disk sets the pace).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeApRep, encodeEncApRepPart, encryptData, getInitialCredentials, getServiceTicket, parseKrb5Config, parsePrincipal, writeCcache, type Credential } from '@kpop/common';
import { startTestKdc } from '@kpop/kdc';
import { deliver, startPopServer } from '@kpop/kpop';
import { readFileSync } from 'node:fs';
import { buildApReq, mboxEntry, runFetch, verifyApRep } from '../../packages/kpop/src/fetch/index.js';
import { measure } from '../util.js';

const kdc = await startTestKdc({ realm: 'BENCH.TEST', principals: { alice: 'alice-pw-1', 'pop/localhost': { randkey: true } } });
const dir = mkdtempSync(join(tmpdir(), 'kpop-bench-fetch-'));
try {
  const keytab = kdc.keytab(['pop/localhost'], join(dir, 'pop.keytab'));
  const config = parseKrb5Config(readFileSync(kdc.krb5ConfPath, 'utf8'));
  const client = parsePrincipal('alice@BENCH.TEST');
  const ic = await getInitialCredentials({ config, client, password: 'alice-pw-1' });
  const ccache = join(dir, 'cc');
  writeCcache(ccache, { version: 4, kdcOffset: ic.kdcOffset, defaultPrincipal: client, credentials: [ic.credential] });
  const pop: Credential = (await getServiceTicket({ config, tgt: ic.credential, service: parsePrincipal('pop/localhost@BENCH.TEST') })).credential;

  measure('buildApReq (aes256, no checksum: sendauth)', () => buildApReq(pop, { mutual: true }));
  const built = buildApReq(pop, { mutual: true });
  const rep = encodeApRep({ pvno: 5, msgType: 15, encPart: encryptData(pop.key, 12, encodeEncApRepPart({ ctime: built.authenticator.ctime, cusec: built.authenticator.cusec })) });
  measure('verifyApRep (aes256)', () => verifyApRep(rep, pop.key, built.authenticator, 'bench'));
  const big = Buffer.from(('From someone\n' + 'x'.repeat(70) + '\n').repeat(1000));
  measure('mboxEntry (84 KB message, mboxrd quoting)', () => mboxEntry(big));

  // The client alone: RETR of a 2 MB message from a server that only replays canned bytes.
  {
    const { createServer } = await import('node:net');
    const lines = `${'z'.repeat(75)}\r\n`.repeat(27_000);
    const canned = Buffer.from(`+OK ${lines.length} octets\r\n${lines}.\r\n`);
    const fake = createServer((s) => {
      s.write('+OK canned\r\n');
      s.on('data', () => s.write(canned));
    });
    await new Promise<void>((ok) => fake.listen(0, '127.0.0.1', ok));
    const { PopConnection, Pop3Client } = await import('../../packages/kpop/src/fetch/index.js');
    const conn = await PopConnection.open({ host: '127.0.0.1', port: (fake.address() as { port: number }).port });
    const c = new Pop3Client(conn);
    await c.greeting();
    await c.retr(1);
    const n = 20;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await c.retr(1);
    const ms = (performance.now() - t0) / n;
    console.log(`${'client RETR 2 MB (27,000 lines), canned server'.padEnd(48)} ${ms.toFixed(1).padStart(10)} ms/op  (${(lines.length / 1024 / 1024 / (ms / 1000)).toFixed(0)} MiB/s)`);
    conn.close();
    fake.close();
  }

  const server = await startPopServer({ maildirRoot: join(dir, 'mail'), realm: 'BENCH.TEST', keytab, kpop: { host: '127.0.0.1', port: 0 }, pop3: { host: '127.0.0.1', port: 0 }, log: () => {} });
  const env = { KRB5_CONFIG: kdc.krb5ConfPath, KRB5CCNAME: `FILE:${ccache}` };
  const session = async (label: string, count: number, size: number, mechanism: 'kpop' | 'gssapi') => {
    const body = Buffer.from(`Subject: bench\n\n${'y'.repeat(75)}\n`.repeat(Math.max(1, Math.floor(size / 76))));
    for (let i = 0; i < count; i++) await deliver(join(dir, 'mail', 'alice'), body);
    const out = join(dir, `out-${label.replace(/\W+/g, '-')}`);
    const t0 = performance.now();
    const r = await runFetch({ host: 'localhost', port: mechanism === 'kpop' ? server.kpop!.port : server.pop3!.port, mechanism, tls: 'none', keep: false, out, env });
    const ms = performance.now() - t0;
    if (r.fetched !== count) throw new Error(`fetched ${r.fetched} of ${count}`);
    console.log(`${label.padEnd(48)} ${ms.toFixed(1).padStart(10)} ms     (${((count * 1000) / ms).toFixed(0)} msg/s, ${(r.bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s)`);
  };
  await session('session: KPOP, 1 message (login cost)', 1, 1024, 'kpop');
  await session('session: GSSAPI, 1 message (login cost)', 1, 1024, 'gssapi');
  await session('session: KPOP, 300 × 4 KB into Maildir', 300, 4096, 'kpop');
  await session('session: GSSAPI, 5 × 2 MB into Maildir', 5, 2 * 1024 * 1024, 'gssapi');
  await server.close();
} finally {
  await kdc.stop();
  rmSync(dir, { recursive: true, force: true });
}
