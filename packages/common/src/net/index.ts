export * from './framing.js';
export * from './sendauth.js';
export * from './limits/index.js';
