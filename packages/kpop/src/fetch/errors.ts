/**
 * The mail client's one error type: a message that fits on one line and says
 * what went wrong and what to do. The CLI prints `kpop fetch: <message>`.
 */
export type FetchErrorKind = 'usage' | 'network' | 'protocol' | 'auth' | 'credentials' | 'storage';

export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    readonly kind: FetchErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
