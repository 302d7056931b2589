// RFC 4120 types, constants, errors, principal names and the message codecs.
export * from './errors.js';
export * from './types.js';
export * from './principal.js';
export * from './constants.js';
export * from './basic-types.js';
export * from './ticket.js';
export * from './kdc-req.js';
export * from './kdc-rep.js';
export * from './ap-req.js';
export * from './ap-rep.js';
export * from './krb-safe.js';
export * from './krb-priv.js';
export * from './krb-cred.js';
export * from './krb-error.js';
export * from './preauth.js';
export * from './message.js';
export * from './fast.js';
