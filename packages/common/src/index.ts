// @kpop/common: what every part of the suite shares.
// Each concern lives in its own folder and re-exports from its index.ts.
export * from './krb5/errors.js';
export * from './krb5/types.js';
export * from './krb5/principal.js';
export * from './net/index.js';
