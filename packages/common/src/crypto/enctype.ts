/**
 * The one interface every Kerberos encryption type implements (RFC 3961 §3:
 * the "encryption mechanism profile" and its associated checksum mechanism,
 * §4). Keys are raw protocol-key bytes; usages are RFC 4120 §7.5.1 numbers.
 */
export interface Enctype {
  /** RFC 3961 §8 / IANA etype number, e.g. 18. */
  readonly etype: number;
  /** MIT's canonical name, e.g. 'aes256-cts-hmac-sha1-96'. */
  readonly name: string;
  /** Protocol key length in bytes. */
  readonly keySize: number;
  /** The keyed checksum type that goes with this enctype (RFC 3961 §4). */
  readonly checksumType: number;
  /** Length in bytes of the checksum this enctype's checksum type produces. */
  readonly checksumSize: number;
  /** Bytes added by encrypt(): confounder plus integrity tag. */
  readonly overhead: number;
  /** Default PBKDF2 iteration count when ETYPE-INFO2 carries no s2kparams. */
  readonly defaultIterations: number;

  /** encrypt(key, usage, plaintext): confounder ‖ plaintext, encrypted, with its MAC. */
  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Uint8Array;
  /** Inverse of encrypt; throws KrbError KRB_AP_ERR_BAD_INTEGRITY when the MAC does not verify. */
  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array;
  /** The keyed checksum (get_mic) of data with the usage's Kc. */
  checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array;
  /** Constant-time verify_mic. */
  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, mac: Uint8Array): boolean;
  /** string-to-key; s2kparams as carried in ETYPE-INFO2 (RFC 4120 §5.2.7.5). */
  stringToKey(password: string | Uint8Array, salt: string | Uint8Array, s2kparams?: Uint8Array): Uint8Array;
  /** A fresh random protocol key. */
  randomKey(): Uint8Array;
  /** random-to-key (RFC 3961 §3): identity for AES. */
  randomToKey(bits: Uint8Array): Uint8Array;
  /** The enctype's pseudo-random function (RFC 3961 §3 pseudo-random). */
  prf(key: Uint8Array, input: Uint8Array): Uint8Array;
  /** Output length of prf() in bytes. */
  readonly prfSize: number;
}
