// @kpop/common: what every part of the suite shares.
// Each concern lives in its own folder and re-exports from its index.ts.
export * from './der/index.js';
export * from './krb5/index.js';
export * from './net/index.js';
export * from './crypto/index.js';
export * from './keytab/index.js';
export * from './client/index.js';
export * from './gss/index.js';
export * from './ccache/index.js';
export * from './text/index.js';
export * from './kpasswd/index.js';
export * from './log/index.js';
