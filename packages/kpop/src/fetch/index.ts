// The suite's mail client behind `kpop fetch`: POP3 with KPOP sendauth or AUTH GSSAPI, STLS/POP3S, Maildir or mbox.
export { FetchError, type FetchErrorKind } from './errors.js';
export { PopConnection, type ConnectOptions, type TlsOptions } from './connection.js';
export { Pop3Client, type Pop3Reply } from './pop3-client.js';
export { buildApReq, verifyApRep, type ApReqOptions, type BuiltApReq } from './ap-req.js';
export { serviceCredential, type ServiceCredential, type ServiceCredentialOptions } from './credentials.js';
export { kpopSendauth, KPOP_DUMMY_PASS } from './kpop-auth.js';
export { saslGssapi, type GssapiAuthOptions } from './gssapi-auth.js';
export { openStore, guessFormat, mboxEntry, mboxrdBody, type MailStore, type StoreFormat } from './store.js';
export { runFetch, defaultPort, type FetchOptions, type FetchResult, type FetchMechanism, type FetchTls } from './fetch.js';
export { fetchCommand, runFetchCli, type FetchIo } from './cli.js';
