// The Kerberos change/set password protocol (RFC 3244): framing, codes, KRB-PRIV, and the client.
export * from './protocol.js';
export * from './priv.js';
export * from './client.js';
