import { describe, expect, it } from 'vitest';
import { formatPrincipal, parsePrincipal, principalEquals, NameType } from './principal.js';
import { KrbError } from './errors.js';

describe('principal text form', () => {
  it('parses names with and without realm, as MIT does', () => {
    expect(parsePrincipal('alice@LAB.TEST')).toEqual({ realm: 'LAB.TEST', name: { nameType: 1, nameString: ['alice'] } });
    expect(parsePrincipal('pop/localhost', { defaultRealm: 'LAB.TEST' })).toEqual({ realm: 'LAB.TEST', name: { nameType: 1, nameString: ['pop', 'localhost'] } });
    expect(parsePrincipal('krbtgt/LAB.TEST@LAB.TEST').name.nameType).toBe(NameType.NT_SRV_INST);
  });
  it('handles escapes both ways', () => {
    const p = parsePrincipal('a\\/b\\@c/x@R\\@S');
    expect(p).toEqual({ realm: 'R@S', name: { nameType: 1, nameString: ['a/b@c', 'x'] } });
    expect(formatPrincipal(p)).toBe('a\\/b\\@c/x@R\\@S');
  });
  it('rejects malformed names with a KrbError', () => {
    for (const bad of ['alice@', 'a//b@R', 'alice@R@S', 'alice\\', '/x@R']) {
      expect(() => parsePrincipal(bad, { defaultRealm: 'R' }), bad).toThrow(KrbError);
    }
    expect(() => parsePrincipal('alice')).toThrow(/no default realm/);
  });
  it('compares without the name type', () => {
    const a = parsePrincipal('pop/localhost@R');
    const b = { ...a, name: { ...a.name, nameType: 0 } };
    expect(principalEquals(a, b)).toBe(true);
  });
});
