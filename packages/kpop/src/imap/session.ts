/**
 * One IMAP4rev1 connection (RFC 3501) as an explicit state machine:
 * not authenticated → authenticated → selected → logout (§3), with a
 * `cmd_<NAME>` handler per command and a table of the states each is
 * allowed in. Extensions: SASL-IR (RFC 4959), LITERAL+ (RFC 7888), ID (RFC
 * 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342), UNSELECT (RFC 3691),
 * UIDPLUS (RFC 4315), MOVE (RFC 6851), IDLE (RFC 2177); response codes of
 * RFC 5530. Mailboxes are Maildir++ folders (./mailboxes.ts), each a shared
 * ./folder.ts; this session keeps its own view (message numbers) and tells
 * the client what others changed at the points §7.4.1 allows.
 */
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { formatPrincipal, type ConnectionGuard, type ExpiryStatus, type Principal } from '@kpop/common';
import { decodeBase64, runSaslExchange, SaslError, type PasswordVerifier, type SaslOutcome, type SaslRegistry } from '../sasl/index.js';
import { ensureMaildir, isValidUserName, maildirPath, MaildirError } from '../maildir/maildir.js';
import type { LineConnectionTexts } from '../net/line-connection.js';
import { MailSession } from '../net/mail-session.js';
import { flagText, Folder, FolderError, SYSTEM_FLAGS, type ImapMessage } from './folder.js';
import { MessageChangedError, type MessageStream } from './message-stream.js';
import * as boxes from './mailboxes.js';
import {
  closeRest, FETCH_BATCH, formatInternalDate, LoadedMessage, MAX_STREAMED_HEADER, needsBody, needsHead, parseDateTime, parseFetchItems, partial, setsSeen,
  STREAM_MIN, streamable, type FetchItem, type FetchPiece, type StreamPiece,
} from './fetch.js';
import { astring, isAtom, list, mailboxOut, nstring, parseCommand, ParseError, quote, type Command, type Token } from './parser.js';
import { CommandReader, DEFAULT_LIMITS, type ReaderEvent, type ReaderLimits } from './reader.js';
import { matches, needs, parseSearch, type Candidate } from './search.js';
import { formatSet, parseSequenceSet, selectSeq, selectUids, type SeqRange } from './sequence.js';

export type ImapState = 'NOT_AUTHENTICATED' | 'AUTHENTICATED' | 'SELECTED' | 'LOGOUT';
export type ImapListenerKind = 'imap' | 'imaps';
export type LogRecord = Record<string, string | number | boolean | undefined>;

export interface ImapConfig {
  maildirRoot: string;
  secureContext?: SecureContext;
  /** LOGIN and password SASL mechanisms outside TLS (off: loopback is not secure). */
  allowPlaintextAuth?: boolean;
  verifyPassword?: PasswordVerifier;
  sasl: SaslRegistry;
  hostname?: string;
  mailboxFor: (principal: Principal, user: string) => string | undefined;
  localUser: (principal: Principal) => string | undefined;
  log: (record: LogRecord) => void;
  /** RFC 3501 §5.4: at least 30 minutes. */
  idleTimeoutMs?: number;
  maxAuthFailures?: number;
  limits?: ReaderLimits;
}

export interface ImapSessionInfo {
  listener: ImapListenerKind;
  remote: string;
  /** The admission layer's guard for this connection (../server.ts); none in unit tests. */
  guard?: ConnectionGuard;
}

/** RFC 3501 §7.1.5: BYE before the server closes; each deadline says which it was. */
const EXPIRY_TEXT: Record<ExpiryStatus, string> = {
  AUTH_TIMEOUT: '* BYE Disconnected: no login in time\r\n',
  COMMAND_TIMEOUT: '* BYE Disconnected: command not finished in time\r\n',
  IDLE_TIMEOUT: '* BYE Autologout; idle for too long\r\n',
};

const MAX_BAD = 20;
const TEXTS: LineConnectionTexts = {
  internalError: '* BYE Internal error\r\n',
  // RFC 3501 §5.4: the autologout timer is at least 30 minutes (the server's option).
  idle: '* BYE Autologout; idle for too long\r\n',
  encoding: 'latin1',
};
const SYNC_INTERVAL_MS = 1000;
const IDLE_POLL_MS = 500;

const ANY = new Set<ImapState>(['NOT_AUTHENTICATED', 'AUTHENTICATED', 'SELECTED']);
const NOAUTH = new Set<ImapState>(['NOT_AUTHENTICATED']);
const AUTH = new Set<ImapState>(['AUTHENTICATED', 'SELECTED']);
const SELECTED = new Set<ImapState>(['SELECTED']);
const ALLOWED: Record<string, ReadonlySet<ImapState>> = {
  CAPABILITY: ANY, NOOP: ANY, LOGOUT: ANY, ID: ANY,
  STARTTLS: NOAUTH, AUTHENTICATE: NOAUTH, LOGIN: NOAUTH,
  ENABLE: AUTH, SELECT: AUTH, EXAMINE: AUTH, CREATE: AUTH, DELETE: AUTH, RENAME: AUTH, SUBSCRIBE: AUTH, UNSUBSCRIBE: AUTH,
  LIST: AUTH, LSUB: AUTH, STATUS: AUTH, APPEND: AUTH, NAMESPACE: AUTH, IDLE: AUTH,
  CHECK: SELECTED, CLOSE: SELECTED, UNSELECT: SELECTED, EXPUNGE: SELECTED, SEARCH: SELECTED, FETCH: SELECTED, STORE: SELECTED,
  COPY: SELECTED, MOVE: SELECTED,
};
const UID_COMMANDS = new Set(['FETCH', 'SEARCH', 'STORE', 'COPY', 'MOVE', 'EXPUNGE']);

/** Replies with a tagged status; thrown by handlers. */
class Reply extends Error {
  constructor(readonly status: 'NO' | 'BAD', readonly text: string) {
    super(text);
  }
}

interface Selected {
  name: string;
  folder: Folder;
  readOnly: boolean;
  /** This session's messages, in message-number order. */
  view: ImapMessage[];
  /** modseq of each view entry as last told to the client. */
  told: Map<ImapMessage, number>;
  recent: Set<number>;
  /** The view's UIDs, for UID sets; rebuilt when the view changes. */
  uids?: Uint32Array;
  generation: number;
  lastSync: number;
}

export class ImapSession extends MailSession<ReaderEvent> {
  state: ImapState = 'NOT_AUTHENTICATED';
  private root?: string;
  private sel?: Selected;
  private bad = 0;
  private commands = 0;
  private fetched = 0;
  private tag = '*';

