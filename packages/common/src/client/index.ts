// The Kerberos client: krb5.conf, KDC transport, AS and TGS exchanges, password verification.
export * from './profile.js';
export * from './duration.js';
export * from './config.js';
export * from './errors.js';
export * from './transport.js';
export * from './reply.js';
export * from './as.js';
export * from './tgs.js';
export * from './creds.js';
export * from './verify.js';
export * from './expiry.js';
