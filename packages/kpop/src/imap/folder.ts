/**
 * One IMAP mailbox on a Maildir folder, shared by every session of this
 * process that has it open (one Folder object per directory): the messages
 * in UID order with their flags, persistent UIDs (./uidlist.ts), flag
 * changes as Maildir renames (`:2,` letters, keywords as Dovecot's
 * dovecot-keywords letters a–z), appends, copies and expunges. Other
 * writers (POP3, `kpop deliver`, LMTP, another server) change the directory
 * behind our back: sync() rescans when new/ or cur/ changed (their mtimes),
 * and sessions learn what changed from the folder's change counter.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, watch, type FSWatcher } from 'node:fs';
import { link, open, readdir, readFile, rename, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { baseName, compareDelivery, ensureMaildir, sizeHint } from '../maildir/maildir.js';
import { uniqueName } from '../maildir/deliver.js';
import { CrlfSizeCounter, crlfSize } from '../maildir/crlf.js';
import { MARK_EVERY, MessageStream, STREAM_CHUNK } from './message-stream.js';
import { readUidList, uidListMtime, withUidListLock, writeUidList, type UidList } from './uidlist.js';

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;
const FLAG_LETTER: Record<string, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T' };
const LETTER_FLAG: Record<string, string> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };
const KEYWORDS_FILE = 'dovecot-keywords';
const MAX_KEYWORDS = 26;

export interface ImapMessage {
  uid: number;
  base: string;
  name: string;
  sub: 'new' | 'cur';
  /** System flags (backslash) and keywords, as IMAP spells them. */
  flags: Set<string>;
  /** Raw file size (S=, or stat). */
  fileSize: number;
  /** Size with CRLF line ends (W=, or counted): RFC822.SIZE. */
  size: number;
  /** Bumped on every flag change (untagged FETCH FLAGS for other sessions). */
  modseq: number;
  expunged: boolean;
  /**
   * Where the CRLF form of a file with bare LFs stands at points of the
   * file, found while it was read from the start (flat triples: file
   * offset, CRLF offset, the octet before): a partial FETCH starts reading
   * at the nearest one instead of at the start of the file.
   */
  crlfMarks?: number[];
}

export class FolderError extends Error {
  constructor(message: string, readonly code: 'NONEXISTENT' | 'TRYCREATE' | 'SERVERBUG' | 'EXPUNGEISSUED' | 'LIMIT' = 'SERVERBUG') {
    super(message);
    this.name = 'FolderError';
  }
}

/** Normalise line ends to CRLF exactly as ../maildir/crlf.ts counts them (a last line gets CRLF). */
export function toCrlf(buf: Buffer): Buffer {
  if (buf.length === 0) return buf;
  let bare = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) if (i === 0 || buf[i - 1] !== 0x0d) bare++;
  const last = buf[buf.length - 1];
  const tail = last === 0x0a ? 0 : last === 0x0d ? 1 : 2;
  if (bare === 0 && tail === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + bare + tail);
  let o = 0;
  let start = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) {
    if (i === 0 || buf[i - 1] !== 0x0d) {
      o += buf.copy(out, o, start, i);
      out[o++] = 0x0d;
      start = i;
    }
  }
  o += buf.copy(out, o, start);
  if (tail === 2) {
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  } else if (tail === 1) out[o++] = 0x0a;
  return out;
}

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW;
/** One read buffer for every synchronous read: its bytes are copied out (CRLF) before anything else runs. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Every process-wide Folder by directory. */
const folders = new Map<string, Folder>();
/**
 * Folders no session has open, kept (most recent last) so that the next
 * SELECT only compares directory mtimes instead of reading 10,000 names
 * again, as Dovecot keeps its index.
 */
const idle: Folder[] = [];
const MAX_IDLE = 64;

export class Folder {
  messages: ImapMessage[] = [];
  uidValidity = 0;
  nextUid = 1;
  /** Bumped on every change: sessions compare it with what they last saw. */
  generation = 0;
  private byBase = new Map<string, ImapMessage>();
  private newMtime = -1;
  private curMtime = -1;
  private listMtime = -1;
  private keywords: string[] = [];
  private keywordsLoaded = false;
  private users = 0;
  private watcher?: FSWatcher;
  private readonly listeners = new Set<() => void>();
  private syncing?: Promise<void>;
  private modseq = 1;
  /** UIDs already given \Recent to some session (RFC 3501 §2.3.2: one session only). */
  private recentClaimed = 0;

