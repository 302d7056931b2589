// Strict DER for Kerberos: a reader, a reverse writer, and ASN.1 schemas as data.
export * from './errors.js';
export * from './reader.js';
export * from './writer.js';
export * from './schema.js';
export * from './tree.js';
