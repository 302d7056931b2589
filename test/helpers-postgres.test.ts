/**
 * test/helpers/postgres.ts: a throwaway cluster starts on a free loopback
 * port with a password over TCP, survives pause/resume with its data, and
 * stop() removes everything.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { hasPostgres, NO_POSTGRES, startPostgres, type Postgres } from './helpers/postgres.js';

describe.skipIf(!hasPostgres)(`startPostgres${hasPostgres ? '' : ` (skipped: ${NO_POSTGRES})`}`, () => {
  let pg: Postgres | undefined;
  afterAll(() => pg?.stop());

  it('starts a cluster on 127.0.0.1, keeps data over pause/resume and crash/resume, and stop() removes it', async () => {
    pg = await startPostgres();
    expect(pg.url).toMatch(/^postgresql:\/\/kpop:[0-9a-f]{24}@127\.0\.0\.1:\d+\/kdc$/);
    expect(pg.psql('SELECT current_database()', 'kdc').trim()).toBe('kdc');
    pg.psql('CREATE TABLE t (v int); INSERT INTO t VALUES (42)', 'kdc');
    // Listening on loopback TCP.
    await new Promise<void>((resolve, reject) => net.connect(pg!.port, '127.0.0.1', resolve).once('error', reject).unref());
    pg.pause();
    await expect(new Promise<void>((resolve, reject) => net.connect(pg!.port, '127.0.0.1', resolve).once('error', reject))).rejects.toThrow(/ECONNREFUSED/);
    pg.resume();
    expect(pg.psql('SELECT v FROM t', 'kdc').trim()).toBe('42');
    pg.crash();
    pg.resume();
    expect(pg.psql('SELECT v FROM t', 'kdc').trim()).toBe('42');
    const dir = pg.dir;
    await pg.stop();
    expect(existsSync(dir)).toBe(false);
    await pg.stop();
  });
});
