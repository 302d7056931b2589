/**
 * Running a lab: in one process, the KDC (UDP and TCP, RFC 4120 §7.2.1-2)
 * over the lab's database, and the POP3 server with its three listeners
 * (KPOP, POP3 + STLS, POP3S), all on 127.0.0.1. krb5.conf is rewritten with
 * the ports actually bound (port 0 asks the OS). A port already taken
 * becomes one LabError naming the port, the service and the flag to change.
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { loadKrb5Config } from '@kpop/common';
import { krb5ConfText, openDatabase, startKdcServer, type KdcDatabase, type KdcServer } from '@kpop/kdc';
import { startPopServer, type PopServer } from '../server.js';
import type { LogRecord } from '../pop3/session.js';
import type { LabPaths } from './layout.js';
import { LAB_MECHANISMS, labSecretsPaths } from './secrets.js';

export const LAB_HOST = '127.0.0.1';

export interface LabPorts {
  kdc: number;
  kpop: number;
  pop3: number;
  pop3s: number;
}

export const DEFAULT_LAB_PORTS: LabPorts = { kdc: 8888, kpop: 1109, pop3: 1110, pop3s: 1995 };

const SERVICE: Record<keyof LabPorts, { name: string; flag: string }> = {
  kdc: { name: 'the KDC (UDP and TCP)', flag: '--kdc-port' },
  kpop: { name: 'KPOP', flag: '--kpop-port' },
  pop3: { name: 'POP3 with STLS', flag: '--pop3-port' },
  pop3s: { name: 'POP3S', flag: '--pop3s-port' },
};

export class LabError extends Error {
  override name = 'LabError';
}

export interface RunningLab {
  realm: string;
  ports: LabPorts;
  kdc: KdcServer;
  pop: PopServer;
  close(): Promise<void>;
}

export interface RunLabOptions {
  ports: LabPorts;
  /** Called with one short line per KDC request and POP3 session event (the console view). */
  onEvent?: (line: string) => void;
}

/** Appends JSON lines to a log file; the file stays open while the lab runs. */
function jsonLines(path: string): { write(r: Record<string, unknown>): void; close(): void } {
  const fd = openSync(path, 'a', 0o600);
  return {
    write: (r) => {
      try {
        writeSync(fd, JSON.stringify(r) + '\n');
      } catch {
        // A full disk must not stop the servers.
      }
    },
    close: () => closeSync(fd),
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
  const say = o.onEvent ?? (() => {});
  const kdcLog = jsonLines(p.kdcLog);
  const popLog = jsonLines(p.popLog);
  let db: KdcDatabase | undefined;
  let kdc: KdcServer | undefined;
  try {
    db = openDatabase(p.kdcDir);
    if (db.realm !== realm) throw new LabError(`the KDC database in ${p.kdcDir} is for realm ${db.realm}, the lab says ${realm}: start with --reset`);
    try {
      kdc = await startKdcServer({
        store: db,
        listen: [{ host: LAB_HOST, port: o.ports.kdc }],
        log: (r) => {
          kdcLog.write(r);
          say(`kdc  ${String(r.msg)} ${String(r.cname ?? '?')} for ${String(r.sname ?? '?')}: ${String(r.status)}`);
        },
      });
    } catch (e) {
      throw portInUse(e, 'kdc', o.ports.kdc) ?? e;
    }
    const kdcPort = kdc.udp[0]!.port;
    // Clients need krb5.conf before anything asks the KDC (the POP3 server's password checks included).
    writeFileSync(p.krb5Conf, labKrb5Conf(realm, kdcPort), { mode: 0o644 });
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
        tls: { cert: readFileSync(p.serverCert), key: readFileSync(p.serverKey) },
        krb5Config,
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
      throw (which && portInUse(e, which, o.ports[which])) ?? e;
    }
    const ports: LabPorts = { kdc: kdcPort, kpop: pop.kpop!.port, pop3: pop.pop3!.port, pop3s: pop.pop3s!.port };
    const theDb = db;
    const theKdc = kdc;
    let closing: Promise<void> | undefined;
    return {
      realm,
      ports,
      kdc: theKdc,
      pop,
      close() {
        closing ??= (async () => {
          await Promise.all([pop.close(), theKdc.close()]);
          theDb.close();
          kdcLog.close();
          popLog.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await kdc?.close();
    db?.close();
    kdcLog.close();
    popLog.close();
    throw e;
  }
}

/** krb5.conf for MIT tools and ours: no DNS, no reverse lookups, so pop@localhost stays pop/localhost (protocols.md §6). */
export function labKrb5Conf(realm: string, kdcPort: number): string {
  return `# Written by the kpop lab at each start; edits are lost.\n${krb5ConfText(realm, `${LAB_HOST}:${kdcPort}`)}`;
}
