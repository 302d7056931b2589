import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FileFormatError,
  FileNotFoundError,
  addKeytabEntries,
  parseKeytab,
  readKeytab,
  readKeytabCached,
  removeKeytabEntries,
  resolveKeytabName,
  serializeKeytab,
  writeKeytab,
  type KeytabEntry,
} from './index.js';

const FIX = new URL('../../../../test/fixtures/mit/', import.meta.url);
const popBytes = new Uint8Array(fs.readFileSync(new URL('pop.keytab', FIX)));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const entry = (name: string, kvno: number, etype: number): KeytabEntry => ({
  principal: { realm: 'LAB.TEST', name: { nameType: 1, nameString: name.split('/') } },
  timestamp: new Date('2026-11-29T07:00:00Z'),
  kvno,
  key: { keytype: etype, keyvalue: new Uint8Array(etype === 17 || etype === 19 ? 16 : 32).fill(kvno & 0xff) },
});

describe('resolveKeytabName', () => {
  it('strips FILE: and WRFILE:, keeps bare paths', () => {
    expect(resolveKeytabName('FILE:/etc/pop.keytab', {})).toBe('/etc/pop.keytab');
    expect(resolveKeytabName('WRFILE:/x/y', {})).toBe('/x/y');
    expect(resolveKeytabName('/abs/path', {})).toBe('/abs/path');
    expect(resolveKeytabName('relative.keytab', {})).toBe('relative.keytab');
    expect(resolveKeytabName('/odd:name', {})).toBe('/odd:name');
  });

  it('falls back to KRB5_KTNAME, then the default', () => {
    expect(resolveKeytabName(undefined, { KRB5_KTNAME: 'FILE:/srv/kt' })).toBe('/srv/kt');
    expect(resolveKeytabName(undefined, {})).toBe('/etc/krb5.keytab');
    expect(resolveKeytabName(undefined, {}, 'FILE:/var/kt/%{euid}.keytab')).toBe(`/var/kt/${process.geteuid!()}.keytab`);
  });

  it('refuses keytab types that are not files', () => {
    expect(() => resolveKeytabName('MEMORY:foo', {})).toThrow(/Unsupported key table type "MEMORY"/);
    expect(() => resolveKeytabName('FILE:', {})).toThrow(/no file name/);
    expect(() => resolveKeytabName(undefined, {}, 'FILE:/x/%{bogus}')).toThrow(/%\{bogus\}/);
    // An explicit or environment name is taken literally, as MIT does.
    expect(resolveKeytabName(undefined, { KRB5_KTNAME: '/k/%{uid}' })).toBe('/k/%{uid}');
  });
});

