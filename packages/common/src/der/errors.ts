/**
 * DerError: malformed DER, or a value that cannot be encoded. It names where
 * in the ASN.1 structure the problem is, with the RFC's field names, e.g.
 * `AS-REQ.req-body.till: bad GeneralizedTime "2026113Z"`.
 */
export class DerError extends Error {
  /** Where: the type name then field names, e.g. `AS-REQ.padata[1].padata-type`. */
  path: string;
  /** What is wrong, without the path. */
  readonly reason: string;

  constructor(reason: string, path = '') {
    // No stack trace: a DerError says where it is in the ASN.1 (the path),
    // and capturing the JS stack was most of the cost of refusing junk, which
    // a server does for every hostile datagram (fuzzing showed it).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(path ? `${path}: ${reason}` : reason);
    Error.stackTraceLimit = limit;
    this.name = 'DerError';
    this.reason = reason;
    this.path = path;
  }

  /**
   * Prepends an outer path segment as the error travels up through the
   * decoders (a segment like `[3]` attaches without a dot).
   */
  within(segment: string): this {
    this.path = this.path === '' ? segment : this.path.startsWith('[') ? segment + this.path : `${segment}.${this.path}`;
    this.message = `${this.path}: ${this.reason}`;
    return this;
  }
}

/** Adds a path segment to a DerError; anything else (a bug) is rethrown untouched. */
export function rethrowWithin(e: unknown, segment: string): never {
  if (e instanceof DerError) throw e.within(segment);
  throw e;
}
