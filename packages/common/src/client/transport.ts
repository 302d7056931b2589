/**
 * Talking to a realm's KDCs (RFC 4120 §7.2.1 UDP, §7.2.2 TCP), in the order
 * and with the timing of MIT's lib/krb5/os/sendto_kdc.c:
 *
 * - pass 1: each KDC in turn over its preferred transport (UDP, or TCP when
 *   the request is longer than udp_preference_limit), waiting kdc_timeout
 *   for any answer before moving to the next; then the other transport;
 * - passes 2..max_retries: UDP retransmissions, each followed by a growing
 *   wait (2 s, 4 s, … times kdc_timeout/1 s);
 * - a KRB-ERROR RESPONSE_TOO_BIG (52) over UDP makes it start again over TCP
 *   only; SVC_UNAVAILABLE (29) counts as no answer from that KDC;
 * - when nothing answers: "Cannot contact any KDC for realm 'R'".
 *
 * Sockets still open keep listening during later waits, so a slow KDC's late
 * answer is taken even after the next one was asked.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Socket as TcpSocket } from 'node:net';
import { ErrorCode } from '../krb5/errors.js';
import { decodeMessage } from '../krb5/index.js';
import { frameMessage, LengthPrefixedReader } from '../net/index.js';
import type { KdcAddress, Krb5Config } from './config.js';
import { kdcUnreachable, realmUnknown } from './errors.js';

/** Largest TCP reply accepted (MIT accepts up to about 1 MiB as well). */
const MAX_TCP_REPLY = 1 << 20;
/** UDP datagrams cannot be larger; a reply of this size is taken whole. */

export interface SendOptions {
  /** Only the realm's primary_kdc / master_kdc entries (MIT's use_primary retry). */
  primaryOnly?: boolean;
  /** Skip UDP entirely (after RESPONSE_TOO_BIG, or udp_preference_limit = 1 style configs). */
  tcpOnly?: boolean;
  /** Overrides kdc_timeout (ms). */
  timeoutMs?: number;
  /** Overrides max_retries (number of passes). */
  maxRetries?: number;
  /** Overrides the KDC list (tests, or a caller that located KDCs itself). */
  kdcs?: KdcAddress[];
  /** Called for each attempt, e.g. for KRB5_TRACE-like logs. */
  trace?: (line: string) => void;
}

interface Attempt {
  host: string;
  port: number;
  family: 4 | 6;
  transport: 'udp' | 'tcp';
  deferred: boolean;
  state: 'idle' | 'sent' | 'failed';
  udp?: UdpSocket;
  tcp?: TcpSocket;
}

/** A KRB-ERROR code if the reply is one, else undefined (only decoded when the tag says 0x7e). */
function errorCodeOf(reply: Uint8Array): number | undefined {
  if (reply[0] !== 0x7e) return undefined;
  try {
    const m = decodeMessage(reply);
    return m.msgType === 30 ? m.errorCode : undefined;
  } catch {
    return undefined;
  }
}

const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * 4 or 6 for an address literal, 0 for a host name. Not node:net's isIP:
 * node:net (and the stream modules behind it) is loaded only when a request
 * goes over TCP, which a kinit over UDP never does (about 2 ms of start-up).
 * A host name never contains ':', so anything with one is taken as IPv6
 * (an invalid one then fails to connect, as it would to resolve).
 */
function ipFamily(host: string): 0 | 4 | 6 {
  if (IPV4_RE.test(host)) return 4;
  return host.includes(':') ? 6 : 0;
}

/**
 * dgram's address lookup for our sockets. Every address a socket here binds
 * or connects to is a literal (resolve() below turned host names into
 * addresses), so it is answered at once; without this, createSocket()
 * would load node:dns, whose c-ares set-up reads resolv.conf and
 * nsswitch.conf (about 0.5 ms of a kinit's start-up). Anything else still
 * goes to dns.lookup.
 */
export function literalLookup(host: string, opts: unknown, cb?: (err: Error | null, address: string, family: number) => void): void {
  const callback = (typeof opts === 'function' ? opts : cb) as (err: Error | null, address: string, family: number) => void;
  const fam = ipFamily(host);
  if (fam) {
    process.nextTick(callback, null, host, fam);
    return;
  }
  const options = typeof opts === 'function' ? {} : opts;
  (process.getBuiltinModule('node:dns').lookup as (h: string, o: unknown, c: typeof callback) => void)(host, options, callback);
}