describe('keytab files', () => {
  it('writes with mode 0600 and reads back', () => {
    const p = path.join(dir, 'w.keytab');
    writeKeytab(p, parseKeytab(popBytes));
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
    expect(Buffer.from(fs.readFileSync(p)).equals(Buffer.from(popBytes))).toBe(true);
    expect(readKeytab(p).entries).toHaveLength(2);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('tightens the mode of a keytab that was world-readable', () => {
    const p = path.join(dir, 'loose.keytab');
    fs.writeFileSync(p, popBytes, { mode: 0o644 });
    addKeytabEntries(p, [entry('x', 1, 18)]);
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
  });

  it('adds to a missing file by creating it, then appends', () => {
    const p = path.join(dir, 'add.keytab');
    addKeytabEntries(p, [entry('host/a', 1, 18)]);
    const kt = addKeytabEntries(p, [entry('host/a', 2, 18), entry('host/a', 2, 17)]);
    expect(kt.entries.map((e) => [e.kvno, e.key.keytype])).toEqual([
      [1, 18],
      [2, 18],
      [2, 17],
    ]);
    expect(readKeytab(p)).toEqual(kt);
  });

  it('removes matching entries and reports how many', () => {
    const p = path.join(dir, 'rm.keytab');
    writeKeytab(p, { version: 0x502, entries: [entry('a', 1, 18), entry('a', 2, 18), entry('b', 1, 18)] });
    const before = fs.readFileSync(p);
    expect(removeKeytabEntries(p, (e) => e.kvno === 7)).toBe(0);
    expect(fs.readFileSync(p).equals(before)).toBe(true);
    expect(removeKeytabEntries(p, (e) => e.principal.name.nameString[0] === 'a' && e.kvno < 2)).toBe(1);
    expect(readKeytab(p).entries.map((e) => `${e.principal.name.nameString[0]}:${e.kvno}`)).toEqual(['a:2', 'b:1']);
  });

  it('removing from a keytab with MIT holes compacts them away', () => {
    const p = path.join(dir, 'holes.keytab');
    const hole = new Uint8Array(4 + 30);
    new DataView(hole.buffer).setInt32(0, -30);
    fs.writeFileSync(p, Buffer.concat([popBytes.subarray(0, 2), hole, popBytes.subarray(2)]));
    expect(removeKeytabEntries(p, (e) => e.key.keytype === 17)).toBe(1);
    expect(Buffer.from(fs.readFileSync(p)).equals(Buffer.from(serializeKeytab({ version: 0x502, entries: parseKeytab(popBytes).entries.slice(0, 1) })))).toBe(true);
  });

  it('replaces the target of a symbolic link, not the link', () => {
    const real = path.join(dir, 'real.keytab');
    const link = path.join(dir, 'link.keytab');
    writeKeytab(real, { version: 0x502, entries: [] });
    fs.symlinkSync(real, link);
    addKeytabEntries(link, [entry('l', 1, 18)]);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readKeytab(real).entries).toHaveLength(1);
  });

  it('missing and malformed files give typed errors', () => {
    expect(() => readKeytab(path.join(dir, 'nope'))).toThrow(FileNotFoundError);
    expect(() => readKeytab(path.join(dir, 'nope'))).toThrow(/Key table file '.*nope' not found/);
    expect(() => removeKeytabEntries(path.join(dir, 'nope'), () => true)).toThrow(FileNotFoundError);
    const p = path.join(dir, 'cut.keytab');
    fs.writeFileSync(p, popBytes.subarray(0, 60));
    expect(() => readKeytab(p)).toThrow(FileFormatError);
    expect(() => readKeytab(p)).toThrow(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: truncated`));
    expect(() => addKeytabEntries(p, [entry('z', 1, 18)])).toThrow(FileFormatError);
    expect(fs.statSync(p).size).toBe(60); // nothing lost on a failed add
  });

  it('readKeytabCached reuses the parse until the file is replaced or edited in place', () => {
    const p = path.join(dir, 'cached.keytab');
    writeKeytab(p, parseKeytab(popBytes));
    // Just written: too fresh to trust a timestamp, so every call re-reads.
    expect(readKeytabCached(p)).not.toBe(readKeytabCached(p));
    fs.utimesSync(p, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000)); // as if written 10 s ago
    const a = readKeytabCached(p);
    expect(readKeytabCached(p)).toBe(a);
    writeKeytab(p, { version: 0x502, entries: [entry('c', 1, 18)] }); // rename: a new inode
    fs.utimesSync(p, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
    const b = readKeytabCached(p);
    expect(b).not.toBe(a);
    expect(b.entries[0]!.principal.name.nameString).toEqual(['c']);
    expect(readKeytabCached(p)).toBe(b);
    // In place, same size (as MIT's ktadd into a hole): the change is still seen.
    const bytes = fs.readFileSync(p);
    bytes[bytes.length - 5] ^= 0xff; // last key byte
    const fd = fs.openSync(p, 'r+');
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    fs.closeSync(fd);
    const c = readKeytabCached(p);
    expect(c).not.toBe(b);
    expect(c.entries[0]!.key.keyvalue.at(-1)).toBe(b.entries[0]!.key.keyvalue.at(-1)! ^ 0xff);
    expect(() => readKeytabCached(path.join(dir, 'absent'))).toThrow(FileNotFoundError);
  });
});
