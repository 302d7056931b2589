/**
 * startPopServer: the listeners of the suite's POP3 service, all feeding the
 * one POP3 engine (./pop3/session.ts):
 * - POP3 (RFC 1939) with STLS (RFC 2595 §4) and AUTH GSSAPI / PLAIN;
 * - POP3S, TLS from the first byte (RFC 8314);
 * - KPOP: krb5 sendauth (KPOPV1.0) first, then POP3 already authenticated.
 * Every listener admits its connections through one shared Admission
 * (@kpop/common net/limits): a global cap, a per-address share, and the
 * login, command-line and idle deadlines.
 */
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import {
  Admission,
  answerAndClose,
  jsonLine,
  KrbError,
  MAIL_CONNECTION_LIMITS,
  parsePrincipal,
  verifyPassword,
  type AdmitHooks,
  type ConnectionGuard,
  type ConnectionLimits,
  type Keytab,
  type Krb5Config,
  type Principal,
} from '@kpop/common';
import { Pop3Session, type ListenerKind, type LogRecord, type Pop3Config } from './pop3/session.js';
import { gssapiFactory, plainFactory, SaslError, SaslRegistry, type PasswordVerifier } from './sasl/index.js';
import { UserMap } from './auth/user-map.js';
import { KerberosAcceptor, type AcceptorOptions } from './auth/acceptor.js';
import { handleKpopConnection } from './kpop/kpop-listener.js';
import { handleLmtpConnection } from './lmtp/lmtp-session.js';
import { ImapSession, type ImapConfig, type ImapListenerKind } from './imap/session.js';
import { hostname } from 'node:os';
import { startTmpCleaner, TMP_MAX_AGE_MS } from './maildir/tmp-clean.js';
import { loginFactory } from './sasl/index.js';
import { SECRET_MECHANISMS, secretMechanismFactories } from './mechs/index.js';
import { Lockout, mechSecrets, SecretsStore, type LockoutPolicy, type SecretsPaths } from './secrets/store.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** The listeners that run SASL (KPOP authenticates by sendauth). */
export type MechListener = 'pop3' | 'pop3s' | 'imap' | 'imaps';

export interface PopServerOptions {
  /** Mailboxes live in ROOT/USER/{tmp,new,cur}. */
  maildirRoot: string;
  /** The local realm: alice@REALM owns mailbox "alice". */
  realm: string;
  /** Keytab path or parsed keytab with pop/* keys (KPOP and AUTH GSSAPI). Without it neither is offered. */
  keytab?: string | Keytab;
  /** Accept tickets only for this service ("pop/HOST" or "pop/HOST@REALM"); default: any pop/* key in the keytab. */
  service?: string;
  kpop?: ListenAddress | false;
  pop3?: ListenAddress | false;
  pop3s?: ListenAddress | false;
  /** IMAP with STARTTLS (RFC 3501) and IMAPS (RFC 8314), for imap/HOST; off by default. */
  imap?: ListenAddress | false;
  imaps?: ListenAddress | false;
  /** Accept IMAP tickets only for this service ("imap/HOST[@REALM]"); default: any imap/* key in the keytab. */
  imapService?: string;
  /** LMTP (RFC 2033) for an MTA to deliver into the Maildirs; off by default. */
  lmtp?: ListenAddress | false;
  /** PEM certificate chain and key for STLS and POP3S. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  allowPlaintextAuth?: boolean;
  /** "PRINCIPAL USER" lines for principals other than USER@REALM. */
  userMapFile?: string;
  /**
   * Password check for USER/PASS and PLAIN (inside TLS). Default with a
   * krb5Config and a keytab: an AS exchange with the KDC, then a ticket for
   * our service that must open with our keytab (client/verifyPassword).
   */
  verifyPassword?: PasswordVerifier;
  /** krb5.conf, to reach the KDC for password checks. */
  krb5Config?: Krb5Config;
  log?: (record: LogRecord) => void;
  /**
   * Connection limits shared by every listener (default
   * MAIL_CONNECTION_LIMITS: 1000 in all, 50 per address, 60 s to log in,
   * 30 s per command line, 10 min idle).
   */
  limits?: Partial<ConnectionLimits>;
  /** Refusals and deadline expiries: one log record per address and status per this many ms (default 60 s). */
  limitLogIntervalMs?: number;
  /** Same as limits.idleTimeoutMs (kept for callers of earlier versions). */
  idleTimeoutMs?: number;
  /** Same as limits.maxConnections. */
  maxConnections?: number;
  maxAuthFailures?: number;
  /** Allowed clock skew in seconds (MIT's default 300). */
  clockSkew?: number;
  /**
   * Mechanisms that check secrets of their own (APOP, CRAM-MD5, SCRAM-SHA-1,
   * SCRAM-SHA-256, NTLM; also LOGIN), off by default: turned on for every
   * SASL listener (POP3, POP3S, IMAP, IMAPS), or per listener with
   * listenerMechanisms. APOP is POP3 only.
   */
  mechanisms?: string[];
  listenerMechanisms?: Partial<Record<MechListener, string[]>>;
  /** The store those mechanisms read (kpop secrets). */
  secrets?: SecretsPaths | SecretsStore;
  /** NTLM: accept NTLMv1 (fetchmail) as well as NTLMv2. */
  allowNtlmV1?: boolean;
  /** Lockout for the mechanisms checked here (default 5 failures in 10 min lock 10 min). */
  lockout?: LockoutPolicy;
  /** Clock for ticket checks (tests pin it to the MIT fixtures' time). */
  now?: () => Date;
  /** Maildir tmp/ files untouched this long are removed, at start and hourly (default 36 h; 0: never). */
  tmpMaxAgeMs?: number;
}

