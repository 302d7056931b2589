export * from './crlf.js';
export * from './maildir.js';
export * from './deliver.js';
export * from './lock.js';
export * from './tmp-clean.js';
