/**
 * Error texts as MIT's tools print them. KDC errors use MIT's krb5_err.et
 * wording (not the RFC's), with MIT's extended messages for unknown client
 * and server; library conditions keep the ClientError message; anything
 * unexpected becomes its message alone — never a stack trace.
 */
import { ClientError, KrbError, FileNotFoundError, FileFormatError, formatPrincipal } from '@kpop/common';
import type { Principal } from '@kpop/common';

/**
 * MIT krb5_err.et texts for the KDC error codes (RFC 4120 §7.5.9 numbers).
 * Deliberately not ErrorText from krb5/errors.ts, though a few lines match:
 * that table has the RFC's wording, which differs from MIT's for many codes
 * (22 of them: 3-5, 8-11, 13, 18, 21-24, 28, 29, 31, 36, 40, 43, 44, 52,
 * 60), and scripts look for MIT's.
 */
const MIT_TEXT: Readonly<Record<number, string>> = {
  0: 'No error',
  1: "Client's entry in database has expired",
  2: "Server's entry in database has expired",
  3: 'Requested protocol version not supported',
  4: "Client's key is encrypted in an old master key",
  5: "Server's key is encrypted in an old master key",
  6: 'Client not found in Kerberos database',
  7: 'Server not found in Kerberos database',
  8: 'Principal has multiple entries in Kerberos database',
  9: 'Client or server has a null key',
  10: 'Ticket is ineligible for postdating',
  11: 'Requested effective lifetime is negative or too short',
  12: 'KDC policy rejects request',
  13: "KDC can't fulfill requested option",
  14: 'KDC has no support for encryption type',
  15: 'KDC has no support for checksum type',
  16: 'KDC has no support for padata type',
  17: 'KDC has no support for transited type',
  18: "Client's credentials have been revoked",
  19: 'Credentials for server have been revoked',
  20: 'TGT has been revoked',
  21: 'Client not yet valid - try again later',
  22: 'Server not yet valid - try again later',
  23: 'Password has expired',
  24: 'Preauthentication failed',
  25: 'Additional pre-authentication required',
  26: "Requested server and ticket don't match",
  27: 'Server principal valid for user2user only',
  28: 'KDC policy rejects transited path',
  29: 'A service is not available that is required to process the request',
  31: 'Decrypt integrity check failed',
  32: 'Ticket expired',
  33: 'Ticket not yet valid',
  34: 'Request is a replay',
  35: "The ticket isn't for us",
  36: "Ticket/authenticator don't match",
  37: 'Clock skew too great',
  38: 'Incorrect net address',
  39: 'Protocol version mismatch',
  40: 'Invalid message type',
  41: 'Message stream modified',
  42: 'Message out of order',
  43: 'Illegal cross-realm ticket',
  44: 'Key version is not available',
  45: 'Service key not available',
  46: 'Mutual authentication failed',
  47: 'Incorrect message direction',
  48: 'Alternative authentication method required',
  49: 'Incorrect sequence number in message',
  50: 'Inappropriate type of checksum in message',
  51: 'Policy rejects transited path',
  52: 'Response too big for UDP, retry with TCP',
  60: 'Generic error (see e-text)',
  61: 'Field is too long for this implementation',
  68: 'Wrong realm',
};

export interface MessageContext {
  /** The client asked for (kinit), for "Client '…' not found". */
  client?: Principal;
  /** The service asked for (kvno), for "Server … not found". */
  server?: Principal;
  /** kinit with a password: 24 and 31 mean a wrong password. */
  password?: boolean;
}

/** The text MIT would print for an error (without the "prog: " and "while …" parts). */
export function errorText(e: unknown, ctx: MessageContext = {}): string {
  if (e instanceof FileNotFoundError) {
    // MIT's KRB5_FCC_NOFILE text, with the file name klist and kvno add.
    return e.message.startsWith('Credentials cache') ? `No credentials cache found (filename: ${e.file})` : e.message;
  }
  if (e instanceof FileFormatError) return e.message;
  if (e instanceof ClientError) return e.message;
  if (e instanceof KrbError) {
    if (ctx.password && (e.code === 24 || e.code === 31)) return 'Password incorrect';
    if (e.code === 6 && ctx.client) return `Client '${formatPrincipal(ctx.client)}' not found in Kerberos database`;
    if (e.code === 7 && ctx.server) return `Server ${formatPrincipal(ctx.server)} not found in Kerberos database`;
    // KRB_ERR_GENERIC: the KDC's e-text, or our own message (file errors use this code too).
    if (e.code === 60) return e.eText ?? e.message;
    const t = MIT_TEXT[e.code];
    if (t !== undefined) return t;
    return e.message;
  }
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return `Permission denied: ${e.message.replace(/^EACCES: permission denied, /, '')}`;
    return e.message;
  }
  return String(e);
}
