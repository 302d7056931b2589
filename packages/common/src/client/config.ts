/**
 * krb5.conf as the client library uses it: [libdefaults], [realms] and
 * [domain_realm], with MIT's defaults (krb5.conf(5) for MIT krb5 1.20). The
 * parsed tree stays available (`profile`) so unknown keys are kept and can
 * be looked up by anyone.
 */
import { parseDuration } from './duration.js';
import { ProfileSection, parseProfile, readProfiles } from './profile.js';

/** MIT's compiled-in KRB5_CONFIG default. */
export const DEFAULT_CONFIG_PATH = '/etc/krb5.conf';

export interface KdcAddress {
  host: string;
  port: number;
  /** Set when the entry names one ("tcp/host", "udp/host"): only that transport is used. */
  transport?: 'udp' | 'tcp';
}

/** MIT's profile booleans (prof_get.c parse_boolean). */
export function parseBoolean(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (['y', 'yes', 'true', 't', '1', 'on'].includes(s)) return true;
  if (['n', 'no', 'false', 'nil', '0', 'off'].includes(s)) return false;
  return undefined;
}

/**
 * "host", "host:port", "[v6]:port", "tcp/host:port", "udp/host" as MIT's
 * locate_kdc.c reads a kdc = line. Default port 88 (RFC 4120 §7.2.3.1).
 */
export function parseKdcAddress(entry: string, defaultPort = 88): KdcAddress | undefined {
  let s = entry.trim();
  let transport: KdcAddress['transport'];
  const t = /^(tcp|udp)\//i.exec(s);
  if (t) {
    transport = t[1]!.toLowerCase() as 'tcp' | 'udp';
    s = s.slice(t[0].length);
  }
  if (s === '' || s.startsWith('http')) return undefined; // kkdcp (MS-KKDCP) is not supported
  let host: string;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const [h, p] = s.split(':') as [string, string];
    host = h;
    if (!/^\d+$/.test(p)) return undefined;
    port = Number(p);
  } else {
    host = s; // a bare IPv6 address has several colons and no port
  }
  if (port <= 0 || port > 65535) return undefined;
  return transport ? { host, port, transport } : { host, port };
}

export class Krb5Config {
  constructor(
    readonly profile: ProfileSection,
    /** The files read, in order (empty when parsed from a string). */
    readonly files: readonly string[] = [],
  ) {}

  /**
   * First value of a [libdefaults] tag. With a realm, MIT's per-realm
   * subsection ([libdefaults] R = { … }) wins, then the [realms] R entry.
   */
  libdefault(tag: string, realm?: string): string | undefined {
    if (realm) {
      const own = this.profile.lookup(['libdefaults', realm, tag]);
      if (own.length) return own[0];
      const inRealms = this.profile.lookup(['realms', realm, tag]);
      if (inRealms.length) return inRealms[0];
    }
    return this.profile.lookup(['libdefaults', tag])[0];
  }

  private bool(tag: string, dflt: boolean, realm?: string): boolean {
    return parseBoolean(this.libdefault(tag, realm)) ?? dflt;
  }

  private seconds(tag: string, dflt: number, realm?: string): number {
    const v = this.libdefault(tag, realm);
    return (v === undefined ? undefined : parseDuration(v)) ?? dflt;
  }

