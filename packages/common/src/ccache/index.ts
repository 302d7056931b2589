// MIT FILE credential caches (v4, v1–3 read): codec, config entries, files, names.
export { HEADER_KDC_OFFSET, parseCcache, serializeCcache, type Ccache, type Credential, type HeaderField } from './ccache.js';
export { CONFIG_NAME, CONFIG_REALM, configPrincipal, getConfig, isConfigEntry, makeConfigEntry, setConfig } from './config-entry.js';
export { destroyCcache, findCredential, readCcache, storeCredentials, withCredentials, writeCcache } from './ccache-file.js';
export {
  DEFAULT_CCACHE_NAME,
  listCcacheCollection,
  newCcacheInCollection,
  readPrimaryName,
  resolveCcacheName,
  setPrimaryCcache,
  type CcacheLocation,
} from './ccache-name.js';
