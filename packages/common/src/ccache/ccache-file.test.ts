import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileFormatError, FileNotFoundError } from '../keytab/binary.js';
import {
  destroyCcache,
  findCredential,
  listCcacheCollection,
  newCcacheInCollection,
  parseCcache,
  readCcache,
  resolveCcacheName,
  setPrimaryCcache,
  storeCredentials,
  writeCcache,
} from './index.js';

const FIX = new URL('../../../../test/fixtures/mit/', import.meta.url);
const ccBytes = new Uint8Array(fs.readFileSync(new URL('ccache.bin', FIX)));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const uid = process.getuid!();

describe('resolveCcacheName', () => {
  it('FILE: prefix, bare paths and KRB5CCNAME', () => {
    expect(resolveCcacheName('FILE:/tmp/x', {})).toEqual({ type: 'FILE', residual: '/tmp/x', path: '/tmp/x' });
    expect(resolveCcacheName('/tmp/y', {})).toEqual({ type: 'FILE', residual: '/tmp/y', path: '/tmp/y' });
    expect(resolveCcacheName('cc.rel', {}).path).toBe('cc.rel');
    expect(resolveCcacheName(undefined, { KRB5CCNAME: 'FILE:/run/cc' }).path).toBe('/run/cc');
    expect(resolveCcacheName('FILE:/explicit', { KRB5CCNAME: 'FILE:/env' }).path).toBe('/explicit');
  });

  it('defaults to /tmp/krb5cc_<uid>, or krb5.conf default_ccache_name with tokens expanded', () => {
    expect(resolveCcacheName(undefined, {})).toEqual({ type: 'FILE', residual: `/tmp/krb5cc_${uid}`, path: `/tmp/krb5cc_${uid}` });
    expect(resolveCcacheName(undefined, { KRB5CCNAME: '' }).path).toBe(`/tmp/krb5cc_${uid}`);
    expect(resolveCcacheName(undefined, { TMPDIR: '/var/tmp' }, 'FILE:%{TEMP}/cc_%{uid}').path).toBe(`/var/tmp/cc_${uid}`);
    // KRB5CCNAME is used literally, as MIT does.
    expect(resolveCcacheName(undefined, { KRB5CCNAME: 'FILE:/x/%{uid}' }).path).toBe('/x/%{uid}');
  });

  it('DIR: collections follow the primary file, DIR:: names one cache', () => {
    const coll = path.join(dir, 'coll');
    fs.mkdirSync(coll);
    expect(resolveCcacheName(`DIR:${coll}`, {})).toEqual({ type: 'DIR', residual: coll, path: path.join(coll, 'tkt'), collection: coll });
    fs.writeFileSync(path.join(coll, 'primary'), 'tktABC\n');
    expect(resolveCcacheName(undefined, { KRB5CCNAME: `DIR:${coll}` }).path).toBe(path.join(coll, 'tktABC'));
    expect(resolveCcacheName(`DIR::${coll}/tktXYZ`, {})).toEqual({ type: 'DIR', residual: `:${coll}/tktXYZ`, path: `${coll}/tktXYZ`, collection: coll });
    expect(() => resolveCcacheName(`DIR::${coll}/other`, {})).toThrow(/must be named tkt/);
    fs.writeFileSync(path.join(coll, 'primary'), '../../etc/passwd\n');
    expect(() => resolveCcacheName(`DIR:${coll}`, {})).toThrow(/not a tkt\* cache file/);
  });

  it('refuses cache types that are not files', () => {
    expect(() => resolveCcacheName('KEYRING:persistent:0', {})).toThrow(/Unsupported credentials cache type "KEYRING"/);
    expect(() => resolveCcacheName('MEMORY:x', {})).toThrow(/Unsupported credentials cache type "MEMORY"/);
    expect(() => resolveCcacheName('FILE:', {})).toThrow(/no file name/);
  });
});

