// @kpop/kdc: the KDC (database, server, test KDC).
export * from './db/index.js';
