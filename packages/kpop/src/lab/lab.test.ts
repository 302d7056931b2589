import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKrb5Config } from '@kpop/common';
import { bannerLines } from './banner.js';
import { randomPassword } from './create.js';
import { labPaths, labState } from './layout.js';
import { DEFAULT_LAB_PORTS, labKrb5Conf } from './run.js';
import { welcomeMessage } from './welcome.js';

const dir = mkdtempSync(join(tmpdir(), 'kpop-lab-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lab folder states', () => {
  it('absent and empty folders are empty; lab.json makes a lab; anything else is foreign', () => {
    expect(labState(labPaths(join(dir, 'none')))).toBe('empty');
    mkdirSync(join(dir, 'e'));
    expect(labState(labPaths(join(dir, 'e')))).toBe('empty');
    mkdirSync(join(dir, 'f'));
    writeFileSync(join(dir, 'f', 'notes.txt'), 'x');
    expect(labState(labPaths(join(dir, 'f')))).toBe('foreign');
    writeFileSync(join(dir, 'f', 'lab.json'), '{}');
    expect(labState(labPaths(join(dir, 'f')))).toBe('lab');
  });
});

describe('passwords', () => {
  it('are 12 characters without look-alikes, and differ', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = randomPassword();
      expect(p).toMatch(/^[a-km-zA-HJ-NP-RT-Y34679]{12}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });
});

describe('krb5.conf', () => {
  it('names the KDC port and maps localhost and 127.0.0.1 to the realm, without DNS', () => {
    const c = parseKrb5Config(labKrb5Conf('LAB.TEST', 8888));
    expect(c.defaultRealm).toBe('LAB.TEST');
    expect(c.kdcs('LAB.TEST')).toEqual([expect.objectContaining({ host: '127.0.0.1', port: 8888 })]);
    expect(c.hostRealm('localhost')).toBe('LAB.TEST');
    expect(c.hostRealm('127.0.0.1')).toBe('LAB.TEST');
    expect(c.rdns).toBe(false);
  });
});

describe('banner', () => {
  const base = { realm: 'LAB.TEST', paths: labPaths('/srv/lab'), users: ['alice', 'bob'] };

  it('shows passwords only when given, and the default-port fetchmail KPOP line without -P', () => {
    const fresh = bannerLines({ ...base, ports: DEFAULT_LAB_PORTS, created: true, passwords: { alice: 'pw-a', bob: 'pw-b' } }).join('\n');
    expect(fresh).toMatch(/alice +pw-a/);
    expect(fresh).toContain("fetchmail -f /dev/null --nodetach --nosyslog -p KPOP --auth kerberos_v5 -u alice --sslproto '' -k -m '/bin/cat >> alice.mbox' localhost");
    const again = bannerLines({ ...base, ports: DEFAULT_LAB_PORTS, created: false }).join('\n');
    expect(again).not.toContain('pw-a');
    expect(again).toContain('(reused; --reset makes a new one)');
  });

  it('quotes paths for the shell and warns that fetchmail KPOP wants port 1109', () => {
    const lines = bannerLines({ ...base, paths: labPaths("/tmp/it's here"), ports: { ...DEFAULT_LAB_PORTS, kpop: 2109 }, created: false }).join('\n');
    expect(lines).toContain(`export KRB5_CONFIG='/tmp/it'\\''s here/krb5.conf'`);
    expect(lines).toContain('-P 2109');
    expect(lines).toContain('and serve KPOP on 1109');
  });
});

describe('welcome message', () => {
  it('is an RFC 5322 message addressed to the user', () => {
    const m = welcomeMessage('bob', 'LAB.TEST', new Date('2026-01-02T03:04:05Z')).toString();
    expect(m).toMatch(/^Date: Fri, 02 Jan 2026 03:04:05 \+0000\nFrom: .*\nTo: bob@localhost\nSubject: Welcome to the LAB.TEST realm, bob\nMessage-ID: <[0-9a-f]{16}@lab\.localhost>\n/);
    expect(m).toContain('\n\nHello bob,\n');
  });
});
