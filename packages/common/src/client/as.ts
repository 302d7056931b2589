/**
 * The AS exchange (RFC 4120 §3.1), as MIT's krb5_get_init_creds does it:
 *
 * 1. an AS-REQ without pre-authentication;
 * 2. on KDC_ERR_PREAUTH_REQUIRED, the reply key from ETYPE-INFO2 (etype,
 *    salt, s2kparams: RFC 4120 §5.2.7.5) and a second AS-REQ with
 *    PA-ENC-TIMESTAMP (§5.2.7.2), echoing PA-FX-COOKIE (RFC 6113 §5.2);
 * 3. on KRB_AP_ERR_SKEW carrying the KDC's time, one retry with that time
 *    (MIT's kdc_timesync, on by default);
 * 4. the AS-REP opened with the reply key (usage 3) and checked (§3.1.5:
 *    nonce, names, realm, times); the KDC time offset kept for the ccache.
 *
 * Every AS-REQ carries an empty PA-REQ-ENC-PA-REP (RFC 6806 §11), as MIT's
 * does: a KDC that supports it sets the enc-pa-rep ticket flag and returns,
 * inside the encrypted reply, a checksum of the request it answered, so the
 * unauthenticated first round (etype, salt, cookie) cannot be tampered with
 * unnoticed.
 */
import { randomInt } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { Credential } from '../ccache/index.js';
import { decryptData, encryptData, enctypesFromList, verifyChecksum, getEnctype, isSupportedEnctype, defaultSalt, stringToKey } from '../crypto/index.js';
import type { Keytab } from '../keytab/index.js';
import { findKeytabKey } from '../keytab/index.js';
import {
  decodeChecksum,
  decodeEncKdcRepPart,
  decodeEtypeInfo2,
  decodeMethodData,
  encodeAsReq,
  encodeEncryptedData,
  encodePaEncTsEnc,
  krbErrorFromMessage,
} from '../krb5/index.js';
import { KdcOptions, KeyUsage, MsgType, PaDataType, TicketFlags } from '../krb5/constants.js';
import { ErrorCode, KrbError } from '../krb5/errors.js';
import { formatPrincipal, principalEquals, principalNameEquals, tgsPrincipal } from '../krb5/principal.js';
import type { AsRep, EncKdcRepPart, EncryptionKey, EtypeInfo2Entry, HostAddress, KdcReqBody, KrbErrorMessage, PaData, Principal } from '../krb5/types.js';
import type { Krb5Config } from './config.js';
import { ClientError } from './errors.js';
import { credentialFromReply, decodeReply } from './reply.js';
import { sendToKdc } from './transport.js';

export type KdcSender = (realm: string, request: Uint8Array) => Promise<Uint8Array>;

export interface InitialCredentialsOptions {
  config: Krb5Config;
  client: Principal;
  /** The password, or a function asked for it once it is needed (kinit's prompt comes after the first reply). */
  password?: string | Uint8Array | ((client: Principal) => Promise<string | Uint8Array>);
  /** Use the client's long-term key from this keytab instead of a password. */
  keytab?: Keytab;
  /** Default krbtgt/REALM@REALM. */
  service?: Principal;
  /** Seconds; default ticket_lifetime. */
  lifetime?: number;
  /** Seconds; default renew_lifetime (0 = not renewable). */
  renewLifetime?: number;
  /** Postdated start (kinit -s). */
  startTime?: Date;
  forwardable?: boolean;
  proxiable?: boolean;
  canonicalize?: boolean;
  addresses?: HostAddress[];
  /** Default: default_tkt_enctypes, else permitted_enctypes, else DEFAULT. */
  etypes?: number[];
  now?: () => Date;
  send?: KdcSender;
  trace?: (line: string) => void;
  /** Nonce source (tests replaying captured replies); default a random 31-bit number. */
  nonce?: () => number;
}

export interface InitialCredentials {
  credential: Credential;
  /** The KDC's clock minus ours, as MIT keeps it in the ccache header. */
  kdcOffset: { seconds: number; microseconds: number };
  /** The pre-authentication type that worked (MIT stores it as the pa_type config entry). */
  paType?: number;
  encPart: EncKdcRepPart;
  reply: AsRep;
}

