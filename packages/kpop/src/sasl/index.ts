export * from './mechanism.js';
export { decodeBase64, encodeBase64 } from './base64.js';
export { runSaslExchange, type SaslTransport, type SaslResult } from './exchange.js';
export { SaslRegistry } from './registry.js';
export { PlainMechanism, parsePlain, plainFactory } from './plain.js';
export { LoginMechanism, loginFactory } from './login.js';
export { GssapiMechanism, gssapiFactory } from './gssapi.js';
