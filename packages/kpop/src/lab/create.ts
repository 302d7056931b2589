/**
 * Making a lab realm from nothing, with the same pieces an administrator
 * would use by hand (README "Admin guide"):
 *   kdc init; kdc addprinc alice; kdc addprinc bob;
 *   kdc addprinc --randkey pop/localhost (and pop/127.0.0.1); kdc ktadd -k pop.keytab …;
 *   kpop ca init; kpop cert issue --host localhost --host 127.0.0.1;
 *   kpop deliver alice < welcome; kpop deliver bob < welcome.
 * Passwords not given are random, and are returned so the caller prints
 * them once: only their keys are stored.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { KEYTAB_V2, writeKeytab } from '@kpop/common';
import { initRealm } from '@kpop/kdc';
import { deliver } from '../maildir/deliver.js';
import { maildirPath } from '../maildir/maildir.js';
import { createCa, issueServerCert } from '../tls/ca.js';
import type { LabMarker, LabPaths } from './layout.js';
import { welcomeMessage } from './welcome.js';
import { fillLabSecrets } from './secrets.js';

/** The service hosts: the names clients put in pop/HOST (fetchmail and curl use what they connect to). */
export const LAB_SERVICE_HOSTS = ['localhost', '127.0.0.1'];

/** The lab's service principals: pop/HOST and imap/HOST for every host name clients use. */
export function labServices(): string[] {
  return ['pop', 'imap'].flatMap((svc) => LAB_SERVICE_HOSTS.map((h) => `${svc}/${h}`));
}

export interface CreateLabOptions {
  realm: string;
  /** user → password, or undefined for a random one. */
  users: Record<string, string | undefined>;
}

export interface CreatedLab {
  marker: LabMarker;
  /** Every user's password (given or generated), to print once. */
  passwords: Record<string, string>;
}

/** 12 characters from 72 random bits, no look-alikes to mistype. */
export function randomPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679';
  const bytes = randomBytes(24);
  let out = '';
  for (const b of bytes) {
    if (b >= 250) continue; // 250 = 5 × 50: keep the choice uniform
    out += alphabet[b % alphabet.length];
    if (out.length === 12) break;
  }
  return out.length === 12 ? out : randomPassword();
}

export async function createLab(p: LabPaths, o: CreateLabOptions): Promise<CreatedLab> {
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  try {
    const passwords: Record<string, string> = {};
    const db = initRealm(p.kdcDir, { realm: o.realm });
    try {
      for (const [user, given] of Object.entries(o.users)) {
        const password = given ?? randomPassword();
        db.addPrincipal(user, { password });
        passwords[user] = password;
      }
      const services = labServices();
      for (const s of services) db.addPrincipal(s, { randkey: true });
      writeKeytab(p.keytab, { version: KEYTAB_V2, entries: db.keytabEntries(services) });
    } finally {
      db.close();
    }

    const ca = await createCa({ commonName: `kpop lab CA (${o.realm})` });
    mkdirSync(p.caDir, { recursive: true, mode: 0o700 });
    writeSecret(p.caKey, ca.keyPem);
    writeFileSync(p.caCert, ca.certPem, { mode: 0o644 });
    const server = await issueServerCert(ca, LAB_SERVICE_HOSTS);
    mkdirSync(p.serverCert.replace(/\/[^/]+$/, ''), { recursive: true, mode: 0o700 });
    writeFileSync(p.serverCert, server.certPem, { mode: 0o644 });
    writeSecret(p.serverKey, server.keyPem);

    // APOP, CRAM-MD5, SCRAM and NTLM check their own secrets: the same passwords.
    fillLabSecrets(p.dir, passwords);

    mkdirSync(p.mailRoot, { recursive: true, mode: 0o700 });
    for (const user of Object.keys(o.users)) {
      await deliver(maildirPath(p.mailRoot, user), welcomeMessage(user, o.realm));
    }
    const marker: LabMarker = { realm: o.realm, created: new Date().toISOString(), users: Object.keys(o.users) };
    // The marker goes last: a lab interrupted half-way is not taken for a finished one.
    writeFileSync(p.marker, JSON.stringify(marker, null, 2) + '\n', { mode: 0o644 });
    return { marker, passwords };
  } catch (e) {
    // Leave nothing half-made behind (the folder was empty or absent: labState checked).
    rmSync(p.dir, { recursive: true, force: true });
    throw e;
  }
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
