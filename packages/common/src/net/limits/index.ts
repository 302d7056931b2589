export * from './address.js';
export * from './admission.js';
export * from './per-address-log.js';
export * from './rate.js';
