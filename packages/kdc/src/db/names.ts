/**
 * Principal names as the administrator types them ('alice', 'alice@LAB.TEST',
 * 'pop/host'), resolved against the database's realm, and the key the
 * in-memory view is indexed by.
 */
import { formatPrincipal, parsePrincipal, type Principal } from '@kpop/common';
import { KdcDbError } from './errors.js';

export interface ResolvedName { principal: Principal; canonicalName: string }

export function resolveName(name: string, realm: string): ResolvedName {
  if (typeof name !== 'string' || name.length === 0) throw new KdcDbError('BAD_NAME', 'empty principal name');
  let principal: Principal;
  try {
    principal = parsePrincipal(name, { defaultRealm: realm });
  } catch (e) {
    throw new KdcDbError('BAD_NAME', (e as Error).message);
  }
  if (principal.realm !== realm) {
    throw new KdcDbError('BAD_NAME', `principal ${formatPrincipal(principal)} is not in realm ${realm}`);
  }
  // NUL would make two names share an index key (see componentsKey).
  if (principal.name.nameString.some((c) => c.includes('\0'))) throw new KdcDbError('BAD_NAME', `principal name "${name}" contains a NUL character`);
  return { principal, canonicalName: formatPrincipal(principal) };
}

/**
 * Index key of the in-memory view: the components joined by NUL. A name from
 * the wire may contain NUL, so lookup() also compares the components of what
 * it finds; the join is only there to make the common case one Map probe.
 */
export function componentsKey(nameString: readonly string[]): string {
  return nameString.length === 1 ? nameString[0]! : nameString.join('\0');
}

/** True when `glob` (MIT kadmin's listprincs: * ? [..]) matches `text`. */
export function globMatch(glob: string, text: string): boolean {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(re + '$', 's').test(text);
}
