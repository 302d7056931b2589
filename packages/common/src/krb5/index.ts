// RFC 4120 types, constants, errors, principal names and the message codecs.
export * from './errors.js';
export * from './types.js';
export * from './principal.js';
export * from './constants.js';