  get defaultRealm(): string | undefined {
    return this.libdefault('default_realm');
  }
  /** Seconds; MIT's default is 1 day. */
  ticketLifetime(realm?: string): number {
    return this.seconds('ticket_lifetime', 86400, realm);
  }
  /** Seconds; 0 means no renewable tickets unless asked (MIT's default). */
  renewLifetime(realm?: string): number {
    return this.seconds('renew_lifetime', 0, realm);
  }
  forwardable(realm?: string): boolean {
    return this.bool('forwardable', false, realm);
  }
  proxiable(realm?: string): boolean {
    return this.bool('proxiable', false, realm);
  }
  noaddresses(realm?: string): boolean {
    return this.bool('noaddresses', true, realm);
  }
  get defaultCcacheName(): string | undefined {
    return this.libdefault('default_ccache_name');
  }
  get defaultKeytabName(): string | undefined {
    return this.libdefault('default_keytab_name');
  }
  get defaultClientKeytabName(): string | undefined {
    return this.libdefault('default_client_keytab_name');
  }
  /** Bytes; requests longer than this go to TCP first (RFC 4120 §7.2.1: MIT's default 1465). */
  get udpPreferenceLimit(): number {
    const v = Number(this.libdefault('udp_preference_limit'));
    return Number.isFinite(v) && v > 0 ? v : 1465;
  }
  /** Seconds of allowed clock difference (MIT default 300, RFC 4120 §1.6 "5 minutes"). */
  get clockskew(): number {
    return this.seconds('clockskew', 300);
  }
  /** Milliseconds to wait for each KDC before trying the next; krb5.conf gives seconds or a duration. */
  get kdcTimeoutMs(): number {
    const v = this.libdefault('kdc_timeout');
    if (v === undefined) return 1000;
    // MIT-style durations are in seconds; Heimdal/Java configs give bare milliseconds above 100.
    const n = parseDuration(v);
    if (n === undefined || n <= 0) return 1000;
    return /^\d+$/.test(v.trim()) && n >= 100 ? n : n * 1000;
  }
  /** Passes over the KDC list (MIT's MAX_PASS is 3). */
  get maxRetries(): number {
    const v = Number(this.libdefault('max_retries'));
    return Number.isInteger(v) && v > 0 ? v : 3;
  }
  /** Raw enctype lists: crypto's enctypesFromList() reads them. */
  get permittedEnctypes(): string | undefined {
    return this.libdefault('permitted_enctypes');
  }
  get defaultTktEnctypes(): string | undefined {
    return this.libdefault('default_tkt_enctypes');
  }
  get defaultTgsEnctypes(): string | undefined {
    return this.libdefault('default_tgs_enctypes');
  }
  get rdns(): boolean {
    return this.bool('rdns', true);
  }
  get dnsCanonicalizeHostname(): string {
    return this.libdefault('dns_canonicalize_hostname') ?? 'fallback';
  }

  /** The realm's KDCs in file order ([realms] R kdc = …). */
  kdcs(realm: string): KdcAddress[] {
    return this.realmValues(realm, 'kdc').map((e) => parseKdcAddress(e)).filter((a): a is KdcAddress => a !== undefined);
  }
  /** MIT 1.20 calls it primary_kdc; master_kdc is the older name. */
  primaryKdcs(realm: string): KdcAddress[] {
    const names = [...this.realmValues(realm, 'primary_kdc'), ...this.realmValues(realm, 'master_kdc')];
    return names.map((e) => parseKdcAddress(e)).filter((a): a is KdcAddress => a !== undefined);
  }
  adminServers(realm: string): KdcAddress[] {
    return this.realmValues(realm, 'admin_server').map((e) => parseKdcAddress(e, 749)).filter((a): a is KdcAddress => a !== undefined);
  }
  realmValues(realm: string, tag: string): string[] {
    return this.profile.lookup(['realms', realm, tag]);
  }

  /**
   * [domain_realm]: an exact host entry, then the longest ".suffix" entry;
   * otherwise undefined (the caller falls back to default_realm, as MIT's
   * krb5_get_host_realm does with the referral realm).
   */
  hostRealm(host: string): string | undefined {
    const h = host.toLowerCase().replace(/\.$/, '');
    const dr = this.profile.section('domain_realm');
    if (!dr) return undefined;
    const exact = dr.strings(h)[0];
    if (exact) return exact;
    for (let i = h.indexOf('.'); i >= 0; i = h.indexOf('.', i + 1)) {
      const hit = dr.strings(h.slice(i))[0];
      if (hit) return hit;
    }
    return undefined;
  }
}

/** Parse krb5.conf text (include/includedir read from disk). */
export function parseKrb5Config(text: string, fileName?: string): Krb5Config {
  return new Krb5Config(parseProfile(text, fileName ? { fileName } : {}), fileName ? [fileName] : []);
}

/** The files KRB5_CONFIG names (a colon-separated list), or /etc/krb5.conf. */
export function configPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const v = env.KRB5_CONFIG;
  return (v ? v.split(':') : [DEFAULT_CONFIG_PATH]).filter((p) => p !== '');
}

/** Load krb5.conf as MIT does: every file of KRB5_CONFIG in order; none present is not an error. */
export function loadKrb5Config(env: NodeJS.ProcessEnv = process.env): Krb5Config {
  const { profile, files } = readProfiles(configPaths(env));
  return new Krb5Config(profile, files);
}