describe('ccache files', () => {
  it('writes atomically with mode 0600 and reads back', () => {
    const p = path.join(dir, 'cc1');
    fs.writeFileSync(p, 'old', { mode: 0o644 });
    writeCcache(p, parseCcache(ccBytes));
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
    expect(Buffer.from(fs.readFileSync(p)).equals(Buffer.from(ccBytes))).toBe(true);
    expect(readCcache(p).credentials).toHaveLength(4);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a reader holding the old file keeps a consistent copy while we replace it', () => {
    const p = path.join(dir, 'cc2');
    writeCcache(p, parseCcache(ccBytes));
    const fd = fs.openSync(p, 'r');
    const c = parseCcache(ccBytes);
    writeCcache(p, { ...c, credentials: c.credentials.slice(0, 3) });
    const old = Buffer.alloc(ccBytes.length);
    expect(fs.readSync(fd, old, 0, old.length, 0)).toBe(ccBytes.length);
    fs.closeSync(fd);
    expect(parseCcache(new Uint8Array(old)).credentials).toHaveLength(4);
    expect(readCcache(p).credentials).toHaveLength(3);
  });

  it('storeCredentials replaces the same client/server and appends new ones', () => {
    const p = path.join(dir, 'cc3');
    const c = parseCcache(ccBytes);
    writeCcache(p, { ...c, credentials: c.credentials.slice(0, 3) });
    const pop = c.credentials[3]!;
    storeCredentials(p, [pop]);
    const renewed = { ...c.credentials[2]!, endtime: new Date('2026-11-30T06:11:57Z') };
    const after = storeCredentials(p, [renewed]);
    expect(after.credentials).toHaveLength(4);
    const back = readCcache(p);
    expect(findCredential(back, c.credentials[2]!.server)?.endtime).toEqual(new Date('2026-11-30T06:11:57Z'));
    // name type does not matter (fetchmail asks for pop/HOST with NT_UNKNOWN)
    expect(findCredential(back, { realm: 'LAB.TEST', name: { nameType: 0, nameString: ['pop', 'localhost'] } })?.ticket).toEqual(pop.ticket);
    expect(findCredential(back, pop.server, { realm: 'LAB.TEST', name: { nameType: 1, nameString: ['bob'] } })).toBeUndefined();
  });

  it('missing, truncated and destroyed caches', () => {
    const p = path.join(dir, 'cc4');
    expect(() => readCcache(p)).toThrow(FileNotFoundError);
    expect(() => storeCredentials(p, [])).toThrow(FileNotFoundError);
    fs.writeFileSync(p, ccBytes.subarray(0, 700));
    expect(() => readCcache(p)).toThrow(FileFormatError);
    expect(() => readCcache(p)).toThrow(/truncated/);
    expect(destroyCcache(p)).toBe(true);
    expect(destroyCcache(p)).toBe(false);
  });

  it('DIR collections: new caches, primary switching, listing primary first', () => {
    const coll = path.join(dir, 'coll2');
    const a = newCcacheInCollection(coll);
    const b = newCcacheInCollection(coll);
    expect(fs.statSync(coll).mode & 0o777).toBe(0o700);
    expect(path.basename(a)).toMatch(/^tkt[A-Za-z0-9]+$/);
    writeCcache(a, parseCcache(ccBytes));
    writeCcache(b, parseCcache(ccBytes));
    setPrimaryCcache(coll, b);
    expect(fs.readFileSync(path.join(coll, 'primary'), 'utf8')).toBe(path.basename(b) + '\n');
    expect(resolveCcacheName(`DIR:${coll}`, {}).path).toBe(b);
    expect(listCcacheCollection(coll)).toEqual([b, a]);
    setPrimaryCcache(coll, a);
    expect(listCcacheCollection(coll)).toEqual([a, b]);
    expect(() => setPrimaryCcache(coll, '/elsewhere/tktX')).toThrow(/not a cache file of the collection/);
    expect(listCcacheCollection(path.join(dir, 'none'))).toEqual([]);
  });
});
