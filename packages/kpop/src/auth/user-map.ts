/**
 * Principal → mailbox authorisation, the krb5_aname_to_localname /
 * krb5_kuserok idea: alice@DEFAULT_REALM owns mailbox "alice"; anything else
 * needs a line in a map file ("PRINCIPAL USER", like a central .k5login).
 * Principals compare by realm and components (never name type).
 */
import { readFileSync } from 'node:fs';
import { formatPrincipal, parsePrincipal, principalEquals, type Principal } from '@kpop/common';

export interface UserMapEntry {
  principal: Principal;
  user: string;
}

export class UserMapError extends Error {
  override name = 'UserMapError';
}

export function parseUserMap(text: string, realm: string): UserMapEntry[] {
  const out: UserMapEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw new UserMapError(`user map line ${i + 1}: expected "PRINCIPAL USER"`);
    try {
      out.push({ principal: parsePrincipal(fields[0]!, { defaultRealm: realm }), user: fields[1]! });
    } catch (e) {
      throw new UserMapError(`user map line ${i + 1}: ${(e as Error).message}`);
    }
  });
  return out;
}

export class UserMap {
  constructor(readonly realm: string, readonly entries: UserMapEntry[] = []) {}

  static load(path: string, realm: string): UserMap {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new UserMapError(`cannot read user map ${path}: ${(e as Error).message}`);
    }
    return new UserMap(realm, parseUserMap(text, realm));
  }

  /** The mailbox a principal gets by default (empty SASL authzid). */
  localUser(p: Principal): string | undefined {
    const mapped = this.entries.find((e) => principalEquals(e.principal, p));
    if (mapped) return mapped.user;
    if (p.realm === this.realm && p.name.nameString.length === 1) return p.name.nameString[0];
    return undefined;
  }

  /**
   * May principal p open mailbox `user`? `user` may also be written as the
   * full principal name (an authzid like "alice@REALM").
   */
  authorize(p: Principal, user: string): boolean {
    if (user.includes('@')) {
      try {
        const asPrincipal = parsePrincipal(user);
        if (!principalEquals(asPrincipal, p)) return false;
        return this.localUser(p) !== undefined;
      } catch {
        return false;
      }
    }
    if (p.realm === this.realm && p.name.nameString.length === 1 && p.name.nameString[0] === user) return true;
    return this.entries.some((e) => e.user === user && principalEquals(e.principal, p));
  }

  /** Resolve an authzid written as a principal to its mailbox. */
  mailboxFor(p: Principal, user: string): string | undefined {
    if (!this.authorize(p, user)) return undefined;
    return user.includes('@') ? this.localUser(p) : user;
  }

  describe(p: Principal): string {
    return formatPrincipal(p);
  }
}