  constructor(socket: Duplex, private readonly config: ImapConfig, private readonly info: ImapSessionInfo) {
    // The reader asks for "+" continuations (synchronizing literals) through the session, which exists only after super().
    const continuation = { send: () => {} };
    super({
      socket, tlsActive: info.listener === 'imaps', idleTimeoutMs: config.idleTimeoutMs ?? 30 * 60 * 1000,
      reader: new CommandReader(config.limits ?? DEFAULT_LIMITS, () => continuation.send()), texts: TEXTS,
      log: config.log, listener: info.listener, remote: info.remote, guard: info.guard,
    });
    continuation.send = () => this.send('+ OK\r\n');
    // RFC 3501 §5.4: an autologout timer of at least 30 minutes (IDLE clients re-issue it every 29).
    info.guard?.setIdleTimeout(config.idleTimeoutMs ?? 30 * 60 * 1000);
  }

  /** The admission layer's deadline hook: say BYE and close. */
  expire(status: ExpiryStatus): void {
    this.expired(status.toLowerCase(), EXPIRY_TEXT[status]);
  }

  start(): void {
    this.begin(`* OK [CAPABILITY ${this.capabilities().join(' ')}] kpop IMAP4rev1 ready\r\n`);
  }

  protected async ended(): Promise<void> {
    this.deselect();
    this.logSession({ commands: this.commands, fetched: this.fetched });
  }

  // ---- capabilities --------------------------------------------------------

  private passwordsAllowed(): boolean {
    return this.tlsActive || !!this.config.allowPlaintextAuth;
  }

  private capabilities(): string[] {
    const caps = ['IMAP4rev1', 'SASL-IR', 'LITERAL+', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'MOVE', 'CHILDREN'];
    if (this.state === 'NOT_AUTHENTICATED') {
      if (this.config.secureContext && !this.tlsActive) caps.push('STARTTLS');
      for (const m of this.config.sasl.offered(this.passwordsAllowed())) caps.push('AUTH=' + m);
      if (!this.passwordsAllowed() || !this.config.verifyPassword) caps.push('LOGINDISABLED');
    }
    return caps;
  }

  // ---- dispatch --------------------------------------------------------------

  protected async handle(e: ReaderEvent): Promise<void> {
    if (e.kind === 'too-long') {
      this.send(`${e.tag ?? '*'} BAD [TOOBIG] Command line too long\r\n`);
      return this.countBad();
    }
    if (e.kind === 'literal-too-big') {
      if (!e.sync) {
        // RFC 7888 §4: the literal is already on its way; only closing stops it.
        this.send(`* BYE [TOOBIG] Literal of ${e.size} octets is too big\r\n`);
        this.endReason = 'literal-too-big';
        return this.destroy();
      }
      this.send(`${e.tag ?? '*'} NO [TOOBIG] Literal of ${e.size} octets is too big\r\n`);
      return this.countBad();
    }
    let cmd: Command;
    try {
      // mutt sends "a0000 AUTHENTICATE CRAM-MD5 " (a trailing space) when it has no initial response.
      const data = e.data.length > 1 && e.data[e.data.length - 1] === 0x20 && /^\S+ AUTHENTICATE \S+ $/i.test(e.data.toString('latin1'))
        ? e.data.subarray(0, e.data.length - 1) : e.data;
      cmd = parseCommand(data);
    } catch (err) {
      const tag = (err as { tag?: string }).tag ?? '*';
      this.send(`${tag} BAD ${(err as Error).message}\r\n`);
      return this.countBad();
    }
    this.commands++;
    this.tag = cmd.tag;
    const allowed = ALLOWED[cmd.name];
    const handler = (this as unknown as Record<string, ((c: Command) => Promise<void> | void) | undefined>)[`cmd_${cmd.name}`];
    if (!allowed || !handler || (cmd.uid && !UID_COMMANDS.has(cmd.name))) {
      this.send(`${cmd.tag} BAD Unknown command\r\n`);
      return this.countBad();
    }
    if (!allowed.has(this.state)) {
      this.send(`${cmd.tag} BAD Command not allowed in this state\r\n`);
      return this.countBad();
    }
    try {
      await handler.call(this, cmd);
    } catch (err) {
      if (err instanceof Reply) {
        this.send(`${cmd.tag} ${err.status} ${err.text}\r\n`);
        if (err.status === 'BAD') this.countBad();
        return;
      }
      if (err instanceof ParseError) {
        this.send(`${cmd.tag} BAD ${err.message}\r\n`);
        return this.countBad();
      }
      if (err instanceof FolderError) {
        this.send(`${cmd.tag} NO [${err.code}] ${err.message.replace(/[\r\n]/g, ' ')}\r\n`);
        return;
      }
      if (err instanceof boxes.MailboxNameError) {
        this.send(`${cmd.tag} NO [CANNOT] Invalid mailbox name\r\n`);
        return;
      }
      this.failed(err as Error);
      this.send(`${cmd.tag} NO [SERVERBUG] Internal error\r\n`);
    }
  }

  private countBad(): void {
    if (++this.bad > MAX_BAD) {
      this.send('* BYE Too many invalid commands\r\n');
      this.endReason = 'bad-commands';
      this.close();
    }
  }

  private ok(text: string, code?: string): void {
    this.send(`${this.tag} OK ${code ? `[${code}] ` : ''}${text}\r\n`);
  }

  private noArgs(c: Command): void {
    if (c.args.length) throw new ParseError('Unexpected arguments');
  }

  // ---- any state (§6.1) ------------------------------------------------------

  cmd_CAPABILITY(c: Command): void {
    this.noArgs(c);
    this.send(`* CAPABILITY ${this.capabilities().join(' ')}\r\n`);
    this.ok('Capability completed.');
  }

  async cmd_NOOP(c: Command): Promise<void> {
    this.noArgs(c);
    await this.syncSelected(true, true);
    this.ok('NOOP completed.');
  }

  cmd_LOGOUT(c: Command): void {
    this.noArgs(c);
    this.send('* BYE Logging out\r\n');
    this.ok('Logout completed.');
    this.state = 'LOGOUT';
    this.endReason = 'logout';
    this.close();
  }

