/**
 * Principal names as text, in MIT's syntax (krb5_parse_name / krb5_unparse_name):
 * components separated by '/', the realm after an unescaped '@', and the
 * escapes \/ \@ \\ \n \t \b \0 inside components and realm.
 */
import { KrbError, ErrorCode } from './errors.js';
import type { Principal, PrincipalName } from './types.js';

/** RFC 4120 §6.2 name types. */
export const NameType = {
  NT_UNKNOWN: 0,
  NT_PRINCIPAL: 1,
  NT_SRV_INST: 2,
  NT_SRV_HST: 3,
  NT_SRV_XHST: 4,
  NT_UID: 5,
  NT_X500_PRINCIPAL: 6,
  NT_SMTP_NAME: 7,
  NT_ENTERPRISE: 10,
  /** RFC 6111 §3 */
  NT_WELLKNOWN: 11,
} as const;

const unescapes: Record<string, string> = { n: '\n', t: '\t', b: '\b', '0': '\0' };

export interface ParsePrincipalOptions {
  /** Realm to use when the text has none (krb5.conf default_realm). */
  defaultRealm?: string;
  /** Name type to give the result; default NT_PRINCIPAL, or NT_SRV_INST for krbtgt/… */
  nameType?: number;
}

/** Parse "alice", "alice@REALM", "pop/host@REALM" into a Principal. */
export function parsePrincipal(text: string, options: ParsePrincipalOptions = {}): Principal {
  const components: string[] = [];
  let current = '';
  let realm: string | undefined;
  let inRealm = false;
  for (let i = 0; i < text.length; i++) {
    let c = text[i]!;
    if (c === '\\') {
      i++;
      if (i >= text.length) throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Malformed principal name "${text}": trailing backslash`);
      c = text[i]!;
      current += unescapes[c] ?? c;
      continue;
    }
    if (!inRealm && c === '/') {
      components.push(current);
      current = '';
    } else if (!inRealm && c === '@') {
      components.push(current);
      current = '';
      inRealm = true;
    } else if (inRealm && (c === '@' || c === '/')) {
      // MIT rejects a second '@'; a '/' in a realm is allowed only escaped.
      throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Malformed principal name "${text}"`);
    } else {
      current += c;
    }
  }
  if (inRealm) realm = current;
  else components.push(current);
  if (components.some((c) => c.length === 0)) throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Malformed principal name "${text}": empty component`);
  if (realm === undefined || realm === '') {
    if (inRealm && realm === '') throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Malformed principal name "${text}": empty realm`);
    if (!options.defaultRealm) throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Principal "${text}" has no realm and no default realm is configured`);
    realm = options.defaultRealm;
  }
  const nameType = options.nameType ?? (components[0] === 'krbtgt' && components.length === 2 ? NameType.NT_SRV_INST : NameType.NT_PRINCIPAL);
  return { realm, name: { nameType, nameString: components } };
}

function escapeComponent(s: string, isRealm: boolean): string {
  let out = '';
  for (const c of s) {
    if (c === '\\' || c === '@' || (!isRealm && c === '/')) out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\b') out += '\\b';
    else if (c === '\0') out += '\\0';
    else out += c;
  }
  return out;
}

/** The name part alone: "pop/localhost". */
export function formatPrincipalName(name: PrincipalName): string {
  return name.nameString.map((c) => escapeComponent(c, false)).join('/');
}

/** "pop/localhost@LAB.TEST", as MIT's klist prints it. */
export function formatPrincipal(p: Principal): string {
  return `${formatPrincipalName(p.name)}@${escapeComponent(p.realm, true)}`;
}

/**
 * Principals compare by realm and components only: fetchmail's KPOP tickets
 * name pop/HOST with name-type 0 where kvno uses 1 (RFC 4120 §6.2: the name
 * type is a hint, not part of the name).
 */
export function principalNameEquals(a: PrincipalName, b: PrincipalName): boolean {
  return a.nameString.length === b.nameString.length && a.nameString.every((c, i) => c === b.nameString[i]);
}

export function principalEquals(a: Principal, b: Principal): boolean {
  return a.realm === b.realm && principalNameEquals(a.name, b.name);
}

/** krbtgt/REALM@REALM, name-type NT_SRV_INST. */
export function tgsPrincipal(realm: string, clientRealm = realm): Principal {
  return { realm: clientRealm, name: { nameType: NameType.NT_SRV_INST, nameString: ['krbtgt', realm] } };
}
