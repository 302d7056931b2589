/**
 * The PostgreSQL schema: the SQLite store's tables (../schema.ts, ../policy.ts)
 * with PostgreSQL's types (BIGINT milliseconds, BYTEA keys), in the schema
 * kpop_kdc. Differences, and why:
 *
 * - generation: a one-row table, not a meta value. Every administrative
 *   write takes `UPDATE generation SET gen = gen + 1 RETURNING gen` first:
 *   the row lock orders writers, so generations commit in order and a KDC
 *   that has seen generation G has seen every row with gen <= G (a
 *   sequence would let gen 6 commit before gen 5 and a reload miss 5).
 * - principal_keys.pos: the keys' order within a kvno (the realm's enctype
 *   order), which SQLite kept by rowid.
 * - deleted: one tombstone per name (primary key), upserted.
 * - principal_policy (policy): `delpol` counts a policy's principals.
 *
 * Every lookup the writes do has its index: principals (name) and (gen),
 * principal_keys (principal, …), deleted (name) and (gen), policies (name),
 * principal_policy (principal) and (policy), password_history (principal, …).
 */
import { POLICY_COLUMNS } from '../policy.js';

export const PG_SCHEMA_VERSION = 1;

export const PG_DDL = `
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE generation (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), gen BIGINT NOT NULL);
CREATE TABLE principals (
  name TEXT PRIMARY KEY,
  components TEXT NOT NULL,
  name_type INTEGER NOT NULL,
  kvno BIGINT NOT NULL,
  attributes INTEGER NOT NULL,
  max_life INTEGER NOT NULL,
  max_renew INTEGER NOT NULL,
  expires_at BIGINT,
  pw_expires_at BIGINT,
  last_pw_change BIGINT,
  created_at BIGINT NOT NULL,
  modified_at BIGINT NOT NULL,
  last_success BIGINT,
  last_failure BIGINT,
  fail_count INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT,
  gen BIGINT NOT NULL
);
CREATE INDEX principals_gen ON principals (gen);
CREATE TABLE principal_keys (
  principal TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
  kvno BIGINT NOT NULL,
  etype INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  salt TEXT NOT NULL,
  s2kparams BYTEA,
  key_enc BYTEA NOT NULL,
  PRIMARY KEY (principal, kvno, etype)
);
CREATE TABLE deleted (name TEXT PRIMARY KEY, gen BIGINT NOT NULL);
CREATE INDEX deleted_gen ON deleted (gen);
CREATE TABLE policies (${POLICY_COLUMNS});
CREATE TABLE principal_policy (
  principal TEXT PRIMARY KEY REFERENCES principals (name) ON DELETE CASCADE,
  policy TEXT NOT NULL
);
CREATE INDEX principal_policy_policy ON principal_policy (policy);
CREATE TABLE password_history (
  principal TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
  kvno BIGINT NOT NULL,
  etype INTEGER NOT NULL,
  salt TEXT NOT NULL,
  s2kparams BYTEA,
  key_enc BYTEA NOT NULL,
  PRIMARY KEY (principal, kvno, etype)
);
`;

/** NOTIFY channels: an administrative change (payload: the generation), lockout bookkeeping (payload: JSON of the row's fields). */
export const CHANGE_CHANNEL = 'kpop_kdc_change';
export const LOCKOUT_CHANNEL = 'kpop_kdc_lockout';
