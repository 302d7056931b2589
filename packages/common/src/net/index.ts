export * from './framing.js';
export * from './sendauth.js';
