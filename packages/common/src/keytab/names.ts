/**
 * Names of keytabs and ccaches as MIT spells them: "TYPE:residual", a bare
 * path, or a name holding %{token}s (krb5.conf default_keytab_name,
 * default_ccache_name). Shared by keytab/ and ccache/.
 */
import * as os from 'node:os';
import { KrbError, ErrorCode } from '../krb5/errors.js';

/**
 * Split "TYPE:residual" the way krb5_kt_resolve / krb5_cc_resolve do: no
 * colon, a one-letter prefix (a drive letter) or a name starting with '/'
 * means the whole name is a FILE path.
 */
export function splitTypedName(name: string): { type: string; residual: string } {
  const colon = name.indexOf(':');
  if (colon < 0 || name.startsWith('/') || (colon === 1 && /^[A-Za-z]/.test(name))) return { type: 'FILE', residual: name };
  return { type: name.slice(0, colon), residual: name.slice(colon + 1) };
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    throw new KrbError(ErrorCode.KRB_ERR_GENERIC, 'Cannot expand %{username}: the current user has no name');
  }
}

/**
 * Expand MIT's path tokens (lib/krb5/os/expand_path.c, Unix subset):
 * %{uid}, %{euid}, %{USERID} (the effective uid), %{username}, %{TEMP}
 * ($TMPDIR or /tmp) and %{null}. An unknown token is an error, as in MIT.
 */
export function expandPathTokens(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return name.replace(/%\{([^}]*)\}/g, (_m, token: string) => {
    switch (token) {
      case 'uid':
        return String(process.getuid?.() ?? 0);
      case 'euid':
      case 'USERID':
        return String(process.geteuid?.() ?? 0);
      case 'username':
        return userName();
      case 'TEMP':
        return env.TMPDIR || '/tmp';
      case 'null':
        return '';
      default:
        throw new KrbError(ErrorCode.KRB_ERR_GENERIC, `Cannot expand path token %{${token}} in "${name}"`);
    }
  });
}