async function resolve(kdc: KdcAddress): Promise<{ address: string; family: 4 | 6 }[]> {
  const fam = ipFamily(kdc.host);
  if (fam) return [{ address: kdc.host, family: fam as 4 | 6 }];
  try {
    // Loaded only for a KDC named by host name: node:dns sets up c-ares
    // (reading resolv.conf and nsswitch.conf), a few ms that a kinit against
    // `kdc = 127.0.0.1:88` need not pay. getBuiltinModule (node >= 20.16),
    // not import(): it stays a plain call in every bundle format.
    const { lookup } = process.getBuiltinModule('node:dns/promises');
    const all = await lookup(kdc.host, { all: true });
    return all.map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
  } catch {
    return [];
  }
}

class Exchange {
  private reply?: Uint8Array;
  private tooBig = false;
  private wake?: () => void;
  readonly attempts: Attempt[] = [];

  constructor(
    private readonly request: Uint8Array,
    private readonly trace?: (line: string) => void,
  ) {}

  get done(): boolean {
    return this.reply !== undefined || this.tooBig;
  }
  get result(): { reply?: Uint8Array; tooBig: boolean } {
    return this.reply ? { reply: this.reply, tooBig: false } : { tooBig: this.tooBig };
  }

  private notify(): void {
    this.wake?.();
  }

  private accept(a: Attempt, reply: Uint8Array): void {
    if (this.done) return;
    const code = errorCodeOf(reply);
    this.trace?.(`Received answer (${reply.length} bytes) from ${a.transport} ${a.host}:${a.port}`);
    if (code === ErrorCode.KRB_ERR_RESPONSE_TOO_BIG && a.transport === 'udp') {
      this.tooBig = true;
    } else if (code === ErrorCode.KDC_ERR_SVC_UNAVAILABLE) {
      this.fail(a);
      return;
    } else {
      this.reply = reply;
    }
    this.notify();
  }

  private fail(a: Attempt): void {
    a.state = 'failed';
    a.udp?.close();
    a.tcp?.destroy();
    a.udp = undefined;
    a.tcp = undefined;
    this.notify();
  }

  /** Send (or resend over UDP). Returns false when the attempt cannot be used. */
  send(a: Attempt): boolean {
    if (a.state === 'failed') return false;
    if (a.transport === 'udp') {
      if (!a.udp) {
        const s = createSocket({ type: a.family === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
        a.udp = s;
        s.on('message', (msg) => this.accept(a, new Uint8Array(msg.buffer, msg.byteOffset, msg.length)));
        // On a connected socket an ICMP port-unreachable surfaces here as ECONNREFUSED.
        s.on('error', () => this.fail(a));
        s.connect(a.port, a.host, () => {
          this.trace?.(`Sending initial UDP request to dgram ${a.host}:${a.port}`);
          s.send(this.request, (err) => err && this.fail(a));
        });
      } else {
        this.trace?.(`Sending retry UDP request to dgram ${a.host}:${a.port}`);
        try {
          a.udp.send(this.request, (err) => err && this.fail(a));
        } catch {
          this.fail(a);
        }
      }
      a.state = 'sent';
      return true;
    }
    if (a.state === 'sent') return false; // TCP is sent once; its connection stays open.
    this.trace?.(`Initiating TCP connection to stream ${a.host}:${a.port}`);
    const reader = new LengthPrefixedReader({ maxFrame: MAX_TCP_REPLY });
    // node:net only now (see ipFamily); getBuiltinModule stays a plain call in every bundle format.
    const s = process.getBuiltinModule('node:net').connect({ host: a.host, port: a.port, family: a.family });
    a.tcp = s;
    s.setNoDelay(true);
    s.on('connect', () => s.write(frameMessage(this.request)));
    s.on('data', (chunk: Buffer) => {
      try {
        const frames = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        if (frames.length) {
          s.destroy();
          a.tcp = undefined;
          this.accept(a, frames[0]!);
        }
      } catch {
        this.fail(a); // an oversized or malformed frame: this KDC is of no use
      }
    });
    s.on('error', () => this.fail(a));
    s.on('close', () => {
      if (!this.done && a.state !== 'failed') this.fail(a);
    });
    a.state = 'sent';
    return true;
  }

  /** Wait until an answer, until every sent attempt failed, or ms. */
  wait(ms: number): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((res) => {
      const check = () => {
        if (this.done || this.attempts.every((a) => a.state !== 'sent')) finish();
      };
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        res();
      };
      const timer = setTimeout(finish, ms);
      this.wake = check;
      check();
    });
  }

