export { startKdcServer } from './kdc-server.js';
export type { KdcServer, KdcServerOptions, ListenAddress } from './kdc-server.js';
export { DEFAULT_TCP_LIMITS, tcpConnectionLimits } from './tcp.js';
export { DEFAULT_REQUEST_LIMITS, RequestGate } from './rate-limit.js';
export type { RequestLimits } from './rate-limit.js';
export { parseWorkers } from './workers.js';
export type { TcpLimits } from './tcp.js';
export * from '../exchange/index.js';
