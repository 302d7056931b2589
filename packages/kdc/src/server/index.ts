export { startKdcServer } from './kdc-server.js';
export type { KdcServer, KdcServerOptions, ListenAddress } from './kdc-server.js';
export { DEFAULT_TCP_LIMITS } from './tcp.js';
export type { TcpLimits } from './tcp.js';
export * from '../exchange/index.js';
export { startKpasswdServer, ensureChangepwPrincipal } from './kpasswd-server.js';
export type { KpasswdServer, KpasswdServerOptions } from './kpasswd-server.js';
