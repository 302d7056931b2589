// @kpop/kdc: the KDC (database, server, test KDC).
export * from './db/index.js';
export * from './server/index.js';
export * from './testing/index.js';
