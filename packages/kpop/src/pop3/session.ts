/**
 * One POP3 connection as an explicit state machine (RFC 1939 §3):
 * AUTHORIZATION → TRANSACTION → UPDATE, with `command_<VERB>` handlers and a
 * per-state table of what is allowed. Extensions: CAPA and response codes
 * (RFC 2449), [AUTH]/[SYS/*] (RFC 3206), AUTH (RFC 5034), STLS (RFC 2595).
 * The same engine serves the KPOP port, where sendauth has already
 * authenticated a principal before the greeting (see ../kpop/).
 */
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { formatPrincipal, type ConnectionGuard, type ExpiryStatus, type Principal } from '@kpop/common';
import { LineReader, TOO_LONG, type Line } from './line-reader.js';
import type { LineConnectionTexts } from '../net/line-connection.js';
import { MailSession } from '../net/mail-session.js';
import { multiLine } from './dot-stuff.js';
import { Mailbox } from './mailbox.js';
import { decodeBase64, runSaslExchange, SaslError, type PasswordVerifier, type SaslOutcome, type SaslRegistry } from '../sasl/index.js';
import { isValidUserName, maildirPath, MaildirError } from '../maildir/maildir.js';
import { apopTimestamp, verifyApop, type MechSecrets } from '../mechs/index.js';

export type Pop3State = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';
export type ListenerKind = 'pop3' | 'pop3s' | 'kpop';
export type LogRecord = Record<string, string | number | boolean | undefined>;

export interface Pop3Config {
  maildirRoot: string;
  /** STLS is offered when set (and on POP3S the socket is already TLS). */
  secureContext?: SecureContext;
  /** USER/PASS and PLAIN outside TLS (off by default, RFC 2595 §2.3 spirit). */
  allowPlaintextAuth?: boolean;
  /** Checks a password against the KDC and returns the principal (USER/PASS). */
  verifyPassword?: PasswordVerifier;
  /** This listener's SASL mechanisms (../sasl/): AUTH offers and runs these. */
  sasl: SaslRegistry;
  /** Our host name, for mechanisms that put it in a challenge. */
  hostname?: string;
  /** APOP (RFC 1939 §7) on this listener: the greeting carries a timestamp; checked with these secrets. */
  apop?: MechSecrets;
  /** The mailbox `user` names if this principal may open it (USER, or an authzid), else undefined. */
  mailboxFor: (principal: Principal, user: string) => string | undefined;
  /** The mailbox a principal gets when it names none (empty authzid). */
  localUser: (principal: Principal) => string | undefined;
  log: (record: LogRecord) => void;
  /** RFC 1939 §3: an autologout timer must be at least 10 minutes. */
  idleTimeoutMs?: number;
  maxAuthFailures?: number;
}

export interface SessionInfo {
  listener: ListenerKind;
  remote: string;
  /** KPOP: the principal sendauth authenticated. */
  preauth?: Principal;
  /** Bytes already read past the sendauth exchange. */
  initialData?: Buffer;
  /** The admission layer's handle: its deadlines replace the plain idle timer. */
  guard?: ConnectionGuard;
}

/** What the client reads before the hang-up, per deadline (RFC 3206 response codes where one fits). */
const EXPIRY_TEXT: Record<ExpiryStatus, string> = {
  AUTH_TIMEOUT: '-ERR [SYS/TEMP] Disconnected: no login in time',
  COMMAND_TIMEOUT: '-ERR [SYS/TEMP] Disconnected: command line not finished in time',
  IDLE_TIMEOUT: '-ERR Autologout; idle for too long',
};

const MAX_COMMAND = 255; // RFC 2449 §4
const MAX_AUTH_LINE = 16 * 1024; // protocols.md 3.1: GSSAPI tokens on one line
const TEXTS: LineConnectionTexts = {
  internalError: '-ERR [SYS/TEMP] Internal error\r\n',
  idle: '-ERR Autologout; idle for too long\r\n',
  encoding: 'utf8',
};
/** The session log's end reason for each deadline. */
const EXPIRY_REASON: Record<ExpiryStatus, string> = { IDLE_TIMEOUT: 'timeout', AUTH_TIMEOUT: 'auth-timeout', COMMAND_TIMEOUT: 'command-timeout' };
const MAX_UNKNOWN = 20;