  private constructor(readonly dir: string) {}

  /** The shared Folder for a Maildir directory, synced; call release() when done. */
  static async open(dir: string): Promise<Folder> {
    let f = folders.get(dir);
    if (!f) {
      f = new Folder(dir);
      folders.set(dir, f);
    }
    f.users++;
    const i = idle.indexOf(f);
    if (i !== -1) idle.splice(i, 1);
    try {
      await f.sync();
    } catch (e) {
      f.release();
      throw e;
    }
    return f;
  }

  /**
   * Drop the cached Folder of a directory that was renamed or deleted, if
   * no session has it open, so that a folder made later under that name
   * starts from its own files and uidlist.
   */
  static forget(dir: string): void {
    const f = folders.get(dir);
    if (!f || f.users > 0) return;
    folders.delete(dir);
    const i = idle.indexOf(f);
    if (i !== -1) idle.splice(i, 1);
  }

  release(): void {
    if (--this.users > 0) return;
    this.watcher?.close();
    this.watcher = undefined;
    this.listeners.clear();
    idle.push(this);
    while (idle.length > MAX_IDLE) {
      const old = idle.shift()!;
      if (folders.get(old.dir) === old) folders.delete(old.dir);
    }
  }

  /** Calls fn (debounced by the caller) when something may have changed in new/ or cur/. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    if (!this.watcher) {
      try {
        this.watcher = watch(join(this.dir, 'new'), () => {
          for (const l of this.listeners) l();
        });
        this.watcher.on('error', () => {});
      } catch {
        // No inotify: the IDLE poll still runs.
      }
    }
    return () => this.listeners.delete(fn);
  }

  /** Rescan when new/, cur/ or the uidlist changed since the last look. */
  sync(force = false): Promise<void> {
    if (this.syncing) return this.syncing.then(() => (force ? this.sync(true) : undefined));
    this.syncing = this.doSync(force).finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async doSync(force: boolean): Promise<void> {
    let nm: number;
    let cm: number;
    try {
      [nm, cm] = await Promise.all([stat(join(this.dir, 'new')).then((s) => s.mtimeMs), stat(join(this.dir, 'cur')).then((s) => s.mtimeMs)]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        if (!this.messages.length && this.uidValidity === 0) {
          await ensureMaildir(this.dir);
          return this.doSync(true);
        }
      }
      throw new FolderError(`cannot read ${this.dir}: ${(e as Error).message}`);
    }
    const lm = await uidListMtime(this.dir);
    if (!force && nm === this.newMtime && cm === this.curMtime && lm === this.listMtime) return;
    // Read the directories before comparing: a change during the scan shows up next time.
    this.newMtime = nm;
    this.curMtime = cm;
    const files = new Map<string, { name: string; sub: 'new' | 'cur' }>();
    for (const sub of ['new', 'cur'] as const) {
      let names: string[];
      try {
        names = await readdir(join(this.dir, sub));
      } catch (e) {
        throw new FolderError(`cannot read ${this.dir}/${sub}: ${(e as Error).message}`);
      }
      for (const name of names) {
        if (name.startsWith('.')) continue;
        const base = baseName(name);
        // A base seen in both (a copy interrupted mid-rename): keep cur/.
        if (files.has(base) && sub === 'new') continue;
        files.set(base, { name, sub });
      }
    }
    await this.loadKeywords();
    let changed = false;
    // Gone: expunged by someone else.
    for (const m of this.messages) {
      const f = files.get(m.base);
      if (!f) {
        m.expunged = true;
        this.byBase.delete(m.base);
        changed = true;
      } else if (f.name !== m.name || f.sub !== m.sub) {
        m.name = f.name;
        m.sub = f.sub;
        const flags = this.flagsOf(f.name);
        if (!sameFlags(flags, m.flags)) {
          m.flags = flags;
          m.modseq = ++this.modseq;
        }
        changed = true;
      }
    }
    if (changed) this.messages = this.messages.filter((m) => !m.expunged);
    const fresh = [...files].filter(([base]) => !this.byBase.has(base));
    if (fresh.length || lm !== this.listMtime || this.uidValidity === 0) {
      await this.assignUids(fresh.map(([base, f]) => ({ base, ...f })));
      changed = true;
    }
    if (changed) this.generation++;
  }

  /** Give new files their UIDs (from the list if another process already did), in delivery order. */
  private async assignUids(fresh: { base: string; name: string; sub: 'new' | 'cur' }[]): Promise<void> {
    fresh.sort((a, b) => compareDelivery(a.name, b.name));
    await withUidListLock(this.dir, async () => {
      let list: UidList | undefined = await readUidList(this.dir);
      let dirty = false;
      if (!list) {
        list = { uidValidity: Math.floor(Date.now() / 1000) || 1, nextUid: 1, recentUid: this.recentClaimed, uids: new Map(), mtimeMs: 0 };
        // Keep the UIDs we already handed out (the list was removed under us).
        for (const m of this.messages) list.uids.set(m.base, m.uid);
        list.nextUid = this.nextUid;
        dirty = true;
      }
      if (this.uidValidity && list.uidValidity !== this.uidValidity) {
        // Someone else reset the list: our UIDs are void (RFC 3501 §2.3.1.1).
        this.messages = [];
        this.byBase.clear();
      }
      this.uidValidity = list.uidValidity;
      if (list.recentUid > this.recentClaimed) this.recentClaimed = list.recentUid;
      // Ours that the list lacks (written by an older process) stay as they are.
      for (const m of this.messages) if (!list.uids.has(m.base)) {
        list.uids.set(m.base, m.uid);
        dirty = true;
      }
      const added: ImapMessage[] = [];
      for (const f of fresh) {
        let uid = list.uids.get(f.base);
        if (uid === undefined) {
          uid = list.nextUid++;
          list.uids.set(f.base, uid);
          dirty = true;
        }
        added.push({
          uid, base: f.base, name: f.name, sub: f.sub, flags: this.flagsOf(f.name),
          fileSize: sizeHint(f.name, 'S') ?? -1, size: sizeHint(f.name, 'W') ?? -1, modseq: this.modseq, expunged: false,
        });
      }
      // Forget list entries whose files are gone (keeps the list from growing forever).
      const present = new Set<string>([...this.messages.map((m) => m.base), ...fresh.map((f) => f.base)]);
      for (const base of [...list.uids.keys()]) if (!present.has(base)) {
        list.uids.delete(base);
        dirty = true;
      }
      if (dirty) this.listMtime = await writeUidList(this.dir, list);
      else this.listMtime = list.mtimeMs;
      this.nextUid = list.nextUid;
      for (const m of added) {
        this.byBase.set(m.base, m);
        this.messages.push(m);
      }
      this.messages.sort((a, b) => a.uid - b.uid);
    });
  }

  /**
   * RFC 3501 §2.3.2: a message is \Recent in the first session that sees
   * it. Returns the UID above which messages are recent for the caller, and
   * records (in the uidlist, so it survives restarts) that they are taken.
   */
  async claimRecent(): Promise<number> {
    const from = this.recentClaimed;
    const top = this.nextUid - 1;
    if (top <= from) return from;
    this.recentClaimed = top;
    await withUidListLock(this.dir, async () => {
      const list = await readUidList(this.dir);
      if (!list || list.uidValidity !== this.uidValidity) return;
      if (list.recentUid >= top) return;
      list.recentUid = top;
      this.listMtime = await writeUidList(this.dir, list);
    }).catch(() => {});
    return from;
  }

  get path(): string {
    return this.dir;
  }

  // ---- flags ---------------------------------------------------------------

  private async loadKeywords(): Promise<void> {
    if (this.keywordsLoaded) return;
    try {
      const text = await readFile(join(this.dir, KEYWORDS_FILE), 'utf8');
      for (const line of text.split('\n')) {
        const m = /^(\d+) (\S+)$/.exec(line);
        if (m && Number(m[1]) < MAX_KEYWORDS) this.keywords[Number(m[1])] = m[2]!;
      }
    } catch {
      // none yet
    }
    this.keywordsLoaded = true;
  }

  /** The keywords this folder can store (PERMANENTFLAGS \* while there is room). */
  get keywordList(): string[] {
    return this.keywords.filter(Boolean);
  }

  get keywordRoom(): boolean {
    return this.keywords.filter(Boolean).length < MAX_KEYWORDS;
  }

  flagsOf(name: string): Set<string> {
    const flags = new Set<string>();
    const i = name.indexOf(':2,');
    if (i === -1) return flags;
    for (const c of name.slice(i + 3)) {
      const f = LETTER_FLAG[c];
      if (f) flags.add(f);
      else if (c >= 'a' && c <= 'z') {
        const k = this.keywords[c.charCodeAt(0) - 97];
        if (k) flags.add(k);
      }
    }
    return flags;
  }

  private async letterFor(keyword: string): Promise<string | undefined> {
    let i = this.keywords.findIndex((k) => k !== undefined && k.toLowerCase() === keyword.toLowerCase());
    if (i === -1) {
      i = this.keywords.length < MAX_KEYWORDS ? this.keywords.length : this.keywords.findIndex((k) => k === undefined);
      if (i === -1 || i >= MAX_KEYWORDS) return undefined;
      this.keywords[i] = keyword;
      const text = this.keywords.map((k, n) => (k ? `${n} ${k}\n` : '')).join('');
      const tmp = join(this.dir, `${KEYWORDS_FILE}.${process.pid}.tmp`);
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, join(this.dir, KEYWORDS_FILE));
    }
    return String.fromCharCode(97 + i);
  }

