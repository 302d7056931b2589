/**
 * What a lab folder holds (default ./var/lab), and the marker that makes it
 * one: lab.json. Nothing is ever deleted from a folder without that marker,
 * so `--reset --dir ~` cannot wipe a home directory.
 *   lab.json          realm, creation time (the marker)
 *   kdc/              the KDC database and its master key stash (0700)
 *   pop.keytab        pop/localhost and pop/127.0.0.1 keys (0600)
 *   ca/ca.pem         the local CA certificate (give it to TLS clients)
 *   ca/ca.key         its key (0600)
 *   tls/server.pem    the server certificate (localhost, 127.0.0.1)
 *   tls/server.key    its key (0600)
 *   mail/USER/        Maildirs
 *   krb5.conf         written at every start with the ports in use
 *   ccache            where the printed KRB5CCNAME points
 *   kdc.log, pop.log  one JSON line per request / per session event
 *   ports.json        the ports of the running lab
 *   kpop.lock         "PID HOST" of the lab process serving this folder
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LAB_MARKER = 'lab.json';
export const DEFAULT_LAB_DIR = join('var', 'lab');

export interface LabPaths {
  dir: string;
  marker: string;
  kdcDir: string;
  keytab: string;
  caDir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  mailRoot: string;
  krb5Conf: string;
  ccache: string;
  kdcLog: string;
  popLog: string;
}

export function labPaths(dir: string): LabPaths {
  const d = resolve(dir);
  return {
    dir: d,
    marker: join(d, LAB_MARKER),
    kdcDir: join(d, 'kdc'),
    keytab: join(d, 'pop.keytab'),
    caDir: join(d, 'ca'),
    caCert: join(d, 'ca', 'ca.pem'),
    caKey: join(d, 'ca', 'ca.key'),
    serverCert: join(d, 'tls', 'server.pem'),
    serverKey: join(d, 'tls', 'server.key'),
    mailRoot: join(d, 'mail'),
    krb5Conf: join(d, 'krb5.conf'),
    ccache: join(d, 'ccache'),
    kdcLog: join(d, 'kdc.log'),
    popLog: join(d, 'pop.log'),
  };
}

export interface LabMarker {
  realm: string;
  created: string;
  users: string[];
}

/** 'lab' when the folder holds a lab, 'empty' when absent or empty, 'foreign' otherwise. */
export function labState(p: LabPaths): 'lab' | 'empty' | 'foreign' {
  if (existsSync(p.marker)) return 'lab';
  if (!existsSync(p.dir)) return 'empty';
  return readdirSync(p.dir).length === 0 ? 'empty' : 'foreign';
}

export function readMarker(p: LabPaths): LabMarker {
  const m = JSON.parse(readFileSync(p.marker, 'utf8')) as Partial<LabMarker>;
  if (typeof m.realm !== 'string' || !Array.isArray(m.users)) throw new Error(`${p.marker} is damaged: start with --reset to make a new lab`);
  return { realm: m.realm, created: String(m.created ?? ''), users: m.users.map(String) };
}
