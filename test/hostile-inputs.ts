/**
 * Hostile inputs for the mail listeners, shared by test/listeners-hostile.test.ts
 * (small counts) and `pnpm bench reliability` (100,000 a protocol): mutated
 * SASL GSSAPI tokens (from genuine RFC 4121 initial context tokens built on
 * the MIT pop/localhost ticket), mutated ClientHello records (captured from
 * Node's own TLS client) and random bytes for POP3S/IMAPS and after
 * STLS/STARTTLS, mutated LMTP sessions. All seeded through `rng`; the byte
 * mutations are the KDC fuzzer's `derMutator` (a GSS token and a TLS record
 * are length-prefixed structures too).
 */
import net from 'node:net';
import tls from 'node:tls';
import { encodeContextToken, TokId, type EncryptionKey, type Keytab } from '@kpop/common';
import { derMutator } from '@kpop/kdc';
import { buildApReq, mitPopKeytab, mitPopTicket } from '../packages/common/src/gss/testing/initiator.js';

export type Rng = (n: number) => number;

/** A fixed initiator subkey: the secrets grep looks for it. */
export const GSS_SUBKEY: EncryptionKey = { keytype: 18, keyvalue: new Uint8Array(32).fill(9) };

/** The MIT pop/localhost keytab plus the same key as imap/localhost, so the MIT ticket re-addressed to imap/localhost is a genuine IMAP ticket too. */
export function popAndImapKeytab(): Keytab {
  const kt = mitPopKeytab();
  const imap = kt.entries.map((e) => ({ ...e, principal: { ...e.principal, name: { ...e.principal.name, nameString: ['imap', ...e.principal.name.nameString.slice(1)] } } }));
  return { ...kt, entries: [...kt.entries, ...imap] };
}

/** Genuine AUTH GSSAPI initial tokens (curl's flags and fetchmail's mutual ones) for pop/ or imap/localhost. */
export function gssTokens(service: 'pop' | 'imap'): Uint8Array[] {
  const { ticket } = mitPopTicket();
  // sname is outside the ticket's encrypted part: re-addressing keeps it valid for a key under the new name.
  const t = service === 'pop' ? ticket : { ...ticket, sname: { ...ticket.sname, nameString: ['imap', ...ticket.sname.nameString.slice(1)] } };
  return [0x134, 0x13a, 0x13e].map((gssFlags, i) => encodeContextToken(TokId.AP_REQ, buildApReq({ ticket: t, gssFlags, subkey: GSS_SUBKEY, seqNumber: 1000 + i, cusec: 10 + i })));
}

/** Mutated GSSAPI tokens as base64 lines; one in eight is random bytes or plain junk text. */
export function gssTokenMutator(service: 'pop' | 'imap'): (r: Rng) => string {
  const mutate = derMutator(gssTokens(service));
  return (r) => {
    const k = r(8);
    if (k === 0) return Buffer.from(Array.from({ length: r(300) }, () => r(256))).toString('base64');
    if (k === 1) return ['*', '=', '', '!!!!', 'A'.repeat(1 + r(2000)), Buffer.from(mutate(r)).toString('base64').slice(1)][r(6)]!;
    return Buffer.from(mutate(r)).toString('base64');
  };
}

/** Genuine ClientHello records from Node's TLS client (TLS 1.3 with 1.2 fallback, TLS 1.2 only, with and without SNI). */
export async function captureClientHellos(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const o of [{}, { maxVersion: 'TLSv1.2' as const }, { servername: 'localhost' }, { maxVersion: 'TLSv1.2' as const, servername: 'mail.lab.test', ALPNProtocols: ['pop3'] }]) {
    out.push(
      await new Promise<Uint8Array>((resolve, reject) => {
        const srv = net.createServer((s) => {
          s.once('data', (d) => {
            resolve(new Uint8Array(d));
            s.destroy();
            srv.close();
          });
        });
        srv.listen(0, '127.0.0.1', () => {
          const c = tls.connect({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port, rejectUnauthorized: false, ...o });
          c.on('error', () => {});
        });
        srv.on('error', reject);
      }),
    );
  }
  return out;
}

/** Mutated ClientHellos; one in eight is random bytes, one in sixteen a hello cut short or repeated. */
export function tlsMutator(hellos: Uint8Array[]): (r: Rng) => Uint8Array {
  const mutate = derMutator(hellos);
  return (r) => {
    const k = r(16);
    if (k < 2) return Uint8Array.from(Array.from({ length: r(600) }, () => r(256)));
    if (k === 2) return Buffer.concat([hellos[r(hellos.length)]!, hellos[r(hellos.length)]!]);
    return mutate(r);
  };
}