  /** Canonical spelling of a flag: system flags case-folded, keywords as first stored. */
  canonical(flag: string): string {
    if (flag.startsWith('\\')) return SYSTEM_FLAGS.find((f) => f.toLowerCase() === flag.toLowerCase()) ?? flag;
    return this.keywords.find((k) => k && k.toLowerCase() === flag.toLowerCase()) ?? flag;
  }

  private async infoFor(flags: Set<string>): Promise<string> {
    const letters: string[] = [];
    for (const f of flags) {
      const l = FLAG_LETTER[f] ?? (f.startsWith('\\') ? undefined : await this.letterFor(f));
      if (l) letters.push(l);
    }
    return letters.sort().join('');
  }

  /** Set a message's flags: a rename into cur/ with the new `:2,` info. False when the file is gone. */
  async setFlags(m: ImapMessage, flags: Set<string>): Promise<boolean> {
    if (m.expunged) return false;
    const info = await this.infoFor(flags);
    const colon = m.name.indexOf(':');
    const head = colon === -1 ? m.name : m.name.slice(0, colon);
    const name = `${head}:2,${info}`;
    const stored = this.flagsOf(name);
    if (name !== m.name || m.sub !== 'cur') {
      try {
        await rename(join(this.dir, m.sub, m.name), join(this.dir, 'cur', name));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        // Renamed or removed by someone else: look again once.
        await this.sync(true);
        if (m.expunged) return false;
        return this.setFlags(m, flags);
      }
      m.name = name;
      m.sub = 'cur';
    }
    if (!sameFlags(stored, m.flags)) {
      m.flags = stored;
      m.modseq = ++this.modseq;
      this.generation++;
    }
    return true;
  }

