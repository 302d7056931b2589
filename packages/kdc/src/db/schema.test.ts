// The schema's migration path, and the index on deleted(name): every write
// clears a name's old tombstone with `DELETE FROM deleted WHERE name = ?`,
// which scanned the table before version 2 (quadratic `load --update`).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { reason, useRealmDir } from './test-realm.js';
import { initRealm, openDatabase } from './index.js';
import { SCHEMA_VERSION } from './schema.js';

const realm = useRealmDir('kdc-schema-');

function plan(file: string, sql: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all()
      .map((r) => r.detail)
      .join('; ');
  } finally {
    db.close();
  }
}

function schemaVersion(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], string>("SELECT v FROM meta WHERE k = 'schema_version'").pluck().get()!;
  } finally {
    db.close();
  }
}

describe('schema', () => {
  it('a new database finds a tombstone by name through the deleted_name index, not a scan', () => {
    realm.track(initRealm(realm.dir, { realm: 'LAB.TEST' })).close();
    realm.forget();
    const file = join(realm.dir, 'kdc.sqlite');
    expect(schemaVersion(file)).toBe(String(SCHEMA_VERSION));
    const p = plan(file, "DELETE FROM deleted WHERE name = 'x@LAB.TEST'");
    expect(p).toMatch(/USING (COVERING )?INDEX deleted_name/);
    expect(p).not.toMatch(/^SCAN deleted$/);
    // refresh() still reads by generation through its own index.
    expect(plan(file, 'SELECT name FROM deleted WHERE gen > 3')).toMatch(/INDEX deleted_gen/);
  });

  it('opening a version-1 database adds the index, records version 2, and keeps its principals and tombstones', () => {
    const db = initRealm(realm.dir, { realm: 'LAB.TEST' });
    db.addPrincipal('alice', { password: 'pw-1' });
    db.addPrincipal('bob', { randkey: true });
    db.deletePrincipal('bob');
    db.close();
    const file = join(realm.dir, 'kdc.sqlite');
    // Make it what version 1 wrote: no deleted_name index, schema_version 1.
    const raw = new Database(file);
    raw.exec("DROP INDEX deleted_name; UPDATE meta SET v = '1' WHERE k = 'schema_version'");
    raw.close();
    expect(plan(file, "DELETE FROM deleted WHERE name = 'x'")).toMatch(/^SCAN deleted$/);

    const opened = realm.track(openDatabase(realm.dir));
    expect(opened.lookup(['alice'])?.canonicalName).toBe('alice@LAB.TEST');
    expect(opened.lookup(['bob'])).toBeUndefined();
    expect(schemaVersion(file)).toBe('2');
    expect(plan(file, "DELETE FROM deleted WHERE name = 'x'")).toMatch(/USING (COVERING )?INDEX deleted_name/);
    // A second open finds nothing to do.
    realm.track(openDatabase(realm.dir));
    expect(schemaVersion(file)).toBe('2');
  });

  it('refuses a database written by a newer KDC (a schema version it does not know)', () => {
    initRealm(realm.dir, { realm: 'LAB.TEST' }).close();
    const raw = new Database(join(realm.dir, 'kdc.sqlite'));
    raw.exec(`UPDATE meta SET v = '${SCHEMA_VERSION + 1}' WHERE k = 'schema_version'`);
    raw.close();
    expect(reason(() => openDatabase(realm.dir))).toBe('CORRUPT');
  });
});
