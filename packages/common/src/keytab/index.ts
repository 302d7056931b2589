// MIT FILE keytabs (0x0502, 0x0501 read): codec, files, names.
export { FileFormatError, FileNotFoundError } from './binary.js';
export { KEYTAB_V1, KEYTAB_V2, parseKeytab, serializeKeytab, findKeytabKey, type Keytab, type KeytabEntry } from './keytab.js';
export { DEFAULT_KEYTAB_NAME, resolveKeytabName, readKeytab, readKeytabCached, writeKeytab, addKeytabEntries, removeKeytabEntries } from './keytab-file.js';
export { expandPathTokens, splitTypedName } from './names.js';