const LMTP_LINES = ['LHLO mta.test', 'LHLO', 'HELO x', 'EHLO x', 'MAIL FROM:<sender@example>', 'MAIL FROM:<>', 'MAIL FROM: <a@b> SIZE=99999999999', 'RCPT TO:<alice@lab.test>', 'RCPT TO:<bob@lab.test>', 'RCPT TO:<../../etc@lab.test>', 'RCPT TO:<bad..name@lab.test>', 'RCPT TO:alice', 'DATA', 'Subject: fuzz', '', '.', '..', 'body line', 'RSET', 'NOOP', 'VRFY alice', 'QUIT', 'BDAT 10 LAST', 'STARTTLS'];

/** A mutated LMTP session: lines from real sessions in a plausible order, then some shuffled, cut, flipped or filled with junk. */
export function lmtpSession(r: Rng): Buffer {
  const base = ['LHLO mta.test', 'MAIL FROM:<sender@example>', 'RCPT TO:<alice@lab.test>', 'DATA', 'Subject: fuzz', '', 'body', '.', 'QUIT'];
  const lines = base.slice();
  for (let k = 1 + r(6); k > 0; k--) {
    const at = r(lines.length + 1);
    switch (r(5)) {
      case 0: lines.splice(at, 0, LMTP_LINES[r(LMTP_LINES.length)]!); break;
      case 1: lines.splice(at, 1); break;
      case 2: lines.splice(at, 0, Array.from({ length: r(1200) }, () => String.fromCharCode(r(3) ? 32 + r(95) : r(256))).join('')); break;
      case 3: { const l = lines[at % lines.length]!; lines[at % lines.length] = l.slice(0, r(l.length + 1)); break; }
      default: { const j = r(lines.length); [lines[at % lines.length], lines[j]] = [lines[j]!, lines[at % lines.length]!]; }
    }
  }
  const b = Buffer.from(lines.join('\r\n') + (r(4) ? '\r\n' : ''), 'latin1');
  for (let k = r(3); k > 0 && b.length > 0; k--) b[r(b.length)] = r(256);
  return r(6) === 0 ? b.subarray(0, r(b.length + 1)) : b;
}

export interface Outcome {
  /** The server ended the connection (FIN). */
  closedByServer: boolean;
  /** What came back (latin1), capped. */
  text: string;
}

/**
 * One hostile connection: connect (over TLS first when `tlsFirst`), read the
 * greeting, optionally send `upgrade` and wait for `upgradeOk` before the
 * payload (so STLS/STARTTLS's handshake gets the bytes), send `payload`, and
 * wait up to `waitMs` for the server's answer or close; then hang up.
 */
export function throwAt(port: number, payload: Buffer | Uint8Array, opts: { upgrade?: string; upgradeOk?: RegExp; waitMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let closedByServer = false;
    let sent = false;
    const send = (): void => {
      sent = true;
      s.write(payload);
    };
    s.on('connect', () => {
      if (!opts.upgrade) send();
    });
    s.on('data', (d) => {
      if (text.length < 4096) text += d.toString('latin1');
      if (opts.upgrade && !sent) {
        if (!text.includes('\n')) return;
        if (!text.includes(opts.upgrade)) (text += opts.upgrade), s.write(opts.upgrade);
        else if (opts.upgradeOk!.test(text)) send();
      }
    });
    s.on('end', () => (closedByServer = true));
    s.on('error', () => {});
    s.on('close', () => resolve({ closedByServer, text }));
    s.setTimeout(opts.waitMs ?? 200, () => s.destroy());
  });
}

/** Run `n` hostile connections, `parallel` at a time; counts of server-closed connections and of texts matching each `classes` pattern. */
export async function runHostile(n: number, parallel: number, one: (i: number) => Promise<Outcome>, classes: Record<string, RegExp> = {}): Promise<{ closedByServer: number; counts: Record<string, number> }> {
  let closedByServer = 0;
  const counts: Record<string, number> = Object.fromEntries(Object.keys(classes).map((k) => [k, 0]));
  for (let i = 0; i < n; i += parallel) {
    const outs = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, k) => one(i + k)));
    for (const o of outs) {
      if (o.closedByServer) closedByServer++;
      for (const [k, re] of Object.entries(classes)) if (re.test(o.text)) counts[k]!++;
    }
  }
  return { closedByServer, counts };
}

/** Every secret a run used, in the spellings that could leak (hex, base64, raw text). */
export function secretSpellings(secrets: { keys?: Uint8Array[]; passwords?: string[]; pems?: string[] }): string[] {
  const out = new Set<string>();
  for (const k of secrets.keys ?? []) {
    const b = Buffer.from(k);
    out.add(b.toString('hex'));
    out.add(b.toString('hex').toUpperCase());
    out.add(b.toString('base64').replace(/=+$/, ''));
  }
  for (const p of secrets.passwords ?? []) out.add(p);
  // A private key's body lines (its base64), not the armour.
  for (const pem of secrets.pems ?? []) for (const l of pem.split('\n')) if (l.length >= 40 && !l.startsWith('-----')) out.add(l.trim());
  return [...out].filter((s) => s.length >= 8);
}
