/**
 * The default salt, RFC 4120 §4: the realm followed by every component of
 * the principal name, with no separators ("LAB.TESTalice",
 * "LAB.TESTpoplocalhost"). A KDC that stores another salt says so in
 * PA-ETYPE-INFO2, which then wins.
 */
import type { Principal } from '../krb5/types.js';

export function defaultSalt(p: Principal): string {
  return p.realm + p.name.nameString.join('');
}