/** The enctypes to request, in preference order, keeping only those we implement. */
export function requestEnctypes(config: Krb5Config, kind: 'tkt' | 'tgs', explicit?: number[]): number[] {
  const list = explicit ?? enctypesFromList((kind === 'tkt' ? config.defaultTktEnctypes : config.defaultTgsEnctypes) ?? config.permittedEnctypes ?? 'DEFAULT');
  const out = list.filter((e, i) => isSupportedEnctype(e) && list.indexOf(e) === i);
  if (out.length === 0) throw new ClientError('KRB5_PROG_ETYPE_NOSUPP', 'No supported encryption types (config file error?)');
  return out;
}

/**
 * A fresh 31-bit nonce (MIT keeps nonces positive: some KDCs mishandle
 * negative INTEGERs), from the kernel's generator (/dev/urandom, what
 * node:crypto's randomInt draws on as well), so that the first AS-REQ can
 * go out before node:crypto is loaded (see getInitialCredentials); where
 * that device cannot be read, from randomInt.
 */
export function makeNonce(): number {
  const b = Buffer.alloc(4);
  let fd = -1;
  try {
    fd = openSync('/dev/urandom', 'r');
    if (readSync(fd, b, 0, 4, null) === 4) return b.readUInt32BE(0) >>> 1;
  } catch {
    // fall through to node:crypto
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return randomInt(0, 0x7fffffff);
}

/**
 * Load node:crypto now, while a request is on its way: the bins are
 * CommonJS bundles in which node:crypto loads at its first use (see
 * lazyBuiltins in scripts/build.mjs), 2.5-4 ms that would otherwise come
 * after the KDC's answer. Called from setImmediate, which runs once the
 * datagram is sent (socket set-up and send run in process.nextTick
 * callbacks before it). Elsewhere (ESM, tests) node:crypto is loaded
 * already and this costs nothing.
 */
function loadCryptoMeanwhile(): void {
  process.getBuiltinModule('node:crypto');
}

/** KerberosTime has whole seconds; the microseconds travel separately. */
export function splitTime(t: Date): { time: Date; usec: number } {
  const ms = t.getTime();
  const sec = Math.floor(ms / 1000);
  return { time: new Date(sec * 1000), usec: (ms - sec * 1000) * 1000 + Math.floor(Math.random() * 1000) };
}

function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** The ETYPE-INFO2 entry to use: the KDC lists them by its preference; take the first we asked for. */
function chooseEtypeInfo(padata: PaData[], etypes: number[]): EtypeInfo2Entry | undefined {
  const pa = padata.find((p) => p.padataType === PaDataType.PA_ETYPE_INFO2);
  if (!pa) return undefined;
  return decodeEtypeInfo2(pa.padataValue).find((e) => etypes.includes(e.etype));
}

function methodData(err: KrbErrorMessage): PaData[] {
  if (!err.eData || err.eData.length === 0) return [];
  try {
    return decodeMethodData(err.eData);
  } catch {
    return []; // e-data may be TYPED-DATA or junk; it only carries hints
  }
}

class ReplyKeySource {
  private cached?: EncryptionKey;
  constructor(private readonly opts: InitialCredentialsOptions) {}

  async get(etype: number, salt: string, s2kparams?: Uint8Array): Promise<EncryptionKey> {
    if (this.cached && this.cached.keytype === etype) return this.cached;
    const { keytab, client } = this.opts;
    if (keytab) {
      const e = findKeytabKey(keytab, client, etype);
      if (!e) throw new ClientError('KRB5_KT_NOTFOUND', `Keytab contains no suitable keys for ${formatPrincipal(client)}`);
      return (this.cached = e.key);
    }
    let pw = this.opts.password;
    if (typeof pw === 'function') pw = await pw(client);
    if (pw === undefined) throw new ClientError('KRB5_LIBOS_PWDINTR', 'No password and no keytab given');
    this.opts.password = pw; // ask once, even if a second etype is needed
    return (this.cached = stringToKey(etype, pw, salt, s2kparams));
  }
}

/** Run the AS exchange and return the checked credential. */
export async function getInitialCredentials(opts: InitialCredentialsOptions): Promise<InitialCredentials> {
  const { config, client } = opts;
  const realm = client.realm;
  const clock = opts.now ?? (() => new Date());
  let offsetMs = 0;
  const now = () => new Date(clock().getTime() + offsetMs);
  const send = opts.send ?? ((r: string, req: Uint8Array) => sendToKdc(config, r, req, opts.trace ? { trace: opts.trace } : {}));
  const service = opts.service ?? tgsPrincipal(realm);
  const lifetime = opts.lifetime ?? config.ticketLifetime(realm);
  const renewLifetime = opts.renewLifetime ?? config.renewLifetime(realm);
  let etypes = requestEnctypes(config, 'tkt', opts.etypes);
  if (opts.keytab && !opts.keytab.entries.some((e) => principalEquals(e.principal, client))) {
    // Checked before any request, as MIT's gic_keytab.c does.
    throw new ClientError('KRB5_KT_NOTFOUND', `Keytab contains no suitable keys for ${formatPrincipal(client)}`);
  }
  if (opts.keytab) {
    // MIT sorts the keytab's enctypes for this client first.
    const have = new Set(opts.keytab.entries.filter((e) => principalEquals(e.principal, client)).map((e) => e.key.keytype));
    etypes = [...etypes.filter((e) => have.has(e)), ...etypes.filter((e) => !have.has(e))];
  }
  const keys = new ReplyKeySource(opts);

  let kdcOptions = KdcOptions.RENEWABLE_OK;
  if (opts.forwardable ?? config.forwardable(realm)) kdcOptions |= KdcOptions.FORWARDABLE;
  if (opts.proxiable ?? config.proxiable(realm)) kdcOptions |= KdcOptions.PROXIABLE;
  if (opts.canonicalize) kdcOptions |= KdcOptions.CANONICALIZE;
  if (renewLifetime > 0) kdcOptions |= KdcOptions.RENEWABLE;
  if (opts.startTime) kdcOptions |= KdcOptions.ALLOW_POSTDATE | KdcOptions.POSTDATED;

  let padata: PaData[] = [];
  let replyKey: EncryptionKey | undefined;
  let paType: number | undefined;
  let skewRetried = false;
  let preauthTried = false;

  for (let round = 0; round < 6; round++) {
    const start = opts.startTime ?? now();
    const body: KdcReqBody = {
      kdcOptions: kdcOptions >>> 0,
      cname: client.name,
      realm,
      sname: service.name,
      till: wholeSeconds(new Date(start.getTime() + lifetime * 1000)),
      nonce: (opts.nonce ?? makeNonce)(),
      etype: etypes,
    };
    if (opts.startTime) body.from = wholeSeconds(opts.startTime);
    if (renewLifetime > 0) body.rtime = wholeSeconds(new Date(start.getTime() + renewLifetime * 1000));
    if (opts.addresses?.length) body.addresses = opts.addresses;
    const request = encodeAsReq({ pvno: 5, msgType: MsgType.AS_REQ, padata: [...padata, REQ_ENC_PA_REP], reqBody: body });
    const pending = send(realm, request);
    if (round === 0) setImmediate(loadCryptoMeanwhile);
    const replyBytes = await pending;
    const reply = decodeReply(replyBytes);

    if (reply.msgType === MsgType.KRB_ERROR) {
      const err = reply as KrbErrorMessage;
      const hints = methodData(err);
      if (err.errorCode === ErrorCode.KDC_ERR_PREAUTH_REQUIRED && !preauthTried) {
        const info = chooseEtypeInfo(hints, etypes);
        const etype = info?.etype ?? etypes[0]!;
        if (!hints.some((p) => p.padataType === PaDataType.PA_ENC_TIMESTAMP)) {
          throw new KrbError(ErrorCode.KDC_ERR_PADATA_TYPE_NOSUPP, 'Generic preauthentication failure');
        }
        opts.trace?.(`Selected etype info: etype ${getEnctype(etype).name}, salt "${info?.salt ?? defaultSalt(client)}"`);
        replyKey = await keys.get(etype, info?.salt ?? defaultSalt(client), info?.s2kparams);
        padata = [];
        const cookie = hints.find((p) => p.padataType === PaDataType.PA_FX_COOKIE);
        if (cookie) padata.push(cookie);
        const ts = splitTime(now());
        const enc = encryptData(replyKey, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, encodePaEncTsEnc({ patimestamp: ts.time, pausec: ts.usec }));
        padata.push({ padataType: PaDataType.PA_ENC_TIMESTAMP, padataValue: encodeEncryptedData(enc) });
        paType = PaDataType.PA_ENC_TIMESTAMP;
        preauthTried = true;
        continue;
      }
      if (err.errorCode === ErrorCode.KRB_AP_ERR_SKEW && !skewRetried && err.stime) {
        // The KDC said what time it is; use it, once (MIT kdc_timesync).
        skewRetried = true;
        offsetMs += err.stime.getTime() + Math.floor(err.susec / 1000) - now().getTime();
        if (paType === PaDataType.PA_ENC_TIMESTAMP && replyKey) {
          const ts = splitTime(now());
          const enc = encryptData(replyKey, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, encodePaEncTsEnc({ patimestamp: ts.time, pausec: ts.usec }));
          padata = padata.map((p) => (p.padataType === PaDataType.PA_ENC_TIMESTAMP ? { ...p, padataValue: encodeEncryptedData(enc) } : p));
        }
        continue;
      }
      throw krbErrorFromMessage(err);
    }
    if (reply.msgType !== MsgType.AS_REP) throw new ClientError('KRB5_KDCREP_MODIFIED', `KDC reply did not match expectations (message type ${reply.msgType})`);
    const rep = reply as AsRep;

    if (!replyKey || replyKey.keytype !== rep.encPart.etype) {
      // No pre-authentication was required: the reply's padata (or the default) gives the salt.
      const info = chooseEtypeInfo(rep.padata ?? [], [rep.encPart.etype]);
      const pwSalt = rep.padata?.find((p) => p.padataType === PaDataType.PA_PW_SALT);
      const salt = info?.salt ?? (pwSalt ? new TextDecoder().decode(pwSalt.padataValue) : defaultSalt(client));
      replyKey = await keys.get(rep.encPart.etype, salt, info?.s2kparams);
    }
    const encPart = decodeEncKdcRepPart(decryptData(replyKey, KeyUsage.AS_REP_ENCPART, rep.encPart));
    checkAsReply(body, rep, encPart, opts.canonicalize ?? false);
    checkEncPaRep(encPart, replyKey, request);
    const authtimeS = Math.floor(encPart.authtime.getTime() / 1000);
    const kdcOffset = { seconds: authtimeS - Math.floor(clock().getTime() / 1000), microseconds: 0 };
    const credential = credentialFromReply(rep, encPart);
    return { credential, kdcOffset, ...(paType !== undefined ? { paType } : {}), encPart, reply: rep };
  }
  throw new ClientError('KRB5_KDCREP_MODIFIED', 'Too many rounds in the AS exchange');
}

const REQ_ENC_PA_REP: PaData = { padataType: PaDataType.PA_REQ_ENC_PA_REP, padataValue: new Uint8Array(0) };

/**
 * RFC 6806 §11: with the enc-pa-rep flag set, the reply must hold a checksum
 * (key usage 56, the reply key) over the whole AS-REQ we sent. A missing or
 * wrong one means the exchange was tampered with (MIT: KRB5_KDCREP_MODIFIED).
 */
export function checkEncPaRep(enc: EncKdcRepPart, replyKey: EncryptionKey, request: Uint8Array): void {
  if (!(enc.flags & TicketFlags.ENC_PA_REP)) return;
  const pa = enc.encryptedPaData?.find((p) => p.padataType === PaDataType.PA_REQ_ENC_PA_REP);
  let ok = false;
  if (pa) {
    try {
      ok = verifyChecksum(replyKey, KeyUsage.AS_REQ, request, decodeChecksum(pa.padataValue));
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new ClientError('KRB5_KDCREP_MODIFIED', 'KDC reply did not match expectations (request checksum, RFC 6806)');
}

/** RFC 4120 §3.1.5: what the client must check before trusting an AS-REP. */
export function checkAsReply(req: KdcReqBody, rep: AsRep, enc: EncKdcRepPart, canonicalize: boolean): void {
  const bad = (why: string) => new ClientError('KRB5_KDCREP_MODIFIED', `KDC reply did not match expectations (${why})`);
  if (enc.nonce !== req.nonce) throw bad('nonce');
  if (!canonicalize) {
    if (rep.crealm !== req.realm || !principalNameEquals(rep.cname, req.cname!)) throw bad('client name');
    if (enc.srealm !== req.realm || !principalNameEquals(enc.sname, req.sname!)) throw bad('server name');
  } else if (enc.sname.nameString[0] !== req.sname!.nameString[0]) {
    throw bad('server name');
  }
  if (rep.ticket.realm !== enc.srealm || !principalNameEquals(rep.ticket.sname, enc.sname)) throw bad('ticket server');
  if (enc.endtime.getTime() > req.till.getTime() && req.till.getTime() !== 0) throw bad('end time');
  if (req.from && enc.starttime && Math.abs(enc.starttime.getTime() - req.from.getTime()) > 0 && !(req.kdcOptions & KdcOptions.POSTDATED)) throw bad('start time');
  if (enc.renewTill && req.rtime && !(req.kdcOptions & KdcOptions.RENEWABLE_OK) && enc.renewTill.getTime() > req.rtime.getTime()) throw bad('renew time');
  if (enc.key.keyvalue.length === 0) throw bad('session key');
}
