// GSS-API krb5 mechanism pieces (RFC 2743 §3.1, RFC 1964, RFC 4121) and the
// AP-REQ acceptor shared by KPOP and SASL GSSAPI (RFC 4752).
export * from './errors.js';
export * from './token.js';
export * from './checksum.js';
export * from './wrap.js';
export * from './replay-cache.js';
export * from './acceptor.js';
export * from './sasl-gssapi.js';