export interface PopServer {
  kpop?: AddressInfo;
  lmtp?: AddressInfo;
  imap?: AddressInfo;
  imaps?: AddressInfo;
  pop3?: AddressInfo;
  pop3s?: AddressInfo;
  /** Currently open sessions. */
  readonly connections: number;
  /** The admission layer every listener shares (a listener added later admits through it too). */
  readonly admission: Admission;
  close(): Promise<void>;
}

/** One JSON line per record on stderr: never a password (none is ever put in a record). */
export function jsonLogger(stream: NodeJS.WritableStream = process.stderr): (r: LogRecord) => void {
  return (r) => stream.write(jsonLine({ ts: new Date().toISOString(), ...r }) + '\n');
}

function listen(server: Server, addr: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startPopServer(opts: PopServerOptions): Promise<PopServer> {
  const log = opts.log ?? jsonLogger();
  const userMap = opts.userMapFile ? UserMap.load(opts.userMapFile, opts.realm) : new UserMap(opts.realm);
  const secureContext: SecureContext | undefined = opts.tls ? createSecureContext({ cert: opts.tls.cert, key: opts.tls.key }) : undefined;
  const acceptorOptions: AcceptorOptions | undefined = opts.keytab
    ? { keytab: opts.keytab, service: opts.service, realm: opts.realm, clockSkew: opts.clockSkew, now: opts.now }
    : undefined;
  const wantPop = !!(opts.kpop || opts.pop3 || opts.pop3s) || !(opts.imap || opts.imaps);
  const acceptor = acceptorOptions && wantPop ? new KerberosAcceptor(acceptorOptions) : undefined;
  // IMAP takes tickets for imap/HOST: its own acceptor over the same keytab.
  let imapAcceptor: KerberosAcceptor | undefined;
  if (opts.keytab && (opts.imap || opts.imaps)) {
    try {
      imapAcceptor = new KerberosAcceptor({ ...acceptorOptions!, service: opts.imapService, serviceName: 'imap' });
    } catch (e) {
      log({ event: 'warning', listener: 'imap', reason: `no GSSAPI for IMAP: ${(e as Error).message}` });
    }
  }
  const passwordAcceptor = acceptor ?? imapAcceptor;

  let passwords = opts.verifyPassword;
  if (!passwords && opts.krb5Config && passwordAcceptor) {
    const krb5Config = opts.krb5Config;
    const acceptor = passwordAcceptor;
    passwords = async (user, password) => {
      let client: Principal;
      try {
        client = parsePrincipal(user, { defaultRealm: opts.realm });
      } catch (e) {
        throw new SaslError(`bad user name: ${(e as Error).message}`);
      }
      try {
        return await verifyPassword({ config: krb5Config, user: client, password, service: acceptor.serverPrincipal, keytab: acceptor.currentKeytab, ...(opts.now ? { now: opts.now } : {}) });
      } catch (e) {
        // A KDC answer (wrong password, unknown user) is a refusal; anything
        // else (KDC unreachable) is temporary: [SYS/TEMP], not [AUTH].
        if (e instanceof KrbError) throw new SaslError(`${e.codeName}: ${e.message}`, false, e);
        throw new SaslError(`KDC unavailable: ${(e as Error).message}`, true, e);
      }
    };
  }

  const known = new Set<string>([...SECRET_MECHANISMS, 'LOGIN', 'GSSAPI', 'PLAIN']);
  for (const n of [...(opts.mechanisms ?? []), ...Object.values(opts.listenerMechanisms ?? {}).flat()]) {
    if (!known.has(n.toUpperCase())) throw new Error(`unknown mechanism ${n} (known: ${[...known].join(', ')})`);
  }
  const wantsSecrets = [...(opts.mechanisms ?? []), ...Object.values(opts.listenerMechanisms ?? {}).flat()]
    .some((n) => (SECRET_MECHANISMS as readonly string[]).includes(n.toUpperCase()));
  if (wantsSecrets && !opts.secrets) throw new Error('APOP, CRAM-MD5, SCRAM and NTLM need a secrets store (--secrets FILE, made with "kpop secrets set")');
  const store = opts.secrets instanceof SecretsStore ? opts.secrets : opts.secrets ? new SecretsStore(opts.secrets) : undefined;
  if (store) store.reload(); // a damaged store is reported at start, not at the first login
  const secrets = store ? mechSecrets(store, new Lockout(opts.lockout)) : undefined;
  /** The listener's extra mechanisms, upper-cased. */
  const extra = (kind: MechListener) => (opts.listenerMechanisms?.[kind] ?? opts.mechanisms ?? []).map((n) => n.toUpperCase());
  const registryFor = (kind: MechListener): SaslRegistry => {
    const names = extra(kind);
    const gss = kind === 'imap' || kind === 'imaps' ? imapAcceptor : acceptor;
    return new SaslRegistry([
      ...(gss ? [gssapiFactory(gss)] : []),
      ...(passwords ? [plainFactory(passwords)] : []),
      ...(passwords && names.includes('LOGIN') ? [loginFactory(passwords)] : []),
      ...(secrets ? secretMechanismFactories(names, secrets, { allowNtlmV1: opts.allowNtlmV1 }) : []),
    ]);
  };

  const config: Pop3Config = {
    maildirRoot: opts.maildirRoot,
    secureContext,
    allowPlaintextAuth: opts.allowPlaintextAuth,
    verifyPassword: passwords,
    sasl: new SaslRegistry([...(acceptor ? [gssapiFactory(acceptor)] : []), ...(passwords ? [plainFactory(passwords)] : [])]),
    hostname: hostname() || 'localhost',
    mailboxFor: (p: Principal, user: string) => userMap.mailboxFor(p, user),
    localUser: (p: Principal) => userMap.localUser(p),
    log,
    idleTimeoutMs: opts.idleTimeoutMs,
    maxAuthFailures: opts.maxAuthFailures,
  };

  const listenerConfig = (kind: 'pop3' | 'pop3s'): Pop3Config => ({
    ...config,
    sasl: registryFor(kind),
    ...(secrets && extra(kind).includes('APOP') ? { apop: secrets } : {}),
  });
  const pop3Config = listenerConfig('pop3');
  const pop3sConfig = listenerConfig('pop3s');
  const imapConfig: ImapConfig = {
    maildirRoot: opts.maildirRoot,
    secureContext,
    allowPlaintextAuth: opts.allowPlaintextAuth,
    verifyPassword: passwords,
    sasl: registryFor('imap'),
    hostname: hostname() || 'localhost',
    mailboxFor: (p: Principal, user: string) => userMap.mailboxFor(p, user),
    localUser: (p: Principal) => userMap.localUser(p),
    log,
    idleTimeoutMs: opts.idleTimeoutMs,
    maxAuthFailures: opts.maxAuthFailures,
  };
  const imapsConfig: ImapConfig = { ...imapConfig, sasl: registryFor('imaps') };

  const tmpMaxAgeMs = opts.tmpMaxAgeMs ?? TMP_MAX_AGE_MS;
  const tmpCleaner = tmpMaxAgeMs > 0 ? startTmpCleaner(opts.maildirRoot, { maxAgeMs: tmpMaxAgeMs, log, ...(opts.now ? { now: opts.now } : {}) }) : undefined;
  const limits: ConnectionLimits = {
    ...MAIL_CONNECTION_LIMITS,
    ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...opts.limits,
  };
  const admission = new Admission({ limits, log, ...(opts.limitLogIntervalMs !== undefined ? { logIntervalMs: opts.limitLogIntervalMs } : {}) });
  const servers: Server[] = [];

  /** The protocols' refusals: POP3 says why (RFC 3206 [SYS/TEMP]); KPOP and POP3S (no TLS yet) just close. */
  const refusePop3 = (socket: Socket): void => answerAndClose(socket, '-ERR [SYS/TEMP] Too many connections\r\n');
  const refuseLmtp = (socket: Socket): void => answerAndClose(socket, '421 4.3.2 Too many connections, try again later\r\n');
  const refuseImap = (socket: Socket): void => answerAndClose(socket, '* BYE [UNAVAILABLE] Too many connections\r\n');
  const remote = (s: Socket) => `${s.remoteAddress}:${s.remotePort}`;

  /**
   * Implicit TLS over an admitted socket. A peer that hangs up before the
   * handshake is done can never finish it: end the connection at once (the
   * greeting already queued on the TLS socket would otherwise keep end()
   * waiting, and the slot held, until the login deadline).
   */
  const implicitTls = (socket: Socket, context: SecureContext): TLSSocket => {
    const secure = new TLSSocket(socket, { isServer: true, secureContext: context });
    let handshaken = false;
    secure.once('secure', () => (handshaken = true));
    secure.on('error', () => socket.destroy());
    secure.once('end', () => {
      if (!handshaken) socket.destroy();
    });
    return secure;
  };

  /** A POP3 session on `socket` (plain, or TLS over it), its deadlines wired to the guard. */
  const popSession = (socket: Socket, stream: Socket, kind: ListenerKind, hooks: AdmitHooks, guard: ConnectionGuard, extra: { preauth?: Principal; initialData?: Buffer } = {}) => {
    const cfg = kind === 'pop3' ? pop3Config : kind === 'pop3s' ? pop3sConfig : config;
    const session = new Pop3Session(stream, cfg, { listener: kind, remote: remote(socket), guard, ...extra });
    hooks.expire = (status) => session.expire(status);
    session.start();
  };

  /** An IMAP session on `socket` (plain, or TLS over it), its deadlines wired to the guard. */
  const imapSession = (socket: Socket, stream: Socket, kind: ImapListenerKind, hooks: AdmitHooks, guard: ConnectionGuard) => {
    const session = new ImapSession(stream, kind === 'imaps' ? imapsConfig : imapConfig, { listener: kind, remote: remote(socket), guard });
    hooks.expire = (status) => session.expire(status);
    session.start();
  };

  const result: { -readonly [K in keyof PopServer]: PopServer[K] } = {
    get connections() {
      return admission.connections;
    },
    admission,
    close: async () => {
      tmpCleaner?.stop();
      admission.close();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };

  /**
   * One listener: every connection is admitted first (refused with `refuse`'s
   * answer, or just closed); on the implicit-TLS ports it is admitted before
   * the handshake, so a handshake that never ends holds a counted slot and
   * runs against the login deadline. Then `serve` gets the socket, the stream
   * to speak on (the TLS one, or the socket) and its guard.
   */
  const listenOn = (kind: string, address: ListenAddress, o: { refuse?: (s: Socket) => void; implicitTls?: boolean }, serve: (socket: Socket, stream: Socket, hooks: AdmitHooks, guard: ConnectionGuard) => void): Promise<AddressInfo> => {
    const server = createNetServer((socket) => {
      const hooks: AdmitHooks = o.refuse ? { refuse: o.refuse } : {};
      const guard = admission.admit(socket, kind, hooks);
      if (!guard) return;
      if (!o.implicitTls) return serve(socket, socket, hooks, guard);
      serve(socket, implicitTls(socket, secureContext!), hooks, guard);
    });
    servers.push(server);
    return listen(server, address);
  };

  try {
    if (opts.pop3) result.pop3 = await listenOn('pop3', opts.pop3, { refuse: refusePop3 }, (s, stream, h, g) => popSession(s, stream, 'pop3', h, g));
    if (opts.pop3s) {
      if (!secureContext) throw new Error('POP3S needs a certificate and key (--cert, --key)');
      result.pop3s = await listenOn('pop3s', opts.pop3s, { implicitTls: true }, (s, stream, h, g) => popSession(s, stream, 'pop3s', h, g));
    }
    if (opts.kpop) {
      if (!acceptor) throw new Error('KPOP needs a keytab with pop/* keys (--keytab or KRB5_KTNAME)');
      result.kpop = await listenOn('kpop', opts.kpop, {}, (s, _stream, h, g) =>
        handleKpopConnection(s, acceptor, log, (principal, rest) => popSession(s, s, 'kpop', h, g, { preauth: principal, initialData: rest }), g),
      );
    }
    if (opts.imap) result.imap = await listenOn('imap', opts.imap, { refuse: refuseImap }, (s, stream, h, g) => imapSession(s, stream, 'imap', h, g));
    if (opts.imaps) {
      if (!secureContext) throw new Error('IMAPS needs a certificate and key (--cert, --key)');
      result.imaps = await listenOn('imaps', opts.imaps, { implicitTls: true }, (s, stream, h, g) => imapSession(s, stream, 'imaps', h, g));
    }
    if (opts.lmtp) {
      result.lmtp = await listenOn('lmtp', opts.lmtp, { refuse: refuseLmtp }, (s, _stream, h, g) =>
        handleLmtpConnection(s, { maildirRoot: opts.maildirRoot, hostname: hostname() || 'localhost', log }, g, h),
      );
    }
  } catch (e) {
    await result.close();
    throw e;
  }
  return result;
}
