/**
 * Test set-up shared by the database tests: a fresh realm directory per test
 * (removed afterwards, with every database the test opened closed first), and
 * the KdcDbError reason a call fails with. Not exported from the package.
 */
import { afterEach, beforeEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KdcDbError, type KdcDatabase } from './index.js';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export interface RealmDir {
  /** This test's realm directory (not created yet: initRealm makes it). */
  readonly dir: string;
  /** Closes db after the test. */
  track(db: KdcDatabase): KdcDatabase;
  /** Forgets the databases tracked so far (the test closed them itself). */
  forget(): void;
}

/** Registers beforeEach/afterEach hooks giving each test its own realm directory under a temp dir named prefix…. */
export function useRealmDir(prefix: string): RealmDir {
  let dir = '';
  const open: KdcDatabase[] = [];
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), prefix)), 'realm');
  });
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    track: (db) => (open.push(db), db),
    forget: () => {
      open.splice(0);
    },
  };
}

/** The KdcDbError reason fn throws; any other error is rethrown, and not throwing fails the test. */
export function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof KdcDbError) return e.reason;
    throw e;
  }
  throw new Error('did not throw');
}
