// @kpop/kpop: the POP3 / KPOP server, Maildir storage and delivery, local CA.
export { startPopServer, jsonLogger, type PopServer, type PopServerOptions, type ListenAddress } from './server.js';
export * from './maildir/index.js';
export { Pop3Session, type Pop3Config, type Pop3State, type SessionInfo, type LogRecord } from './pop3/session.js';
export { DotStuffer, multiLine } from './pop3/dot-stuff.js';
export { LineReader, TOO_LONG } from './pop3/line-reader.js';
export * from './sasl/index.js';
export { UserMap, parseUserMap, UserMapError } from './auth/user-map.js';
export { KerberosAcceptor, type AcceptorOptions } from './auth/acceptor.js';
export { handleKpopConnection } from './kpop/kpop-listener.js';
export { createCa, issueServerCert, type PemPair } from './tls/ca.js';
export { handleLmtpConnection, type LmtpConfig } from './lmtp/lmtp-session.js';
export { DotUnstuffer } from './lmtp/unstuff.js';
