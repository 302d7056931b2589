/**
 * Errors of the principal database and its administration, each with a
 * stable reason token (as MIT's kadm5 error codes: KADM5_UNK_PRINC,
 * KADM5_DUP, ...). The CLI prints the message as its one line; callers test
 * `reason`, never the text.
 */
export type KdcDbReason =
  | 'UNKNOWN_PRINCIPAL' // no such principal (KADM5_UNK_PRINC)
  | 'DUPLICATE' // principal already exists (KADM5_DUP)
  | 'BAD_NAME' // malformed principal name, or one in another realm
  | 'BAD_ARGUMENT' // an option out of range or contradictory
  | 'PROTECTED' // e.g. deleting krbtgt/REALM
  | 'NO_DATABASE' // openDatabase on a directory without one
  | 'EXISTS' // initRealm on a directory that already holds a database
  | 'NO_MASTER_KEY' // no stash file
  | 'MASTER_PASSWORD_REQUIRED' // the master key comes from a password and none was given
  | 'BAD_STASH' // unreadable or malformed stash file
  | 'BAD_MASTER_KEY'
  | 'MASTER_KEY_MISMATCH' // wrong master password / stash for this database
  | 'BAD_DUMP' // `load` input that is not a dump of ours, or of another realm
  | 'UNREACHABLE' // the PostgreSQL server cannot be reached (refused, down, wrong password)
  | 'CORRUPT'; // the database holds something we cannot read

export class KdcDbError extends Error {
  readonly reason: KdcDbReason;
  constructor(reason: KdcDbReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KdcDbError';
    this.reason = reason;
  }
}
