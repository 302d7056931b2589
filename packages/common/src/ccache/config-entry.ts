/**
 * Configuration entries (ccache_file_format.rst, "Credential cache
 * configuration entries"): MIT stores per-cache settings as fake
 * credentials whose server is krb5_ccache_conf_data/<key>[/<principal>]
 * in the realm "X-CACHECONF:", with the value in the ticket field and every
 * other field zero. The client is the cache's default principal. Keys MIT
 * 1.20 writes: fast_avail, pa_type, pa_config_data, refresh_time,
 * start_realm, proxy_impersonator.
 */
import { NameType, formatPrincipal, principalEquals } from '../krb5/principal.js';
import type { Principal } from '../krb5/types.js';
import type { Ccache, Credential } from './ccache.js';

export const CONFIG_REALM = 'X-CACHECONF:';
export const CONFIG_NAME = 'krb5_ccache_conf_data';

/** Whether a credential is a configuration entry (krb5_is_config_principal). */
export function isConfigEntry(cred: Credential): boolean {
  return cred.server.realm === CONFIG_REALM && cred.server.name.nameString[0] === CONFIG_NAME;
}

/** The server principal MIT builds for a key (k5_build_conf_principals). */
export function configPrincipal(key: string, principal?: Principal): Principal {
  const nameString = [CONFIG_NAME, key];
  if (principal) nameString.push(formatPrincipal(principal));
  return { realm: CONFIG_REALM, name: { nameType: NameType.NT_PRINCIPAL, nameString } };
}

const EMPTY_PRINCIPAL: Principal = { realm: '', name: { nameType: NameType.NT_UNKNOWN, nameString: [] } };

/**
 * A configuration entry for `key` (associated with `principal`, usually the
 * krbtgt of the initial request, when given). Without `client`, the entry's
 * client is left empty and serializeCcache writes the cache's default
 * principal there, which is what MIT expects when it looks the entry up.
 */
export function makeConfigEntry(key: string, value: Uint8Array, principal?: Principal, client: Principal = EMPTY_PRINCIPAL): Credential {
  const zero = new Date(0);
  return {
    client,
    server: configPrincipal(key, principal),
    key: { keytype: 0, keyvalue: new Uint8Array(0) },
    authtime: zero,
    starttime: zero,
    endtime: zero,
    renewTill: zero,
    isSkey: false,
    ticketFlags: 0,
    addresses: [],
    authdata: [],
    ticket: value,
    secondTicket: new Uint8Array(0),
  };
}

function matches(cred: Credential, key: string, principal?: Principal): boolean {
  return isConfigEntry(cred) && principalEquals(cred.server, configPrincipal(key, principal));
}

/** The value stored under `key` (and `principal`), like krb5_cc_get_config. */
export function getConfig(c: Ccache, key: string, principal?: Principal): Uint8Array | undefined {
  return c.credentials.find((cred) => matches(cred, key, principal))?.ticket;
}

/** Set (or with `value` undefined, remove) a configuration value, like krb5_cc_set_config. Returns a new Ccache. */
export function setConfig(c: Ccache, key: string, value: Uint8Array | undefined, principal?: Principal): Ccache {
  const credentials = c.credentials.filter((cred) => !matches(cred, key, principal));
  if (value !== undefined) credentials.push(makeConfigEntry(key, value, principal, c.defaultPrincipal));
  return { ...c, credentials };
}
