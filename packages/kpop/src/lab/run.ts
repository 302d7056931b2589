/**
 * Running a lab: in one process, the KDC (UDP and TCP, RFC 4120 §7.2.1-2)
 * over the lab's database, and the POP3 server with its three listeners
 * (KPOP, POP3 + STLS, POP3S), all on 127.0.0.1. krb5.conf is rewritten with
 * the ports actually bound (port 0 asks the OS). A port already taken
 * becomes one LabError naming the port, the service and the flag to change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { escapeForTerminal, KEYTAB_V2, loadKrb5Config, readKeytab, RotatingFile, writeKeytab, type ConnectionLimits } from '@kpop/common';
import { batchedFdLogger, ensureChangepwPrincipal, krb5ConfText, openDatabase, startKdcServer, startKpasswdServer, type KdcDatabase, type KpasswdServer, type RequestLimits, type TcpLimits } from '@kpop/kdc';
import { startPopServer, type PopServer } from '../server.js';
import { startKdcWorkers, type LabKdc } from './kdc-workers.js';
import type { LogRecord } from '../pop3/session.js';
import type { LabPaths } from './layout.js';
import { labServices } from './create.js';
import { LAB_MECHANISMS, labSecretsPaths } from './secrets.js';

export const LAB_HOST = '127.0.0.1';

export interface LabPorts {
  kdc: number;
  kpop: number;
  pop3: number;
  pop3s: number;
  imap: number;
  imaps: number;
  /** The kpasswd service (RFC 3244), UDP and TCP; not served when absent. */
  kpasswd?: number;
}

export const DEFAULT_LAB_PORTS: LabPorts = { kdc: 8888, kpop: 1109, pop3: 1110, pop3s: 1995, imap: 1143, imaps: 1993, kpasswd: 8464 };

const SERVICE: Record<keyof LabPorts, { name: string; flag: string }> = {
  kdc: { name: 'the KDC (UDP and TCP)', flag: '--kdc-port' },
  kpop: { name: 'KPOP', flag: '--kpop-port' },
  pop3: { name: 'POP3 with STLS', flag: '--pop3-port' },
  pop3s: { name: 'POP3S', flag: '--pop3s-port' },
  imap: { name: 'IMAP with STARTTLS', flag: '--imap-port' },
  imaps: { name: 'IMAPS', flag: '--imaps-port' },
  kpasswd: { name: 'kpasswd (UDP and TCP)', flag: '--kpasswd-port' },
};

export class LabError extends Error {
  override name = 'LabError';
}

export interface RunningLab {
  realm: string;
  ports: LabPorts;
  kdc: LabKdc;
  pop: PopServer;
  /** The LMTP listener's port, when the lab was started with one. */
  lmtpPort?: number;
  /** Close and reopen kdc.log and pop.log (SIGHUP, after logrotate moved them). */
  reopenLogs(): void;
  close(): Promise<void>;
}

export interface RunLabOptions {
  ports: LabPorts;
  /**
   * Called with one short line per KDC request and POP3 session event (the
   * console view). Names in it come from the network (a ticket's sname, a
   * client's USER): every line is escaped for a terminal before it gets here.
   */
  onEvent?: (line: string) => void;
  /** The mail listeners' connection limits (default MAIL_CONNECTION_LIMITS). */
  limits?: Partial<ConnectionLimits>;
  /** The KDC's per-address request budget and TCP limits (defaults: the KDC's). */
  kdcRequests?: Partial<RequestLimits>;
  kdcTcp?: Partial<TcpLimits>;
  /** KDC worker processes (`kdc start --workers N`); 1 (default): the KDC serves in the lab's process. */
  kdcWorkers?: number;
  /** Size cap and kept count of kdc.log and pop.log (default DEFAULT_LAB_LOGS). */
  logs?: LabLogOptions;
  /** An LMTP listener (RFC 2033) on 127.0.0.1 for deliveries (0: any free port); none by default. */
  lmtpPort?: number;
}

/** The lab's log files: a size cap with kept files (FILE.1 …), 16 MiB × 4 unless the flags say otherwise. */
export interface LabLogOptions {
  maxBytes: number;
  keep: number;
}

export const DEFAULT_LAB_LOGS: LabLogOptions = { maxBytes: 16 * 1024 * 1024, keep: 4 };

