/**
 * What kinit and kpasswd share for a password change, as MIT's
 * gic_pwd.c and kpasswd.c do it: an initial ticket for kadmin/changepw
 * (five minutes, nothing forwardable, proxiable or renewable), the new
 * password asked twice ("Enter new password: ", "Enter it again: "), and the
 * request to the realm's kpasswd service.
 */
import { changePassword, getInitialCredentials, kpasswdResultCodeString, type ChangePasswordResult, type Credential, type Krb5Config, type Principal } from '@kpop/common';
import type { CliIo } from './io.js';

export const CHANGEPW_LIFETIME = 5 * 60;

export function changepwPrincipal(realm: string): Principal {
  return { realm, name: { nameType: 1, nameString: ['kadmin', 'changepw'] } };
}

/** An initial ticket for kadmin/changepw@REALM with this password (or the prompt). */
export async function changepwTicket(config: Krb5Config, client: Principal, password: string | ((c: Principal) => Promise<string>), now: () => Date): Promise<Credential> {
  const r = await getInitialCredentials({
    config,
    client,
    password,
    service: changepwPrincipal(client.realm),
    lifetime: CHANGEPW_LIFETIME,
    renewLifetime: 0,
    forwardable: false,
    proxiable: false,
    now,
  });
  return r.credential;
}

/** The new password typed twice; undefined when the two differ (MIT: KRB5_LIBOS_BADPWDMATCH). */
export async function readNewPassword(io: CliIo): Promise<string | undefined> {
  const first = await io.readPassword('Enter new password: ');
  const second = await io.readPassword('Enter it again: ');
  return first === second ? first : undefined;
}

/** "Password change rejected: <server's words>", as MIT's kpasswd prints a non-zero result. */
export function resultLine(r: ChangePasswordResult): string {
  return `${kpasswdResultCodeString(r.resultCode)}${r.resultString.length ? ': ' : ''}${r.message}`;
}

export { changePassword };
