/** Strict base64 (RFC 4648 §4) as SASL requires (RFC 4422 §3.1 via the protocols). */

/** Decodes strict base64; undefined when malformed (bad alphabet, bad padding). */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function encodeBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}
