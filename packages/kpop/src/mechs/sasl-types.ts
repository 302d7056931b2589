/** The shared SASL layer's interface, as the mechanisms in this folder use it. */
export { SaslError, type SaslMechanism, type SaslOutcome, type SaslStep } from '../sasl/mechanism.js';