  /** RFC 2971: the client's ID is logged (escaped by JSON), ours is a name. */
  cmd_ID(c: Command): void {
    const a = c.args[0];
    if (c.args.length !== 1 || (!isAtom(a, 'NIL') && a?.type !== 'list')) throw new ParseError('ID takes a list or NIL');
    if (a.type === 'list') {
      if (a.items.length > 60) throw new ParseError('Too many ID fields');
      const fields: string[] = [];
      for (let i = 0; i + 1 < a.items.length; i += 2) fields.push(`${astring(a.items[i]).slice(0, 30)}=${String(a.items[i + 1]?.type === 'atom' ? 'NIL' : astring(a.items[i + 1])).slice(0, 100)}`);
      this.config.log({ event: 'id', session: this.id, client: fields.join(' ').slice(0, 500) });
    }
    this.send('* ID ("name" "kpop" "vendor" "kpop")\r\n');
    this.ok('ID completed.');
  }

  // ---- not authenticated (§6.2) -----------------------------------------------

  cmd_STARTTLS(c: Command): void {
    this.noArgs(c);
    if (!this.config.secureContext || this.tlsActive) throw new Reply('BAD', 'STARTTLS not available');
    this.ok('Begin TLS negotiation now.');
    this.startTls(this.config.secureContext);
  }

  async cmd_LOGIN(c: Command): Promise<void> {
    if (c.args.length !== 2) throw new ParseError('LOGIN needs a user name and a password');
    const user = astring(c.args[0], 'user name');
    const password = astring(c.args[1], 'password');
    if (!this.passwordsAllowed()) throw new Reply('NO', '[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections; use STARTTLS');
    if (!this.config.verifyPassword) throw new Reply('NO', '[CANNOT] Password logins are not available; use AUTHENTICATE GSSAPI');
    let principal: Principal;
    try {
      principal = await this.config.verifyPassword(user, password);
    } catch (e) {
      return this.authFailed('LOGIN', user, e);
    }
    await this.authorized(principal, user, 'LOGIN');
  }

  async cmd_AUTHENTICATE(c: Command): Promise<void> {
    if (c.args.length < 1 || c.args.length > 2) throw new ParseError('AUTHENTICATE needs a mechanism');
    const mechName = astring(c.args[0], 'mechanism').toUpperCase();
    const factory = this.config.sasl.get(mechName, this.passwordsAllowed());
    if (!factory) throw new Reply('NO', '[CANNOT] Unsupported authentication mechanism');
    let initial: Uint8Array | undefined;
    if (c.args.length === 2) {
      // RFC 4959: "=" is an empty initial response.
      const ir = astring(c.args[1]);
      initial = ir === '=' ? new Uint8Array(0) : decodeBase64(ir);
      if (!initial) return this.authFailed(mechName, undefined, new SaslError('Invalid base64 in initial response'), 'BAD');
    }
    const mech = factory.create({ tls: this.tlsActive, service: 'imap', hostname: this.config.hostname ?? 'localhost' });
    try {
      const result = await runSaslExchange(mech, initial, {
        challenge: async (data) => {
          this.send(`+ ${Buffer.from(data).toString('base64')}\r\n`);
          const e = await this.nextEvent();
          if (e === null) return null;
          if (e.kind !== 'command') return Symbol('too long');
          return e.data.toString('latin1');
        },
      });
      if (result.status === 'gone') return;
      if (result.status === 'aborted') throw new Reply('BAD', 'Authentication aborted by client');
      await this.saslDone(mechName, result.outcome);
    } catch (e) {
      if (e instanceof Reply) throw e;
      return this.authFailed(mechName, undefined, e);
    }
  }

  private async saslDone(mech: string, outcome: SaslOutcome): Promise<void> {
    const { principal, authzid, authcid } = outcome;
    if (!principal) {
      if (authzid && authzid !== authcid) return this.authFailed(mech, authcid, new SaslError(`${authcid} may not act as ${authzid}`));
      return this.openUser(authcid, mech, undefined);
    }
    const user = authzid || this.config.localUser(principal);
    if (!user) return this.authFailed(mech, undefined, new SaslError(`No mailbox for ${formatPrincipal(principal)}`));
    return this.authorized(principal, user, mech);
  }

  private authFailed(mech: string, user: string | undefined, e: unknown, status: 'NO' | 'BAD' = 'NO'): void {
    const temporary = (e instanceof SaslError && e.temporary) || (e instanceof MaildirError && e.temporary);
    const reason = e instanceof Error ? e.message : String(e);
    this.config.log({ event: 'auth', session: this.id, listener: this.info.listener, remote: this.info.remote, mech, user, ok: false, reason });
    this.send(temporary ? `${this.tag} NO [UNAVAILABLE] Authentication temporarily unavailable\r\n` : `${this.tag} ${status} [AUTHENTICATIONFAILED] Authentication failed.\r\n`);
    if (++this.authFailures >= (this.config.maxAuthFailures ?? 3)) {
      this.send('* BYE Too many authentication failures\r\n');
      this.endReason = 'auth-failures';
      this.close();
    }
  }

  private async authorized(principal: Principal, requested: string, mech: string): Promise<void> {
    const user = this.config.mailboxFor(principal, requested);
    if (user === undefined || !isValidUserName(user)) {
      return this.authFailed(mech, requested, new SaslError(`${formatPrincipal(principal)} may not access mailbox ${requested}`));
    }
    return this.openUser(user, mech, principal);
  }

  private async openUser(user: string, mech: string, principal: Principal | undefined): Promise<void> {
    if (!isValidUserName(user)) return this.authFailed(mech, user, new SaslError('invalid mailbox name'));
    const root = maildirPath(this.config.maildirRoot, user);
    try {
      await ensureMaildir(root);
    } catch (e) {
      this.config.log({ event: 'auth', session: this.id, listener: this.info.listener, mech, user, ok: false, reason: (e as Error).message });
      throw new Reply('NO', '[UNAVAILABLE] Cannot open the mailbox');
    }
    if (this.closed) return;
    this.user = user;
    this.root = root;
    this.principal = principal;
    this.mech = mech;
    this.state = 'AUTHENTICATED';
    this.guard?.authenticated();
    this.config.log({ event: 'auth', session: this.id, listener: this.info.listener, remote: this.info.remote, mech, user, principal: principal && formatPrincipal(principal), ok: true });
    this.ok('Logged in', `CAPABILITY ${this.capabilities().join(' ')}`);
  }

  // ---- authenticated (§6.3) ---------------------------------------------------

  /** RFC 5161: nothing we have needs enabling; UTF8=ACCEPT etc. are not advertised, so none is enabled. */
  cmd_ENABLE(c: Command): void {
    if (!c.args.length) throw new ParseError('ENABLE needs a capability');
    this.send('* ENABLED\r\n');
    this.ok('ENABLE completed.');
  }

