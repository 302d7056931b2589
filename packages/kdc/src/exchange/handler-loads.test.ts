/**
 * serveRequest over a store that reads principals asynchronously (as the
 * PostgreSQL store does): a lookup that throws NotLoaded sets the exchange
 * aside until loadPrincipal settles, then runs it again; a load that fails,
 * or principals that never stay in memory, end in KDC_ERR_SVC_UNAVAILABLE.
 * The store here is a real SQLite realm behind a gate that says NotLoaded
 * for names not yet "loaded"; test/kdc-postgres and db/pg/pg.test.ts drive
 * the real PostgreSQL store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeKrbErrorMessage } from '@kpop/common';
import { initRealm, NotLoaded, type KdcDatabase, type PrincipalStore } from '../db/index.js';
import { buildAsReq } from '../testing/requests.js';
import { processRequest, serveRequest, type HandlerContext } from './handler.js';

const dir = mkdtempSync(join(tmpdir(), 'kdc-loads-'));
const db: KdcDatabase = initRealm(join(dir, 'db'), { realm: 'LAB.TEST' });
db.addPrincipal('alice', { password: 'Alice-pw-1' });
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The realm behind a gate: a name is "in memory" once loadPrincipal was called for it (and `load` let it in). */
function gated(load: (name: string) => Promise<boolean>): PrincipalStore & { loads: string[] } {
  const loaded = new Set<string>();
  const loads: string[] = [];
  return {
    realm: db.realm,
    loads,
    settings: () => db.settings(),
    lookup(nameString) {
      const name = `${nameString.join('/')}@${db.realm}`;
      if (!loaded.has(name)) throw new NotLoaded(name);
      return db.lookup(nameString);
    },
    async loadPrincipal(name) {
      loads.push(name);
      if (await load(name)) loaded.add(name);
    },
    recordFailure: (n, at) => db.recordFailure(n, at),
    recordSuccess: (n, at) => db.recordSuccess(n, at),
  };
}

const at = new Date('2026-11-30T08:00:00Z');
const ctxOf = (store: PrincipalStore): HandlerContext => ({ store, now: () => at, enctypes: [18, 17] });
const asReq = (): Uint8Array => buildAsReq({ realm: 'LAB.TEST', cname: ['alice'], etypes: [18], nonce: 7 });
const origin = { transport: 'udp' as const, address: '127.0.0.2', port: 1 };

describe('serveRequest over a store that loads principals asynchronously', () => {
  it('loads what the exchange asks for, one name after another, and answers as the synchronous store does', async () => {
    const store = gated(async () => true);
    const pending = serveRequest(asReq(), ctxOf(store), origin);
    expect(pending).toBeInstanceOf(Promise);
    const r = await pending;
    expect(store.loads).toEqual(['alice@LAB.TEST', 'krbtgt/LAB.TEST@LAB.TEST']);
    expect(r.status).toBe('PREAUTH_REQUIRED');
    expect(r.reply).toEqual(processRequest(asReq(), ctxOf(db), origin).reply);
    // Now in memory: answered at once.
    expect(serveRequest(asReq(), ctxOf(store), origin)).not.toBeInstanceOf(Promise);
  });

  it('answers KDC_ERR_SVC_UNAVAILABLE when a load fails, and when the principal never stays in memory', async () => {
    for (const load of [async (): Promise<boolean> => Promise.reject(new Error('the database is away')), async () => false]) {
      const r = await serveRequest(asReq(), ctxOf(gated(load)), origin);
      expect(r.status).toBe('DB_UNAVAILABLE');
      const err = decodeKrbErrorMessage(r.reply!);
      expect(err.errorCode).toBe(29);
      expect(err.eText).toBe('DB_UNAVAILABLE');
    }
  });

  it('processRequest refuses such a store in one clear error rather than answering wrongly', () => {
    expect(() => processRequest(asReq(), ctxOf(gated(async () => true)), origin)).toThrow(/use serveRequest/);
  });
});
