/**
 * Maildir tmp/ clean-up. A delivery writes its file in tmp/ and renames it
 * into new/ only once it is complete and fsync'd, so a delivery agent killed
 * mid-message leaves its file in tmp/ (never in new/), and nothing else will
 * ever remove it. The Maildir convention (qmail's maildir(5); Courier and
 * Dovecot do the same) is that the reader cleans tmp/ of files untouched
 * for 36 hours: a live delivery writes as it goes, so its file's mtime
 * stays young, and one silent for 36 hours is dead.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidUserName } from './maildir.js';

/** The Maildir convention: 36 hours. */
export const TMP_MAX_AGE_MS = 36 * 3600_000;

export interface TmpCleanOptions {
  /** Files whose mtime is older than this are removed (default 36 h). */
  maxAgeMs?: number;
  /** The clock (tests pin it). */
  now?: () => Date;
  /** One record per file removed and per folder that could not be read. */
  log?: (r: Record<string, string | number | boolean | undefined>) => void;
}

/** Removes stale files from ROOT/USER/tmp for every mailbox; resolves with the paths removed. */
export async function cleanMaildirTmp(root: string, o: TmpCleanOptions = {}): Promise<string[]> {
  const maxAge = o.maxAgeMs ?? TMP_MAX_AGE_MS;
  const cutoff = (o.now ? o.now() : new Date()).getTime() - maxAge;
  const removed: string[] = [];
  let users: string[];
  try {
    users = await readdir(root);
  } catch {
    return removed; // No mailboxes yet.
  }
  for (const user of users) {
    if (!isValidUserName(user)) continue;
    const tmp = join(root, user, 'tmp');
    let names: string[];
    try {
      names = await readdir(tmp);
    } catch {
      continue; // Not a Maildir (or not yet one).
    }
    for (const name of names) {
      const path = join(tmp, name);
      try {
        const s = await stat(path);
        // Age by mtime, and only regular files: a delivery still writing keeps its mtime fresh.
        if (!s.isFile() || s.mtimeMs >= cutoff) continue;
        await unlink(path);
        removed.push(path);
        o.log?.({ event: 'maildir-tmp-removed', user, file: name, bytes: s.size, mtime: new Date(s.mtimeMs).toISOString() });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') o.log?.({ event: 'error', error: `maildir tmp clean-up ${user}: ${(e as Error).message}` });
      }
    }
  }
  return removed;
}

/**
 * Runs cleanMaildirTmp now and then every `everyMs` (default hourly) until
 * stop(); the timer does not keep the process alive. A run still going when
 * the next is due is not doubled.
 */
export function startTmpCleaner(root: string, o: TmpCleanOptions & { everyMs?: number } = {}): { stop(): void; done: Promise<unknown> } {
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    running = cleanMaildirTmp(root, o).catch(() => []).finally(() => (busy = false));
  };
  tick();
  const timer = setInterval(tick, o.everyMs ?? 3600_000);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    get done() {
      return running;
    },
  };
}