  // ---- content -------------------------------------------------------------

  filePath(m: ImapMessage): string {
    return join(this.dir, m.sub, m.name);
  }

  /**
   * The message with CRLF line ends, or undefined when its file is gone
   * (expunged by another session or POP3). A file renamed meanwhile (a flag
   * change elsewhere) is found again by its base name.
   */
  async read(m: ImapMessage): Promise<Buffer | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.filePath(m), O_READ);
        let raw: Buffer;
        try {
          const size = fstatSync(fd).size;
          if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, 2 * scratch.length));
          raw = size <= 4 * 1024 * 1024 ? scratch : Buffer.allocUnsafe(size);
          let off = 0;
          while (off < size) {
            const n = readSync(fd, raw, off, size - off, off);
            if (n === 0) break;
            off += n;
          }
          raw = raw.subarray(0, off);
        } finally {
          closeSync(fd);
        }
        let out = toCrlf(raw);
        // Never hand out the shared scratch buffer itself.
        if (out.buffer === scratch.buffer) out = Buffer.from(out);
        if (m.fileSize < 0) m.fileSize = raw.length;
        if (m.size < 0) m.size = out.length;
        // Changed under us (Maildir messages never change; someone edited it): refuse rather than lie.
        if (out.length !== m.size) return undefined;
        return out;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await this.sync(true);
        if (m.expunged) return undefined;
      }
    }
    return undefined;
  }

  /**
   * The message file opened for a FETCH that sends it as it is read
   * (./message-stream.ts), or undefined when it is gone or
   * no longer the size its name (S=) or our first look said: Maildir
   * messages never change, so one that did was edited behind our back and
   * gets a NO rather than a wrong body. RFC822.SIZE comes from W=, or from
   * one counting pass over the file.
   */
  async openStream(m: ImapMessage): Promise<MessageStream | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let fh: FileHandle;
      try {
        fh = await open(this.filePath(m), O_READ);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await this.sync(true);
        if (m.expunged) return undefined;
        continue;
      }
      try {
        const fileSize = (await fh.stat()).size;
        if (m.fileSize >= 0 && fileSize !== m.fileSize) {
          await fh.close();
          return undefined;
        }
        m.fileSize = fileSize;
        if (m.size < 0) {
          const counter = new CrlfSizeCounter();
          const marks: number[] = [];
          const buf = Buffer.allocUnsafe(STREAM_CHUNK);
          for (let pos = 0; pos < fileSize; ) {
            const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, fileSize - pos), pos);
            if (bytesRead === 0) break;
            counter.push(buf.subarray(0, bytesRead));
            pos += bytesRead;
            if (pos % MARK_EVERY === 0) marks.push(pos, counter.converted, counter.lastByte);
          }
          m.size = counter.size;
          m.crlfMarks = marks;
        }
        return new MessageStream(fh, fileSize, m.size, (m.crlfMarks ??= []));
      } catch (e) {
        await fh.close().catch(() => {});
        throw e;
      }
    }
    return undefined;
  }

  /** RFC822.SIZE without reading the body when the name carries W=. */
  async sizeOf(m: ImapMessage): Promise<number | undefined> {
    if (m.size >= 0) return m.size;
    const b = await this.read(m);
    return b ? m.size : undefined;
  }

  /** INTERNALDATE: the file's mtime (Dovecot's choice; APPEND sets it). */
  async internalDate(m: ImapMessage): Promise<Date | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return (await stat(this.filePath(m))).mtime;
      } catch {
        await this.sync(true);
        if (m.expunged) return undefined;
      }
    }
    return undefined;
  }

  // ---- changes -------------------------------------------------------------

  /** APPEND: write tmp/, fsync, rename into cur/ with flags; returns the new message's UID. */
  async append(data: Buffer, flags: Set<string>, date?: Date): Promise<number> {
    const base = uniqueName();
    const tmp = join(this.dir, 'tmp', base);
    const info = await this.infoFor(flags);
    const name = `${base},S=${data.length},W=${crlfSize(data)}:2,${info}`;
    await ensureMaildir(this.dir);
    await writeFile(tmp, data, { mode: 0o600, flush: true });
    if (date) await utimes(tmp, date, date);
    await rename(tmp, join(this.dir, 'cur', name));
    await this.sync(true);
    const m = this.byBase.get(base);
    if (!m) throw new FolderError('appended message vanished');
    return m.uid;
  }

  /** COPY one message into another folder (a hard link when possible); returns its UID there. */
  async copyTo(m: ImapMessage, dest: Folder): Promise<number | undefined> {
    const base = uniqueName();
    const colon = m.name.indexOf(':');
    const head = colon === -1 ? m.name : m.name.slice(0, colon);
    const hints = head.slice(baseName(head).length);
    const info = await dest.infoFor(m.flags);
    const target = join(dest.dir, 'cur', `${base}${hints}:2,${info}`);
    try {
      await link(this.filePath(m), target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      const tmp = join(dest.dir, 'tmp', base);
      await writeFile(tmp, readFileSync(this.filePath(m)), { mode: 0o600, flush: true });
      await rename(tmp, target);
    }
    await dest.sync(true);
    return dest.byBase.get(base)?.uid;
  }

  /** Remove messages (EXPUNGE); a file already gone counts as removed. */
  async expunge(list: ImapMessage[]): Promise<ImapMessage[]> {
    const done: ImapMessage[] = [];
    for (const m of list) {
      try {
        await unlink(this.filePath(m));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await this.sync(true);
        if (!m.expunged) continue;
      }
      m.expunged = true;
      this.byBase.delete(m.base);
      done.push(m);
    }
    if (done.length) {
      this.messages = this.messages.filter((m) => !m.expunged);
      this.generation++;
    }
    return done;
  }
}

/** A message's flags as FETCH FLAGS lists them, kept until its flag set is replaced (sets are never changed in place). */
const flagTexts = new WeakMap<Set<string>, string>();
export function flagText(m: ImapMessage): string {
  let t = flagTexts.get(m.flags);
  if (t === undefined) {
    t = [...m.flags].join(' ');
    flagTexts.set(m.flags, t);
  }
  return t;
}

function sameFlags(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const f of a) if (!b.has(f)) return false;
  return true;
}