const ALLOWED: Record<Pop3State, ReadonlySet<string>> = {
  AUTHORIZATION: new Set(['USER', 'PASS', 'APOP', 'AUTH', 'CAPA', 'STLS', 'QUIT']),
  TRANSACTION: new Set(['STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'QUIT', 'TOP', 'UIDL', 'CAPA']),
  UPDATE: new Set(),
};

type Handler = (this: Pop3Session, arg: string) => Promise<void> | void;

export class Pop3Session extends MailSession<Line> {
  state: Pop3State = 'AUTHORIZATION';
  private userArg?: string;
  private mailbox?: Mailbox;
  private unknown = 0;
  private retrieved = 0;
  private deleted = 0;

  constructor(socket: Duplex, private readonly config: Pop3Config, private readonly info: SessionInfo) {
    super({
      socket, tlsActive: info.listener === 'pop3s', idleTimeoutMs: config.idleTimeoutMs ?? 10 * 60 * 1000, reader: new LineReader(MAX_AUTH_LINE), texts: TEXTS,
      log: config.log, listener: info.listener, remote: info.remote, guard: info.guard,
    });
  }

  /** The admission layer's deadline hook (pass it as `expire` to Admission.admit). */
  expire(status: ExpiryStatus): void {
    this.expired(EXPIRY_REASON[status], EXPIRY_TEXT[status] + '\r\n');
  }

  /** One reply line; the CRLF is added. */
  private reply(line: string): void {
    this.send(line + '\r\n');
  }

  /** RFC 1939 §7: the APOP timestamp of this session's greeting. */
  private apopStamp?: string;

  start(): void {
    if (this.config.apop && !this.kpop) this.apopStamp = apopTimestamp(this.config.hostname ?? 'localhost');
    this.begin(`+OK POP3 server ready${this.apopStamp ? ' ' + this.apopStamp : ''}\r\n`, this.info.initialData);
  }

  private readonly seenError = (e: Error) => this.config.log({ event: 'error', session: this.id, error: `mark seen: ${e.message}` });

  /** Connection gone: release the lock; nothing is deleted without QUIT (§6). */
  protected async ended(): Promise<void> {
    const mailbox = this.mailbox;
    this.mailbox = undefined;
    if (mailbox) {
      // Dropped: nothing is deleted (§6), but what was retrieved is seen.
      await mailbox.flushSeen(this.seenError);
      await mailbox.close().catch(() => {});
    }
    this.logSession({ retrieved: this.retrieved, deleted: this.deleted });
  }

  // ---- dispatch --------------------------------------------------------------

  protected async handle(line: Line): Promise<void> {
    if (line === TOO_LONG || line.length > MAX_COMMAND && !/^AUTH /i.test(line)) {
      this.reply('-ERR Line too long');
      return this.countUnknown();
    }
    const sp = line.indexOf(' ');
    const verb = (sp === -1 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp === -1 ? '' : line.slice(sp + 1);
    const handler = (this as unknown as Record<string, Handler | undefined>)[`command_${verb}`];
    if (!ALLOWED[this.state].has(verb) || !handler) {
      this.reply(`-ERR Unknown command${/^[A-Z]{1,8}$/.test(verb) ? ': ' + verb : '.'}`);
      return this.countUnknown();
    }
    await handler.call(this, arg);
  }

  private countUnknown(): void {
    if (++this.unknown > MAX_UNKNOWN) {
      this.reply('-ERR Too many bad commands');
      this.endReason = 'bad-commands';
      this.close();
    }
  }

  private get kpop(): boolean {
    return this.info.listener === 'kpop';
  }

  private passwordAllowed(): boolean {
    return !this.kpop && !!this.config.verifyPassword && (this.tlsActive || !!this.config.allowPlaintextAuth);
  }

  /** SASL mechanisms that expose a password: the same rule as USER/PASS. */
  private saslPasswordsAllowed(): boolean {
    return !this.kpop && (this.tlsActive || !!this.config.allowPlaintextAuth);
  }

  private mechanisms(): string[] {
    if (this.kpop) return [];
    return this.config.sasl.offered(this.saslPasswordsAllowed());
  }

  // ---- AUTHORIZATION (§4) ----------------------------------------------------

  command_CAPA(): void {
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (this.state === 'AUTHORIZATION') {
      if (this.kpop || this.passwordAllowed()) caps.push('USER');
      const mechs = this.mechanisms();
      if (mechs.length) caps.push('SASL ' + mechs.join(' '));
      if (!this.kpop && this.config.secureContext && !this.tlsActive) caps.push('STLS');
    }
    caps.push('IMPLEMENTATION kpop');
    this.socket.write(multiLine('+OK Capability list follows', caps));
  }

  /** RFC 1939 §7: APOP name digest, against this session's greeting timestamp. */
  async command_APOP(arg: string): Promise<void> {
    const secrets = this.config.apop;
    if (!secrets || !this.apopStamp) {
      this.reply('-ERR Unknown command: APOP');
      return this.countUnknown();
    }
    this.userArg = undefined;
    let user: string;
    try {
      user = await verifyApop(arg, this.apopStamp, secrets);
    } catch (e) {
      return this.authFailed('APOP', /^\S{1,64}/.exec(arg)?.[0], e);
    }
    return this.authorizedUser(user, 'APOP');
  }

  command_USER(arg: string): void {
    if (!this.kpop && !this.passwordAllowed()) {
      this.reply(this.config.verifyPassword
        ? '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS'
        : '-ERR [AUTH] Password authentication is not available; use AUTH GSSAPI');
      return;
    }
    if (!arg || arg.length > 255) return this.reply('-ERR Missing or invalid user name');
    this.userArg = arg;
    this.reply('+OK');
  }

  async command_PASS(arg: string): Promise<void> {
    const user = this.userArg;
    this.userArg = undefined;
    if (this.kpop) {
      // KPOP authenticated out of band (sendauth); the PASS text is a dummy
      // ("krb_ticket" from fetchmail, the user name from movemail): ignored.
      if (user === undefined) return this.reply('-ERR Send USER first');
      return this.authorized(this.info.preauth!, user, 'KPOP');
    }
    if (!this.passwordAllowed()) {
      return this.reply('-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS');
    }
    if (user === undefined) return this.reply('-ERR Send USER first');
    let principal: Principal;
    try {
      principal = await this.config.verifyPassword!(user, arg);
    } catch (e) {
      return this.authFailed('USER', user, e);
    }
    await this.authorized(principal, user, 'USER');
  }

  async command_AUTH(arg: string): Promise<void> {
    const mechs = this.mechanisms();
    if (!arg) {
      this.socket.write(multiLine('+OK', mechs));
      return;
    }
    // mutt sends "AUTH CRAM-MD5 " (a trailing space) when it has no initial response.
    const [name = '', ir, extra] = arg.replace(/ $/, '').split(' ');
    const mechName = name.toUpperCase();
    if (extra !== undefined || !mechs.includes(mechName)) {
      return this.reply('-ERR [AUTH] Unsupported authentication mechanism.');
    }
    const factory = this.config.sasl.get(mechName, this.saslPasswordsAllowed())!;
    const mech = factory.create({ tls: this.tlsActive, service: 'pop', hostname: this.config.hostname ?? 'localhost' });
    // RFC 5034 §4: "=" is a present-but-empty initial response.
    let input: Uint8Array | undefined;
    if (ir !== undefined) {
      input = ir === '=' ? new Uint8Array(0) : decodeBase64(ir);
      if (!input) return this.authFailed(mechName, undefined, new SaslError('Invalid base64 in initial response'));
    }
    try {
      const result = await runSaslExchange(mech, input, {
        // "+ base64" with exactly one space: fetchmail needs it.
        challenge: (data) => {
          this.reply('+ ' + Buffer.from(data).toString('base64'));
          return this.nextEvent();
        },
      });
      if (result.status === 'gone') return;
      if (result.status === 'aborted') return this.reply('-ERR Authentication aborted by client.');
      return this.saslDone(mechName, result.outcome);
    } catch (e) {
      return this.authFailed(mechName, undefined, e);
    }
  }

  /** The mailbox a SASL identity asked for (its authzid, else its own). */
  private async saslDone(mechName: string, outcome: SaslOutcome): Promise<void> {
    const { principal, authzid, authcid } = outcome;
    if (!principal) {
      // A user-name identity (mechanisms with local secrets) acts only as itself.
      if (authzid && authzid !== authcid) return this.authFailed(mechName, authcid, new SaslError(`${authcid} may not act as ${authzid}`));
      return this.authorizedUser(authcid, mechName);
    }
    const user = authzid || this.config.localUser(principal);
    if (!user) return this.authFailed(mechName, undefined, new SaslError(`No mailbox for ${formatPrincipal(principal)}`));
    return this.authorized(principal, user, mechName);
  }

  private authFailed(mech: string, user: string | undefined, e: unknown): void {
    const temporary = (e instanceof SaslError && e.temporary) || (e instanceof MaildirError && e.temporary);
    const reason = e instanceof Error ? e.message : String(e);
    this.config.log({ event: 'auth', session: this.id, listener: this.info.listener, remote: this.info.remote, mech, user, ok: false, reason });
    this.reply(temporary ? '-ERR [SYS/TEMP] Authentication temporarily unavailable' : '-ERR [AUTH] Authentication failed.');
    if (++this.authFailures >= (this.config.maxAuthFailures ?? 3)) {
      this.reply('-ERR [AUTH] Too many authentication failures');
      this.endReason = 'auth-failures';
      this.close();
    }
  }

  /** principal is authenticated; may it open `user`'s mailbox? Then lock and scan. */
  private async authorized(principal: Principal, requested: string, mech: string): Promise<void> {
    const name = formatPrincipal(principal);
    const user = this.config.mailboxFor(principal, requested);
    if (user === undefined || !isValidUserName(user)) {
      return this.authFailed(mech, requested, new SaslError(`${name} may not access mailbox ${requested}`));
    }
    return this.openMailbox(user, mech, principal);
  }

  /** A user-name identity (no Kerberos principal) opens its own mailbox. */
  private async authorizedUser(user: string, mech: string): Promise<void> {
    if (!isValidUserName(user)) return this.authFailed(mech, user, new SaslError(`invalid mailbox name ${user}`));
    return this.openMailbox(user, mech, undefined);
  }

  /** Lock and scan the mailbox of an authorized identity. */
  private async openMailbox(user: string, mech: string, principal: Principal | undefined): Promise<void> {
    const name = principal && formatPrincipal(principal);
    let mailbox: Mailbox | undefined;
    try {
      mailbox = await Mailbox.open(maildirPath(this.config.maildirRoot, user));
    } catch (e) {
      this.config.log({ event: 'auth', session: this.id, listener: this.info.listener, mech, user, principal: name, ok: false, reason: (e as Error).message });
      // RFC 3206: [SYS/TEMP] when retrying may help (I/O), [SYS/PERM] when it won't.
      const temporary = !(e instanceof MaildirError) || e.temporary;
      return this.reply(temporary ? '-ERR [SYS/TEMP] Cannot open the mailbox' : '-ERR [SYS/PERM] Cannot open the mailbox');
    }
    if (!mailbox) {
      this.config.log({ event: 'auth', session: this.id, listener: this.info.listener, mech, user, principal: name, ok: false, reason: 'in-use' });
      return this.reply('-ERR [IN-USE] Mailbox is locked by another POP3 session');
    }
    if (this.closed) {
      await mailbox.close();
      return;
    }
    this.mailbox = mailbox;
    this.user = user;
    this.principal = principal;
    this.mech = mech;
    this.state = 'TRANSACTION';
    this.guard?.authenticated();
    this.config.log({ event: 'auth', session: this.id, listener: this.info.listener, remote: this.info.remote, mech, user, principal: name, ok: true });
    const { count, octets } = mailbox.stat();
    this.reply(`+OK Logged in; ${count} messages (${octets} octets)`);
  }

  async command_STLS(): Promise<void> {
    if (this.kpop || !this.config.secureContext || this.tlsActive) return this.reply('-ERR STLS not available');
    this.reply('+OK Begin TLS negotiation now');
    this.startTls(this.config.secureContext);
    this.userArg = undefined;
  }

  command_QUIT(): Promise<void> | void {
    if (this.state === 'TRANSACTION') return this.update();
    this.endReason = 'quit';
    this.reply('+OK Logging out.');
    this.close();
  }

  // ---- TRANSACTION (§5) ------------------------------------------------------

  /** A message number argument; replies and returns undefined when bad. */
  private message(arg: string): ReturnType<Mailbox['get']> {
    if (!/^[1-9][0-9]{0,9}$/.test(arg)) {
      this.reply('-ERR Invalid message number');
      return undefined;
    }
    const n = Number(arg);
    const m = this.mailbox!.messages[n - 1];
    if (!m) this.reply(`-ERR There's no message ${n}.`);
    else if (m.deleted) this.reply('-ERR Message is deleted.');
    else return m;
    return undefined;
  }

  command_STAT(): void {
    const { count, octets } = this.mailbox!.stat();
    this.reply(`+OK ${count} ${octets}`);
  }

  private listing(arg: string, field: (m: Mailbox['messages'][number]) => string | number): void {
    const mb = this.mailbox!;
    if (arg) {
      const m = this.message(arg.trim());
      if (m) this.reply(`+OK ${arg.trim()} ${field(m)}`);
      return;
    }
    const lines: string[] = [];
    mb.messages.forEach((m, i) => {
      if (!m.deleted) lines.push(`${i + 1} ${field(m)}`);
    });
    const { count, octets } = mb.stat();
    this.socket.write(multiLine(`+OK ${count} messages (${octets} octets)`, lines));
  }

  command_LIST(arg: string): void {
    this.listing(arg, (m) => m.size);
  }

  command_UIDL(arg: string): void {
    this.listing(arg, (m) => m.uid);
  }

  async command_RETR(arg: string): Promise<void> {
    const m = this.message(arg.trim());
    if (!m) return;
    if (await this.sendMessage(m, `+OK ${m.size} octets\r\n`, `RETR ${arg}`)) {
      this.retrieved++;
      this.mailbox!.seen(m);
    }
  }

  async command_TOP(arg: string): Promise<void> {
    const [n = '', k = '', extra] = arg.trim().split(/ +/);
    if (extra !== undefined || !/^[0-9]+$/.test(k)) return this.reply('-ERR Usage: TOP msg lines');
    const m = this.message(n);
    if (!m) return;
    // fetchmail asks for huge line counts (e.g. TOP n 99999999): clamp, don't fail.
    const lines = k.length > 15 ? Number.MAX_SAFE_INTEGER : Number(k);
    await this.sendMessage(m, '+OK\r\n', `TOP ${arg}`, lines);
  }

  /** Stream a message; false when it could not be sent whole. */
  private async sendMessage(m: NonNullable<ReturnType<Mailbox['get']>>, head: string, what: string, bodyLines?: number): Promise<boolean> {
    let started = false;
    try {
      await this.mailbox!.send(m, head, (b) => {
        started = true;
        return this.write(b);
      }, bodyLines);
      return !this.closed;
    } catch (e) {
      this.config.log({ event: 'error', session: this.id, error: `${what}: ${(e as Error).message}` });
      // Nothing sent yet (the file vanished, say): an honest -ERR. Once the
      // multi-line response is under way, only dropping the connection is
      // (the client then sees no terminator and keeps nothing).
      if (!started) this.reply('-ERR [SYS/TEMP] Message cannot be read now');
      else this.socket.destroy();
      return false;
    }
  }

  command_DELE(arg: string): void {
    const m = this.message(arg.trim());
    if (!m) return;
    m.deleted = true;
    this.reply('+OK Marked to be deleted.');
  }

  command_NOOP(): void {
    this.reply('+OK');
  }

  command_RSET(): void {
    this.mailbox!.rset();
    const { count, octets } = this.mailbox!.stat();
    this.reply(`+OK maildrop has ${count} messages (${octets} octets)`);
  }

  // ---- UPDATE (§6) -----------------------------------------------------------

  private async update(): Promise<void> {
    this.state = 'UPDATE';
    this.endReason = 'quit';
    const mailbox = this.mailbox!;
    const { removed, failed } = await mailbox.commit();
    this.deleted = removed;
    await mailbox.flushSeen(this.seenError);
    // Unlock before the client hears +OK: its next session must not get [IN-USE].
    this.mailbox = undefined;
    await mailbox.close().catch(() => {});
    if (failed) this.reply(`-ERR [SYS/TEMP] ${failed} deleted messages not removed`);
    else this.reply('+OK Logging out.');
    this.close();
  }
}