  cmd_NAMESPACE(c: Command): void {
    this.noArgs(c);
    this.send(`* NAMESPACE (("" "${boxes.DELIMITER}")) NIL NIL\r\n`);
    this.ok('NAMESPACE completed.');
  }

  private mailboxName(t: Token | undefined): string {
    const name = boxes.normalizeName(astring(t, 'mailbox name'));
    if (!boxes.validName(name)) throw new Reply('NO', '[CANNOT] Invalid mailbox name');
    return name;
  }

  cmd_SELECT(c: Command): Promise<void> {
    return this.select(c, false);
  }

  cmd_EXAMINE(c: Command): Promise<void> {
    return this.select(c, true);
  }

  private async select(c: Command, readOnly: boolean): Promise<void> {
    if (c.args.length !== 1) throw new ParseError('Missing mailbox name');
    const name = this.mailboxName(c.args[0]);
    // §6.3.1: a failed SELECT leaves no mailbox selected.
    this.deselect();
    if (!(await boxes.exists(this.root!, name))) throw new Reply('NO', '[NONEXISTENT] Mailbox does not exist');
    const folder = await Folder.open(boxes.folderDir(this.root!, name));
    const from = readOnly ? folder.nextUid - 1 : await folder.claimRecent();
    const view = folder.messages.slice();
    const recent = new Set<number>();
    for (const m of view) if (m.uid > from) recent.add(m.uid);
    const told = new Map<ImapMessage, number>();
    for (const m of view) told.set(m, m.modseq);
    this.sel = { name, folder, readOnly, view, told, recent, generation: folder.generation, lastSync: Date.now() };
    this.state = 'SELECTED';
    const flags = [...SYSTEM_FLAGS, ...folder.keywordList].join(' ');
    let out = `* FLAGS (${flags})\r\n`;
    out += readOnly
      ? '* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n'
      : `* OK [PERMANENTFLAGS (${flags}${folder.keywordRoom ? ' \\*' : ''})] Flags permitted.\r\n`;
    out += `* ${view.length} EXISTS\r\n* ${recent.size} RECENT\r\n`;
    const unseen = view.findIndex((m) => !m.flags.has('\\Seen'));
    if (unseen !== -1) out += `* OK [UNSEEN ${unseen + 1}] First unseen.\r\n`;
    out += `* OK [UIDVALIDITY ${folder.uidValidity}] UIDs valid\r\n* OK [UIDNEXT ${folder.nextUid}] Predicted next UID\r\n`;
    this.send(out);
    this.ok(`${readOnly ? 'Examine' : 'Select'} completed.`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
  }

  private deselect(): void {
    if (!this.sel) return;
    this.sel.folder.release();
    this.sel = undefined;
    if (this.state === 'SELECTED') this.state = 'AUTHENTICATED';
  }

  async cmd_CREATE(c: Command): Promise<void> {
    if (c.args.length !== 1) throw new ParseError('Missing mailbox name');
    // §6.3.3: a trailing delimiter only says the client means to make children.
    let raw = astring(c.args[0], 'mailbox name');
    if (raw.endsWith(boxes.DELIMITER)) raw = raw.slice(0, -1);
    const name = this.mailboxName({ type: 'atom', value: raw });
    if (name === 'INBOX' || (await boxes.exists(this.root!, name))) throw new Reply('NO', '[ALREADYEXISTS] Mailbox exists');
    if (!boxes.validName(name)) throw new Reply('NO', '[CANNOT] Invalid mailbox name');
    // Superior names are created too (§6.3.3), as plain folders.
    const parts = name.split(boxes.DELIMITER);
    for (let i = 1; i < parts.length; i++) {
      const sup = parts.slice(0, i).join(boxes.DELIMITER);
      if (sup !== 'INBOX' && !(await boxes.exists(this.root!, sup))) await boxes.createMailbox(this.root!, sup);
    }
    await boxes.createMailbox(this.root!, name);
    this.ok('Create completed.');
  }

  async cmd_DELETE(c: Command): Promise<void> {
    if (c.args.length !== 1) throw new ParseError('Missing mailbox name');
    const name = this.mailboxName(c.args[0]);
    if (name === 'INBOX') throw new Reply('NO', '[CANNOT] INBOX cannot be deleted');
    if (!(await boxes.exists(this.root!, name))) throw new Reply('NO', '[NONEXISTENT] Mailbox does not exist');
    const names = await boxes.listNames(this.root!);
    // §6.3.4: a folder with children can't go (we have no \Noselect folders to leave behind).
    if (names.some((n) => n.startsWith(name + boxes.DELIMITER))) throw new Reply('NO', '[INUSE] Mailbox has children, delete them first');
    if (this.sel?.name === name) this.deselect();
    await boxes.deleteMailbox(this.root!, name);
    this.ok('Delete completed.');
  }

  async cmd_RENAME(c: Command): Promise<void> {
    if (c.args.length !== 2) throw new ParseError('RENAME needs two names');
    const from = this.mailboxName(c.args[0]);
    const to = this.mailboxName(c.args[1]);
    if (!(await boxes.exists(this.root!, from))) throw new Reply('NO', '[NONEXISTENT] Mailbox does not exist');
    if (to === 'INBOX' || (await boxes.exists(this.root!, to))) throw new Reply('NO', '[ALREADYEXISTS] Target mailbox exists');
    if (from === 'INBOX') {
      // §6.3.5: renaming INBOX moves its messages to the new name and leaves INBOX empty.
      await boxes.createMailbox(this.root!, to);
      const src = await Folder.open(this.root!);
      const dst = await Folder.open(boxes.folderDir(this.root!, to));
      try {
        const list = src.messages.slice();
        for (const m of list) await src.copyTo(m, dst);
        await src.expunge(list);
      } finally {
        src.release();
        dst.release();
      }
    } else {
      if (this.sel && (this.sel.name === from || this.sel.name.startsWith(from + boxes.DELIMITER))) this.deselect();
      const parts = to.split(boxes.DELIMITER);
      for (let i = 1; i < parts.length; i++) {
        const sup = parts.slice(0, i).join(boxes.DELIMITER);
        if (sup !== 'INBOX' && !(await boxes.exists(this.root!, sup))) await boxes.createMailbox(this.root!, sup);
      }
      await boxes.renameMailbox(this.root!, from, to);
    }
    this.ok('Rename completed.');
  }

  async cmd_SUBSCRIBE(c: Command): Promise<void> {
    if (c.args.length !== 1) throw new ParseError('Missing mailbox name');
    const name = this.mailboxName(c.args[0]);
    const subs = await boxes.readSubscriptions(this.root!);
    if (!subs.includes(name)) await boxes.writeSubscriptions(this.root!, [...subs, name]);
    this.ok('Subscribe completed.');
  }

  async cmd_UNSUBSCRIBE(c: Command): Promise<void> {
    if (c.args.length !== 1) throw new ParseError('Missing mailbox name');
    const name = this.mailboxName(c.args[0]);
    const subs = await boxes.readSubscriptions(this.root!);
    await boxes.writeSubscriptions(this.root!, subs.filter((s) => s !== name));
    this.ok('Unsubscribe completed.');
  }

  cmd_LIST(c: Command): Promise<void> {
    return this.list(c, 'LIST');
  }

  cmd_LSUB(c: Command): Promise<void> {
    return this.list(c, 'LSUB');
  }

  private async list(c: Command, verb: 'LIST' | 'LSUB'): Promise<void> {
    if (c.args.length !== 2) throw new ParseError(`${verb} needs a reference and a pattern`);
    const ref = astring(c.args[0], 'reference');
    const pattern = astring(c.args[1], 'pattern');
    let out = '';
    if (pattern === '' && verb === 'LIST') {
      // §6.3.8: the hierarchy delimiter and root.
      out += `* LIST (\\Noselect) "${boxes.DELIMITER}" ""\r\n`;
    } else {
      const names = await boxes.listNames(this.root!);
      const match = boxes.patternMatcher(ref, pattern);
      const subs = verb === 'LSUB' ? new Set(await boxes.readSubscriptions(this.root!)) : undefined;
      for (const n of names) {
        if (!match(n) || (subs && !subs.has(n))) continue;
        const children = names.some((x) => x.startsWith(n + boxes.DELIMITER));
        out += `* ${verb} (${children ? '\\HasChildren' : '\\HasNoChildren'}) "${boxes.DELIMITER}" ${mailboxOut(n)}\r\n`;
      }
    }
    this.send(out);
    this.ok(`${verb} completed.`);
  }

  async cmd_STATUS(c: Command): Promise<void> {
    if (c.args.length !== 2) throw new ParseError('STATUS needs a mailbox and items');
    const name = this.mailboxName(c.args[0]);
    const items = list(c.args[1], 'status items').map((t) => astring(t).toUpperCase());
    if (!items.length || items.some((i) => !['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN'].includes(i))) throw new ParseError('Bad STATUS item');
    if (!(await boxes.exists(this.root!, name))) throw new Reply('NO', '[NONEXISTENT] Mailbox does not exist');
    const folder = await Folder.open(boxes.folderDir(this.root!, name));
    try {
      const msgs = folder.messages;
      const v: Record<string, number> = {
        MESSAGES: msgs.length,
        RECENT: this.sel?.folder === folder ? this.sel.recent.size : 0,
        UIDNEXT: folder.nextUid,
        UIDVALIDITY: folder.uidValidity,
        UNSEEN: msgs.filter((m) => !m.flags.has('\\Seen')).length,
      };
      this.send(`* STATUS ${mailboxOut(name)} (${items.map((i) => `${i} ${v[i]}`).join(' ')})\r\n`);
    } finally {
      folder.release();
    }
    this.ok('Status completed.');
  }

  async cmd_APPEND(c: Command): Promise<void> {
    const args = c.args.slice();
    if (args.length < 2 || args.length > 4) throw new ParseError('APPEND needs a mailbox and a message');
    const name = this.mailboxName(args.shift());
    const msg = args.pop()!;
    if (msg.type !== 'string' || !msg.literal) throw new ParseError('APPEND needs the message as a literal');
    let flags = new Set<string>();
    let date: Date | undefined;
    for (const a of args) {
      if (a.type === 'list') flags = this.parseFlags(a.items);
      else {
        const d = parseDateTime(astring(a));
        if (!d) throw new ParseError('Bad date-time');
        date = d;
      }
    }
    if (!(await boxes.exists(this.root!, name))) throw new Reply('NO', '[TRYCREATE] Mailbox does not exist');
    if (msg.value.length === 0) throw new Reply('NO', 'Empty message');
    const folder = await Folder.open(boxes.folderDir(this.root!, name));
    let uid: number;
    try {
      uid = await folder.append(msg.value, flags, date);
    } finally {
      folder.release();
    }
    await this.syncSelected(false, true);
    this.ok('Append completed.', `APPENDUID ${folder.uidValidity} ${uid}`);
  }

  /** IDLE (RFC 2177): changes are told as they happen, until DONE. */
  async cmd_IDLE(c: Command): Promise<void> {
    this.noArgs(c);
    this.send('+ idling\r\n');
    const sel = this.sel;
    let wakeFn = () => {};
    const stopWatch = sel?.folder.onChange(() => wakeFn());
    const poll = setInterval(() => wakeFn(), IDLE_POLL_MS);
    try {
      for (;;) {
        await this.syncSelected(true, true);
        const { promise, wake } = this.nextEventOrWake();
        wakeFn = wake;
        const e = await promise;
        if (e === 'wake') continue;
        if (e === null) return;
        if (e.kind === 'command' && e.data.toString('latin1').trim().toUpperCase() === 'DONE') break;
        throw new Reply('BAD', 'Expected DONE');
      }
    } finally {
      clearInterval(poll);
      stopWatch?.();
    }
    await this.syncSelected(true, true);
    this.ok('IDLE terminated.');
  }

  // ---- selected (§6.4) --------------------------------------------------------

  async cmd_CHECK(c: Command): Promise<void> {
    this.noArgs(c);
    await this.syncSelected(true, true);
    this.ok('Check completed.');
  }

  async cmd_CLOSE(c: Command): Promise<void> {
    this.noArgs(c);
    const sel = this.sel!;
    // §6.4.2: expunge silently, then leave the selected state.
    if (!sel.readOnly) await sel.folder.expunge(sel.view.filter((m) => m.flags.has('\\Deleted') && !m.expunged));
    this.deselect();
    this.ok('Close completed.');
  }

  cmd_UNSELECT(c: Command): void {
    this.noArgs(c);
    this.deselect();
    this.ok('Unselect completed.');
  }

  async cmd_EXPUNGE(c: Command): Promise<void> {
    const sel = this.sel!;
    if (sel.readOnly) throw new Reply('NO', '[READ-ONLY] Mailbox is read-only');
    let targets = sel.view.filter((m) => m.flags.has('\\Deleted'));
    if (c.uid) {
      // RFC 4315 §2.1: only \Deleted messages in the set.
      if (c.args.length !== 1) throw new ParseError('UID EXPUNGE needs a UID set');
      const set = parseSequenceSet(astring(c.args[0]));
      const chosen = new Set(this.pick(set, true).map((i) => sel.view[i]!));
      targets = targets.filter((m) => chosen.has(m));
    } else this.noArgs(c);
    await sel.folder.expunge(targets);
    await this.syncSelected(true, true);
    this.ok('Expunge completed.');
  }

  /** View indexes a set names (message numbers or UIDs). */
  private pick(set: SeqRange[], uid: boolean): number[] {
    const view = this.sel!.view;
    if (uid) {
      let uids = this.sel!.uids;
      if (!uids || uids.length !== view.length) {
        uids = new Uint32Array(view.length);
        for (let i = 0; i < view.length; i++) uids[i] = view[i]!.uid;
        this.sel!.uids = uids;
      }
      return selectUids(set, uids);
    }
    for (const [a, b] of set) if ((a !== -1 && a > view.length) || (b !== -1 && b > view.length) || view.length === 0) {
      throw new Reply('BAD', 'Invalid message sequence number');
    }
    return selectSeq(set, view.length).map((n) => n - 1);
  }

  async cmd_SEARCH(c: Command): Promise<void> {
    const { key } = (() => {
      try {
        return parseSearch(c.args);
      } catch (e) {
        if ((e as { badCharset?: boolean }).badCharset) throw new Reply('NO', '[BADCHARSET (US-ASCII UTF-8)] Unsupported charset');
        throw e;
      }
    })();
    const sel = this.sel!;
    await this.syncSelected(false, c.uid);
    const need = needs(key);
    const view = sel.view;
    const out: number[] = [];
    const maxUid = view.length ? view[view.length - 1]!.uid : 0;
    for (let i = 0; i < view.length; i++) {
      const m = view[i]!;
      if (m.expunged) continue;
      const cand: Candidate = { seq: i + 1, uid: m.uid, flags: m.flags, recent: sel.recent.has(m.uid), size: m.size >= 0 ? m.size : (await sel.folder.sizeOf(m)) ?? 0, maxSeq: view.length, maxUid };
      if (need.date) cand.internalDate = await sel.folder.internalDate(m);
      if (need.message) {
        const buf = await sel.folder.read(m);
        if (!buf) continue;
        cand.message = new LoadedMessage(buf);
      }
      try {
        if (matches(key, cand)) out.push(c.uid ? m.uid : i + 1);
      } catch {
        // A message we cannot parse matches nothing; the search goes on.
      }
    }
    this.send(`* SEARCH${out.length ? ' ' + out.join(' ') : ''}\r\n`);
    this.ok('Search completed.');
  }

  async cmd_FETCH(c: Command): Promise<void> {
    if (c.args.length !== 2) throw new ParseError('FETCH needs a set and items');
    const set = parseSequenceSet(astring(c.args[0], 'sequence set'));
    const items = parseFetchItems([c.args[1]!]);
    if (c.uid && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID' });
    const sel = this.sel!;
    await this.syncSelected(false, c.uid);
    const idx = this.pick(set, c.uid);
    const body = needsBody(items);
    const seen = setsSeen(items) && !sel.readOnly;
    let missing = 0;
    // Responses are gathered and written in batches of about 128 KiB: one
    // write (and one Buffer) per message costs more than the message for
    // FETCH 1:* (UID FLAGS). Items known without the file (UID, FLAGS, a
    // size from the name's W=) are formatted synchronously into one string.
    const quick = items.every((it) => it.kind === 'UID' || it.kind === 'FLAGS' || it.kind === 'RFC822.SIZE');
    const out: Buffer[] = [];
    let pending = 0;
    let text = '';
    const view = sel.view;
    for (const i of idx) {
      const m = view[i]!;
      if (quick && (m.size >= 0 || !items.some((it) => it.kind === 'RFC822.SIZE'))) {
        if (m.expunged) {
          missing++;
          continue;
        }
        text += this.quickFetch(i + 1, m, items);
        if (text.length < FETCH_BATCH) continue;
        out.push(Buffer.from(text, 'latin1'));
        pending += text.length;
        text = '';
      } else {
        const r = await this.fetchOne(i + 1, m, items, body, seen);
        if (!r) {
          missing++;
          continue;
        }
        if (text) {
          out.push(Buffer.from(text, 'latin1'));
          pending += text.length;
          text = '';
        }
        for (const b of r) {
          if (Buffer.isBuffer(b)) {
            out.push(b);
            pending += b.length;
            continue;
          }
          // A literal read from the file: what is gathered goes first.
          if (out.length) await this.writeAll(out);
          out.length = 0;
          pending = 0;
          if ('close' in b) await b.close.close();
          else if (!(await this.sendRange(m, b))) {
            await closeRest(r);
            return;
          }
        }
      }
      if (pending >= FETCH_BATCH) {
        await this.writeAll(out);
        out.length = 0;
        pending = 0;
        if (this.closed) return;
      }
    }
    if (text) out.push(Buffer.from(text, 'latin1'));
    if (out.length) await this.writeAll(out);
    if (missing) throw new Reply('NO', '[EXPUNGEISSUED] Some of the requested messages no longer exist');
    this.ok('Fetch completed.');
  }

  /** A FETCH response of items known without the file (UID, FLAGS, RFC822.SIZE from W=), in the order asked. */
  private quickFetch(seq: number, m: ImapMessage, items: FetchItem[]): string {
    let line = `* ${seq} FETCH (`;
    for (let k = 0; k < items.length; k++) {
      const kind = items[k]!.kind;
      if (k) line += ' ';
      if (kind === 'UID') line += `UID ${m.uid}`;
      else if (kind === 'FLAGS') {
        line += `FLAGS (${this.flagList(m)})`;
        this.sel!.told.set(m, m.modseq);
      } else line += `RFC822.SIZE ${m.size}`;
    }
    this.fetched++;
    return line + ')\r\n';
  }

  /**
   * Send a streamed literal with backpressure. The literal's length is
   * already on the wire: if the file does not give exactly those octets
   * (it changed under us), the only truthful answer left is to hang up
   * (issue 13: never a wrong body). False when the connection is gone.
   */
  private async sendRange(m: ImapMessage, piece: StreamPiece): Promise<boolean> {
    try {
      for await (const chunk of piece.stream.range(piece.start, piece.length)) {
        if (this.closed) return false;
        await this.write(chunk);
      }
      return !this.closed;
    } catch (e) {
      const changed = e instanceof MessageChangedError;
      this.config.log({ event: 'error', session: this.id, status: changed ? 'MESSAGE_CHANGED' : 'READ_FAILED', error: `FETCH of UID ${m.uid}: ${(e as Error).message}` });
      this.endReason = changed ? 'message-changed' : 'read-error';
      this.destroy();
      return false;
    }
  }

  /** Several buffers in one go (corked: one segment where they fit), then backpressure. */
  private writeAll(bufs: Buffer[]): Promise<void> {
    if (bufs.length === 1) return this.write(bufs[0]!);
    const small = bufs.every((b) => b.length < 512);
    if (small) return this.write(Buffer.concat(bufs));
    const s = this.socket as { cork?: () => void; uncork?: () => void };
    s.cork?.();
    for (let i = 0; i < bufs.length - 1; i++) this.socket.write(bufs[i]!);
    const last = this.write(bufs[bufs.length - 1]!);
    s.uncork?.();
    return last;
  }

  /**
   * One message's FETCH response (pieces: text, literals, and literals
   * still to be read from the file), or undefined when it is gone. A
   * message fetched whole (BODY[], BODY.PEEK[], RFC822, with or without a
   * partial) and nothing that needs it parsed is streamed from its file
   * unless it is known to be small; anything else is read into memory.
   */
  private async fetchOne(seq: number, m: ImapMessage, items: FetchItem[], body: boolean, seen: boolean): Promise<FetchPiece[] | undefined> {
    const sel = this.sel!;
    if (m.expunged) return undefined;
    let msg: LoadedMessage | undefined;
    let stream: MessageStream | undefined;
    let head: LoadedMessage | undefined;
    if (body) {
      try {
        if (items.every(streamable) && !(m.fileSize >= 0 && m.fileSize <= STREAM_MIN)) {
          stream = await sel.folder.openStream(m);
          if (!stream) return undefined;
          if (items.some(needsHead)) {
            const h = await stream.head(MAX_STREAMED_HEADER);
            // No header end in the first MiB: parsed whole, as any other message.
            if (h) head = new LoadedMessage(h);
            else {
              await stream.close();
              stream = undefined;
            }
          }
        }
        if (!stream) {
          const buf = await sel.folder.read(m);
          if (!buf) return undefined;
          msg = new LoadedMessage(buf);
        }
      } catch (e) {
        this.config.log({ event: 'error', session: this.id, error: `read ${m.uid}: ${(e as Error).message}` });
        return undefined;
      }
    }
    try {
      const pieces = await this.fetchPieces(seq, m, items, seen, msg, stream, head);
      if (!pieces) await stream?.close();
      return pieces;
    } catch (e) {
      await stream?.close();
      throw e;
    }
  }

  /** The response's pieces from the message in memory (msg) or from its file (stream, with its header in head when needed). */
  private async fetchPieces(
    seq: number, m: ImapMessage, items: FetchItem[], seen: boolean,
    msg: LoadedMessage | undefined, stream: MessageStream | undefined, head: LoadedMessage | undefined,
  ): Promise<FetchPiece[] | undefined> {
    const sel = this.sel!;
    if (seen && !m.flags.has('\\Seen')) {
      const flags = new Set(m.flags);
      flags.add('\\Seen');
      await sel.folder.setFlags(m, flags);
      if (!items.some((i) => i.kind === 'FLAGS')) items = [...items, { kind: 'FLAGS' }];
    }
    const parts: FetchPiece[] = [];
    let text = `* ${seq} FETCH (`;
    let first = true;
    const add = (s: string) => {
      text += (first ? '' : ' ') + s;
      first = false;
    };
    const addLiteral = (label: string, data: Buffer) => {
      add(`${label} {${data.length}}\r\n`);
      parts.push(Buffer.from(text, 'latin1'), data);
      text = '';
    };
    /** The whole message or its text (after the header), or a partial of that, from memory or from the file. */
    const addMessage = (label: string, what: 'whole' | 'text', p: [number, number] | undefined) => {
      if (msg) {
        const cut = partial(what === 'text' ? msg.text() : msg.buf, p);
        return addLiteral(label + cut.suffix, cut.data);
      }
      const from = what === 'text' ? head!.buf.length : 0;
      const available = stream!.size - from;
      const start = p ? p[0] : 0;
      const length = p ? Math.max(0, Math.min(p[1], available - start)) : available;
      add(`${label}${p ? `<${start}>` : ''} {${length}}\r\n`);
      parts.push(Buffer.from(text, 'latin1'), { stream: stream!, start: from + start, length });
      text = '';
    };
    const parsed = msg ?? head;
    for (const it of items) {
      switch (it.kind) {
        case 'UID': add(`UID ${m.uid}`); break;
        case 'FLAGS': add(`FLAGS (${this.flagList(m)})`); sel.told.set(m, m.modseq); break;
        case 'INTERNALDATE': {
          const d = await sel.folder.internalDate(m);
          if (!d) return undefined;
          add(`INTERNALDATE ${formatInternalDate(d)}`);
          break;
        }
        case 'RFC822.SIZE': {
          const size = stream ? stream.size : await sel.folder.sizeOf(m);
          if (size === undefined) return undefined;
          add(`RFC822.SIZE ${size}`);
          break;
        }
        case 'ENVELOPE': add(`ENVELOPE ${parsed!.envelope()}`); break;
        case 'BODY': add(`BODY ${msg!.bodyStructure(false)}`); break;
        case 'BODYSTRUCTURE': add(`BODYSTRUCTURE ${msg!.bodyStructure(true)}`); break;
        case 'RFC822': addMessage('RFC822', 'whole', undefined); break;
        case 'RFC822.HEADER': addLiteral('RFC822.HEADER', parsed!.header()); break;
        case 'RFC822.TEXT': addMessage('RFC822.TEXT', 'text', undefined); break;
        case 'BODY[]': {
          if (!it.section.path.length && (!it.section.text || it.section.text === 'TEXT')) {
            addMessage(it.label, it.section.text ? 'text' : 'whole', it.partial);
            break;
          }
          const p = partial(parsed!.section(it.section), it.partial);
          addLiteral(it.label + p.suffix, p.data);
          break;
        }
      }
    }
    parts.push(Buffer.from(text + ')\r\n', 'latin1'));
    if (stream) parts.push({ close: stream });
    this.fetched++;
    return parts;
  }

  private flagList(m: ImapMessage): string {
    const text = flagText(m);
    if (!this.sel!.recent.has(m.uid)) return text;
    return text ? `${text} \\Recent` : '\\Recent';
  }

  private parseFlags(items: Token[]): Set<string> {
    const out = new Set<string>();
    for (const t of items) {
      if (t.type !== 'atom') throw new ParseError('Bad flag');
      const f = t.value;
      if (f.startsWith('\\')) {
        const sys = SYSTEM_FLAGS.find((s) => s.toLowerCase() === f.toLowerCase());
        if (!sys) {
          if (f.toLowerCase() === '\\recent') continue;
          throw new ParseError('Invalid system flag');
        }
        out.add(sys);
      } else {
        if (!/^[\x21\x23-\x27\x2b-\x5b\x5e-\x7a\x7c\x7e]+$/.test(f) || f.length > 100) throw new ParseError('Invalid keyword');
        out.add(this.sel ? this.sel.folder.canonical(f) : f);
      }
    }
    return out;
  }

  async cmd_STORE(c: Command): Promise<void> {
    if (c.args.length !== 3) throw new ParseError('STORE needs a set, an item and flags');
    const sel = this.sel!;
    if (sel.readOnly) throw new Reply('NO', '[READ-ONLY] Mailbox is read-only');
    const set = parseSequenceSet(astring(c.args[0], 'sequence set'));
    const what = astring(c.args[1], 'item').toUpperCase();
    const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(what);
    if (!m) throw new ParseError('Bad STORE item');
    const flagsArg = c.args[2]!;
    const flags = this.parseFlags(flagsArg.type === 'list' ? flagsArg.items : [flagsArg]);
    const silent = !!m[2];
    await this.syncSelected(false, c.uid);
    const idx = this.pick(set, c.uid);
    let missing = 0;
    let out = '';
    for (const i of idx) {
      const msg = sel.view[i]!;
      if (msg.expunged) {
        missing++;
        continue;
      }
      let next: Set<string>;
      if (m[1] === '+') next = new Set([...msg.flags, ...flags]);
      else if (m[1] === '-') next = new Set([...msg.flags].filter((f) => !flags.has(f)));
      else next = new Set(flags);
      const ok = await sel.folder.setFlags(msg, next);
      if (!ok) {
        missing++;
        continue;
      }
      sel.told.set(msg, msg.modseq);
      if (!silent) out += `* ${i + 1} FETCH (${c.uid ? `UID ${msg.uid} ` : ''}FLAGS (${this.flagList(msg)}))\r\n`;
    }
    this.send(out);
    if (missing) throw new Reply('NO', '[EXPUNGEISSUED] Some of the messages no longer exist');
    this.ok('Store completed.');
  }

  cmd_COPY(c: Command): Promise<void> {
    return this.copy(c, false);
  }

  cmd_MOVE(c: Command): Promise<void> {
    return this.copy(c, true);
  }

  private async copy(c: Command, move: boolean): Promise<void> {
    if (c.args.length !== 2) throw new ParseError('COPY needs a set and a mailbox');
    const sel = this.sel!;
    if (move && sel.readOnly) throw new Reply('NO', '[READ-ONLY] Mailbox is read-only');
    const set = parseSequenceSet(astring(c.args[0], 'sequence set'));
    const name = this.mailboxName(c.args[1]);
    await this.syncSelected(false, c.uid);
    const idx = this.pick(set, c.uid);
    if (!(await boxes.exists(this.root!, name))) throw new Reply('NO', '[TRYCREATE] Mailbox does not exist');
    const dest = name === sel.name ? sel.folder : await Folder.open(boxes.folderDir(this.root!, name));
    const src: number[] = [];
    const dst: number[] = [];
    const moved: ImapMessage[] = [];
    try {
      for (const i of idx) {
        const m = sel.view[i]!;
        if (m.expunged) continue;
        const uid = await sel.folder.copyTo(m, dest);
        if (uid === undefined) continue;
        src.push(m.uid);
        dst.push(uid);
        moved.push(m);
      }
    } finally {
      if (dest !== sel.folder) dest.release();
    }
    if (idx.length && !src.length) throw new Reply('NO', '[EXPUNGEISSUED] The messages no longer exist');
    const code = src.length ? `COPYUID ${dest.uidValidity} ${formatSet(src)} ${formatSet(dst)}` : undefined;
    if (!move) {
      await this.syncSelected(false, c.uid);
      return this.ok('Copy completed.', code);
    }
    // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
    if (code) this.send(`* OK [${code}] Moved\r\n`);
    await sel.folder.expunge(moved);
    await this.syncSelected(true, true);
    this.ok('Move completed.');
  }

  // ---- telling the client what changed (§7.4.1, §5.2) -------------------------

  /**
   * Bring this session's view up to date with the folder and send what
   * changed: EXPUNGE only when `expunges` (never during FETCH, STORE or
   * SEARCH by message number, §7.4.1), new EXISTS/RECENT, and FLAGS that
   * others changed. `force` rescans now; otherwise at most once a second.
   */
  private async syncSelected(force: boolean, expunges: boolean): Promise<void> {
    const sel = this.sel;
    if (!sel) return;
    const now = Date.now();
    if (force || now - sel.lastSync >= SYNC_INTERVAL_MS) {
      sel.lastSync = now;
      await sel.folder.sync();
    }
    if (sel.generation === sel.folder.generation) return;
    let out = '';
    if (expunges) {
      for (let i = sel.view.length - 1; i >= 0; i--) {
        const m = sel.view[i]!;
        if (!m.expunged) continue;
        out += `* ${i + 1} EXPUNGE\r\n`;
        sel.view.splice(i, 1);
        sel.uids = undefined;
        sel.told.delete(m);
        sel.recent.delete(m.uid);
      }
    }
    const lastUid = sel.view.length ? sel.view[sel.view.length - 1]!.uid : 0;
    const fresh = sel.folder.messages.filter((m) => m.uid > lastUid);
    if (fresh.length) {
      const from = sel.readOnly ? Infinity : await sel.folder.claimRecent();
      sel.uids = undefined;
      for (const m of fresh) {
        sel.view.push(m);
        sel.told.set(m, m.modseq);
        if (m.uid > from) sel.recent.add(m.uid);
      }
      out += `* ${sel.view.length} EXISTS\r\n* ${sel.recent.size} RECENT\r\n`;
    }
    for (let i = 0; i < sel.view.length; i++) {
      const m = sel.view[i]!;
      if (m.expunged) continue;
      const t = sel.told.get(m);
      if (t !== undefined && t < m.modseq) {
        out += `* ${i + 1} FETCH (UID ${m.uid} FLAGS (${this.flagList(m)}))\r\n`;
        sel.told.set(m, m.modseq);
      }
    }
    if (expunges || !sel.view.some((m) => m.expunged)) sel.generation = sel.folder.generation;
    if (out) this.send(out);
  }
}

export { nstring, quote };
