/**
 * `kdc load` on hostile input: any value anywhere in a dump either loads or
 * is refused with a KdcDbError, and a refused load changes nothing.
 */
import { describe, expect, it, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRealm, KdcDbError } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'kdc-dump-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every path to a value inside a JSON tree. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}
function replaced(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[head!] = replaced(copy[head!], rest, value);
  return copy;
}

describe('load of a mutated dump', () => {
  it('loads or refuses with a KdcDbError, and a refusal changes nothing', () => {
    const db = initRealm(join(root, 'db'), { realm: 'LAB.TEST' });
    db.addPrincipal('alice', { password: 'alice-pw-1' });
    db.addPrincipal('pop/localhost', { randkey: true, enctypes: [18] });
    db.changePassword('pop/localhost', { randkey: true });
    const good = JSON.parse(JSON.stringify(db.dump())) as unknown;
    const all = paths(good);
    const snapshot = () => JSON.stringify(db.dump());
    let before = snapshot();
    let refused = 0;
    fc.assert(
      fc.property(fc.nat(all.length - 1), fc.jsonValue({ maxDepth: 2 }), (i, value) => {
        const mutated = replaced(good, all[i]!, value);
        try {
          db.load(mutated);
        } catch (e) {
          if (!(e instanceof KdcDbError)) throw e;
          refused++;
          expect(snapshot()).toBe(before);
          return;
        }
        before = snapshot();
      }),
      { numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(100);
    db.close();
  });
});
