/**
 * The server's Kerberos acceptor: the keytab of pop/HOST (re-read when the
 * file changes, so a key rotation needs no restart), which service names are
 * ours, one replay cache shared by KPOP and AUTH GSSAPI, and the clock.
 */
import { statSync } from 'node:fs';
import {
  acceptApReq,
  parsePrincipal,
  principalEquals,
  readKeytab,
  ReplayCache,
  type AcceptedApReq,
  type Keytab,
  type Principal,
} from '@kpop/common';

export interface AcceptorOptions {
  keytab: string | Keytab;
  /** "pop/HOST" or "pop/HOST@REALM": accept only this service; default any SERVICENAME/* key. */
  service?: string;
  /** The service name whose keys we take when no `service` is given: "pop" (default) or "imap". */
  serviceName?: string;
  realm: string;
  clockSkew?: number;
  now?: () => Date;
}

export class KerberosAcceptor {
  readonly replayCache = new ReplayCache();
  private keytab: Keytab;
  private readonly path?: string;
  private mtimeMs = 0;
  private checkedAt = 0;
  private readonly service?: Principal;

  constructor(private readonly opts: AcceptorOptions) {
    if (opts.service) this.service = parsePrincipal(opts.service, { defaultRealm: opts.realm });
    if (typeof opts.keytab === 'string') {
      this.path = opts.keytab;
      this.keytab = readKeytab(this.path);
      this.mtimeMs = statSync(this.path).mtimeMs;
    } else {
      this.keytab = opts.keytab;
    }
    if (!this.keytab.entries.some((e) => this.acceptService(e.principal))) {
      const want = this.service ? parsePrincipalText(this.service) : `${opts.serviceName ?? 'pop'}/*`;
      throw new Error(`keytab ${this.path ?? '(in memory)'} holds no key for ${want}`);
    }
  }

  /** Tickets for which server principals we take. */
  acceptService(p: Principal): boolean {
    if (this.service) return principalEquals(p, this.service);
    return p.name.nameString.length === 2 && p.name.nameString[0] === (this.opts.serviceName ?? 'pop');
  }

  /** The principal we speak as in KRB-ERRORs. */
  get serverPrincipal(): Principal {
    if (this.service) return this.service;
    const e = this.keytab.entries.find((x) => this.acceptService(x.principal))!;
    return e.principal;
  }

  /** The keys in use (re-read from the file when it changed). */
  get currentKeytab(): Keytab {
    this.refresh();
    return this.keytab;
  }

  now(): Date {
    return this.opts.now ? this.opts.now() : new Date();
  }

  accept(apReq: Uint8Array): AcceptedApReq {
    this.refresh();
    return acceptApReq(apReq, {
      keytab: this.keytab,
      acceptService: (p) => this.acceptService(p),
      replayCache: this.replayCache,
      now: this.now(),
      clockSkew: this.opts.clockSkew,
    });
  }

  private refresh(): void {
    if (!this.path) return;
    const t = Date.now();
    if (t - this.checkedAt < 1000) return;
    this.checkedAt = t;
    try {
      const m = statSync(this.path).mtimeMs;
      if (m !== this.mtimeMs) {
        this.keytab = readKeytab(this.path);
        this.mtimeMs = m;
      }
    } catch {
      // Keep the keys we have; a keytab being rewritten reappears shortly.
    }
  }
}

function parsePrincipalText(p: Principal): string {
  return `${p.name.nameString.join('/')}@${p.realm}`;
}