/**
 * Appends JSON lines to a log file in batches (one write per 100 ms or
 * 32 KiB); the file rotates at the size cap and is reopened on reopen()
 * (SIGHUP), so the lab's logs never outgrow (keep + 1) × maxBytes each.
 */
function jsonLines(path: string, o: LabLogOptions): { write(r: Record<string, unknown>): void; reopen(): void; close(): void } {
  const file = new RotatingFile(path, o);
  const lines = batchedFdLogger(file);
  return {
    write: lines,
    reopen: () => {
      lines.flush();
      file.reopen();
    },
    close: () => {
      lines.flush();
      file.close();
    },
  };
}

function portInUse(e: unknown, which: keyof LabPorts, port: number): LabError | undefined {
  const err = e as NodeJS.ErrnoException;
  const s = SERVICE[which];
  if (err.code === 'EADDRINUSE') return new LabError(`port ${port} (${s.name}) on ${LAB_HOST} is in use: stop what holds it, or start with ${s.flag} N`);
  if (err.code === 'EACCES') return new LabError(`port ${port} (${s.name}) needs privileges: choose a port above 1023 with ${s.flag} N`);
  return undefined;
}

export async function runLab(p: LabPaths, realm: string, o: RunLabOptions): Promise<RunningLab> {
  // The one place every console line of the lab goes through.
  const onEvent = o.onEvent;
  const say = onEvent ? (line: string) => onEvent(escapeForTerminal(line)) : () => {};
  const kdcLog = jsonLines(p.kdcLog, o.logs ?? DEFAULT_LAB_LOGS);
  const popLog = jsonLines(p.popLog, o.logs ?? DEFAULT_LAB_LOGS);
  let db: KdcDatabase | undefined;
  let kdc: LabKdc | undefined;
  let kpasswd: KpasswdServer | undefined;
  try {
    db = openDatabase(p.kdcDir);
    if (db.realm !== realm) throw new LabError(`the KDC database in ${p.kdcDir} is for realm ${db.realm}, the lab says ${realm}: start with --reset`);
    // Before any KDC starts (with --workers, `kdc start` in another process would add it too).
    if (o.ports.kpasswd !== undefined) ensureChangepwPrincipal(db);
    const log = (r: Record<string, unknown>): void => {
      kdcLog.write(r);
      const worker = r.worker !== undefined ? ` (worker ${String(r.worker)})` : '';
      if (r.cname === undefined && r.sname === undefined && r.from !== undefined) {
        // A record of the limits (RATE_LIMITED, JUNK, CONNECTION_REFUSED, …): who, and how many more.
        say(`kdc  ${String(r.msg)} from ${String(r.from)}: ${String(r.status)}${r.suppressed ? ` (${String(r.suppressed)} more not logged)` : ''}${worker}`);
      } else say(`kdc  ${String(r.msg)} ${String(r.cname ?? '?')} for ${String(r.sname ?? '?')}: ${String(r.status)}${worker}`);
    };
    try {
      const limits = { ...(o.kdcRequests ? { requests: o.kdcRequests } : {}), ...(o.kdcTcp ? { tcp: o.kdcTcp } : {}) };
      kdc =
        (o.kdcWorkers ?? 1) > 1
          ? await startKdcWorkers({ dir: p.kdcDir, host: LAB_HOST, port: o.ports.kdc, workers: o.kdcWorkers!, log })
          : await startKdcServer({ store: db, listen: [{ host: LAB_HOST, port: o.ports.kdc }], ...limits, log });
    } catch (e) {
      throw portInUse(e, 'kdc', o.ports.kdc) ?? e;
    }
    const kdcPort = kdc.udp[0]!.port;
    upgradeKeytab(db, p.keytab);
    if (o.ports.kpasswd !== undefined) {
      try {
        kpasswd = await startKpasswdServer({
          db,
          listen: [{ host: LAB_HOST, port: o.ports.kpasswd }],
          log: (r) => {
            kdcLog.write(r);
            say(`kdc  KPASSWD ${String(r.cname ?? '?')}: ${String(r.status)}`);
          },
        });
      } catch (e) {
        throw portInUse(e, 'kpasswd', o.ports.kpasswd) ?? e;
      }
    }
    const kpasswdPort = kpasswd?.udp[0]!.port;
    // Clients need krb5.conf before anything asks the KDC (the POP3 server's password checks included).
    writeFileSync(p.krb5Conf, labKrb5Conf(realm, kdcPort, kpasswdPort), { mode: 0o644 });
    const krb5Config = loadKrb5Config({ KRB5_CONFIG: p.krb5Conf });
    let pop: PopServer;
    try {
      pop = await startPopServer({
        maildirRoot: p.mailRoot,
        realm,
        keytab: p.keytab,
        kpop: { host: LAB_HOST, port: o.ports.kpop },
        pop3: { host: LAB_HOST, port: o.ports.pop3 },
        pop3s: { host: LAB_HOST, port: o.ports.pop3s },
        ...(o.lmtpPort !== undefined ? { lmtp: { host: LAB_HOST, port: o.lmtpPort } } : {}),
        imap: { host: LAB_HOST, port: o.ports.imap },
        imaps: { host: LAB_HOST, port: o.ports.imaps },
        tls: { cert: readFileSync(p.serverCert), key: readFileSync(p.serverKey) },
        krb5Config,
        ...(o.limits ? { limits: o.limits } : {}),
        mechanisms: LAB_MECHANISMS,
        secrets: labSecretsPaths(p.dir),
        allowNtlmV1: true,
        log: (r: LogRecord) => {
          popLog.write({ time: new Date().toISOString(), ...r });
          say(`pop  ${Object.entries(r).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
        },
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { port?: number };
      const which = (Object.keys(SERVICE) as (keyof LabPorts)[]).find((k) => k !== 'kdc' && o.ports[k] === err.port && err.port !== 0);
      throw (which && portInUse(e, which, o.ports[which]!)) ?? e;
    }
    const ports: LabPorts = { kdc: kdcPort, kpop: pop.kpop!.port, pop3: pop.pop3!.port, pop3s: pop.pop3s!.port, imap: pop.imap!.port, imaps: pop.imaps!.port, ...(kpasswdPort !== undefined ? { kpasswd: kpasswdPort } : {}) };
    const theKpasswd = kpasswd;
    const theDb = db;
    const theKdc = kdc;
    // Once a minute, the process's memory in pop.log: a soak (bench/soak) tells a leak from a filling cache by it.
    const stats = setInterval(() => {
      const m = process.memoryUsage();
      const mb = (n: number) => Math.round(n / 104857.6) / 10;
      popLog.write({ time: new Date().toISOString(), event: 'stats', rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers), connections: pop.connections });
    }, 60_000);
    stats.unref();
    let closing: Promise<void> | undefined;
    return {
      realm,
      ports,
      kdc: theKdc,
      pop,
      ...(pop.lmtp ? { lmtpPort: pop.lmtp.port } : {}),
      reopenLogs() {
        kdcLog.reopen();
        popLog.reopen();
      },
      close() {
        closing ??= (async () => {
          clearInterval(stats);
          await Promise.all([pop.close(), theKdc.close(), theKpasswd?.close()]);
          theDb.close();
          kdcLog.close();
          popLog.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await kdc?.close();
    await kpasswd?.close();
    db?.close();
    kdcLog.close();
    popLog.close();
    throw e;
  }
}

/**
 * A lab made before IMAP has no imap/HOST principals: add them (random
 * keys) and write the keytab again with every service's current keys.
 */
function upgradeKeytab(db: KdcDatabase, keytab: string): void {
  const services = labServices();
  const missing = services.filter((s) => !db.getPrincipal(s));
  let have: Set<string>;
  try {
    have = new Set(readKeytab(keytab).entries.map((e) => e.principal.name.nameString.join('/')));
  } catch {
    have = new Set();
  }
  if (!missing.length && services.every((s) => have.has(s))) return;
  for (const s of missing) db.addPrincipal(s, { randkey: true });
  writeKeytab(keytab, { version: KEYTAB_V2, entries: db.keytabEntries(services) });
}

/** krb5.conf for MIT tools and ours: no DNS, no reverse lookups, so pop@localhost stays pop/localhost (protocols.md §6). */
export function labKrb5Conf(realm: string, kdcPort: number, kpasswdPort?: number): string {
  // kpasswd_server and admin_server let MIT's kpasswd (and kinit's expired-password change) find the kpasswd service.
  return `# Written by the kpop lab at each start; edits are lost.\n${krb5ConfText(realm, `${LAB_HOST}:${kdcPort}`, kpasswdPort !== undefined ? { kpasswdAddress: `${LAB_HOST}:${kpasswdPort}` } : {})}`;
}