  close(): void {
    for (const a of this.attempts) {
      a.udp?.close();
      a.tcp?.destroy();
      a.udp = undefined;
      a.tcp = undefined;
    }
  }
}

async function runPasses(
  kdcs: KdcAddress[],
  request: Uint8Array,
  tcpFirst: boolean,
  tcpOnly: boolean,
  timeoutMs: number,
  passes: number,
  trace?: (line: string) => void,
): Promise<{ reply?: Uint8Array; tooBig: boolean }> {
  const ex = new Exchange(request, trace);
  try {
    // Pass 1: resolve each KDC and contact it over the preferred transport.
    for (const kdc of kdcs) {
      if (ex.done) break;
      const fresh: Attempt[] = [];
      for (const addr of await resolve(kdc)) {
        const transports: ('udp' | 'tcp')[] = kdc.transport ? [kdc.transport] : tcpFirst ? ['tcp', 'udp'] : ['udp', 'tcp'];
        for (const [i, t] of transports.entries()) {
          if (tcpOnly && t === 'udp') continue;
          fresh.push({ host: addr.address, port: kdc.port, family: addr.family, transport: t, deferred: i > 0 && !tcpOnly, state: 'idle' });
        }
      }
      ex.attempts.push(...fresh);
      for (const a of fresh) {
        if (ex.done) break;
        if (a.deferred || !ex.send(a)) continue;
        await ex.wait(timeoutMs);
      }
    }
    // End of pass 1: the non-preferred transport.
    for (const a of ex.attempts) {
      if (ex.done) break;
      if (!a.deferred || !ex.send(a)) continue;
      await ex.wait(timeoutMs);
    }
    // Later passes: retransmit over UDP, then back off.
    let delay = 2 * timeoutMs;
    for (let pass = 1; pass < passes && !ex.done; pass++) {
      if (ex.attempts.every((a) => a.state === 'failed')) break;
      for (const a of ex.attempts) {
        if (ex.done) break;
        if (a.transport !== 'udp' || !ex.send(a)) continue;
        await ex.wait(timeoutMs);
      }
      if (!ex.done && ex.attempts.some((a) => a.state === 'sent')) await ex.wait(delay);
      delay *= 2;
    }
    return ex.result;
  } finally {
    ex.close();
  }
}

/**
 * Send one KDC request (AS-REQ or TGS-REQ DER) to the realm's KDCs and return
 * the first reply (an AS-REP/TGS-REP or a KRB-ERROR, undecoded).
 */
export async function sendToKdc(config: Krb5Config, realm: string, request: Uint8Array, options: SendOptions = {}): Promise<Uint8Array> {
  const kdcs = options.kdcs ?? (options.primaryOnly ? config.primaryKdcs(realm) : config.kdcs(realm));
  if (kdcs.length === 0) throw realmUnknown(realm);
  const timeoutMs = options.timeoutMs ?? config.kdcTimeoutMs;
  const passes = options.maxRetries ?? config.maxRetries;
  const tcpFirst = request.length > config.udpPreferenceLimit;
  options.trace?.(`Sending request (${request.length} bytes) to ${realm}`);
  let r = await runPasses(kdcs, request, tcpFirst, options.tcpOnly ?? false, timeoutMs, passes, options.trace);
  if (r.tooBig && !options.tcpOnly) {
    // RFC 4120 §7.2.1: KRB_ERR_RESPONSE_TOO_BIG means "retry with TCP".
    options.trace?.('Response too big for UDP, retrying with TCP');
    r = await runPasses(kdcs, request, true, true, timeoutMs, passes, options.trace);
  }
  if (!r.reply) throw kdcUnreachable(realm);
  return r.reply;
}
