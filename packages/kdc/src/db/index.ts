// The KDC's principal database: types shared with the exchanges, the SQLite store, the master key.
export * from './types.js';
