/**
 * `kpop fetch`: one POP3 session that authenticates with Kerberos (KPOP
 * sendauth on its own port, or AUTH GSSAPI), optionally under TLS (STLS or
 * implicit), and moves every message into a Maildir or an mbox. A message is
 * deleted on the server (DELE, committed by QUIT, RFC 1939 §6) only after
 * it is safely on disk, and nothing is deleted if anything fails before QUIT.
 */
import { readFileSync } from 'node:fs';
import { formatPrincipal } from '@kpop/common';
import { PopConnection, type TlsOptions } from './connection.js';
import { serviceCredential } from './credentials.js';
import { FetchError } from './errors.js';
import { saslGssapi } from './gssapi-auth.js';
import { KPOP_DUMMY_PASS, kpopSendauth } from './kpop-auth.js';
import { Pop3Client } from './pop3-client.js';
import { openStore, type StoreFormat } from './store.js';

export type FetchMechanism = 'kpop' | 'gssapi';
export type FetchTls = 'none' | 'stls' | 'implicit';

export interface FetchOptions {
  host: string;
  /** Default: 1109 for KPOP, 995 for implicit TLS, else 110. */
  port?: number;
  mechanism: FetchMechanism;
  tls: FetchTls;
  /** PEM file of CA certificates to trust (the lab's var/lab/ca/ca.pem). */
  cafile?: string;
  /** The mailbox (USER for KPOP, the authzid for GSSAPI); default the principal's own. */
  user?: string;
  keep: boolean;
  out: string;
  format?: StoreFormat;
  /** A ccache name; default KRB5CCNAME. */
  ccache?: string;
  /** Kerberos service name (default "pop"). */
  service?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Progress lines (-v). */
  verbose?: (line: string) => void;
}

export interface FetchResult {
  principal: string;
  mailbox: string;
  fetched: number;
  deleted: number;
  bytes: number;
  store: { format: StoreFormat; path: string };
  tls: boolean;
}

export function defaultPort(mechanism: FetchMechanism, tls: FetchTls): number {
  if (mechanism === 'kpop') return 1109;
  return tls === 'implicit' ? 995 : 110;
}

export async function runFetch(o: FetchOptions): Promise<FetchResult> {
  const say = o.verbose ?? (() => {});
  const port = o.port ?? defaultPort(o.mechanism, o.tls);
  const store = openStore(o.out, o.format);
  let tlsOptions: TlsOptions = {};
  if (o.cafile !== undefined) {
    try {
      tlsOptions = { ca: readFileSync(o.cafile) };
    } catch (e) {
      throw new FetchError('usage', `cannot read the CA file ${o.cafile}: ${(e as Error).message}`, { cause: e });
    }
  }
  const { credential, kdcOffsetSeconds } = await serviceCredential({
    host: o.host,
    ...(o.service ? { service: o.service } : {}),
    ...(o.ccache ? { ccache: o.ccache } : {}),
    ...(o.env ? { env: o.env } : {}),
  });
  const principal = formatPrincipal(credential.client);
  say(`ticket for ${formatPrincipal(credential.server)} as ${principal}`);
  const mailbox = o.user ?? credential.client.name.nameString[0] ?? '';

  const conn = await PopConnection.open({ host: o.host, port, ...(o.tls === 'implicit' ? { tls: tlsOptions } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
  say(`connected to ${o.host}:${port}${o.tls === 'implicit' ? ' (TLS)' : ''}`);
  const pop = new Pop3Client(conn);
  try {
    if (o.mechanism === 'kpop') {
      await kpopSendauth(conn, credential, { kdcOffsetSeconds });
      say('KPOP sendauth accepted, server authenticated (AP-REP)');
      await pop.greeting();
      if (o.tls === 'stls') {
        await pop.stls(tlsOptions, await pop.capa(), 'drop --tls, or use --gssapi --tls on the POP3 port for an encrypted session');
        say('STLS: TLS started');
      }
      await pop.must(`USER ${mailbox}`, 'USER');
      const r = await pop.command(`PASS ${KPOP_DUMMY_PASS}`, 'PASS');
      if (!r.ok) throw new FetchError('auth', `${pop.where()} did not let ${principal} open mailbox "${mailbox}": ${r.text}`);
    } else {
      await pop.greeting();
      let caps = await pop.capa();
      if (o.tls === 'stls') {
        await pop.stls(tlsOptions, caps);
        say('STLS: TLS started');
        caps = await pop.capa(); // RFC 2595 §4: forget what was learnt before TLS
      }
      const sasl = caps?.get('SASL');
      if (sasl && !sasl.some((m) => m.toUpperCase() === 'GSSAPI')) {
        throw new FetchError('auth', `${pop.where()} does not offer SASL GSSAPI (it offers ${sasl.join(' ') || 'nothing'})`);
      }
      await saslGssapi(pop, credential, { ...(o.user ? { authzid: o.user } : {}), kdcOffsetSeconds });
      say(`AUTH GSSAPI done${o.user ? ` for mailbox ${o.user}` : ''}`);
    }
    const { count } = await pop.stat();
    say(`${count} message(s) waiting`);
    let bytes = 0;
    let deleted = 0;
    for (let n = 1; n <= count; n++) {
      const msg = await pop.retr(n);
      await store.store(msg);
      bytes += msg.length;
      if (!o.keep) {
        await pop.dele(n);
        deleted++;
      }
    }
    await pop.quit();
    return { principal, mailbox, fetched: count, deleted, bytes, store: { format: store.format, path: store.path }, tls: conn.encrypted };
  } finally {
    conn.close();
  }
}
