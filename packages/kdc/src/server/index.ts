export { startKdcServer } from './kdc-server.js';
export type { KdcServer, KdcServerOptions, ListenAddress } from './kdc-server.js';
export { DEFAULT_TCP_LIMITS } from './tcp.js';
export { parseWorkers } from './workers.js';
export type { TcpLimits } from './tcp.js';
export * from '../exchange/index.js';
