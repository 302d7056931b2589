/**
 * What the lab prints once it serves: the realm, the listeners, the new
 * passwords (only on the start that made them), and lines to paste into
 * another terminal — with our tools, then with MIT's and fetchmail/curl
 * (the invocations protocols.md §2.2 and §6 verified).
 */
import { relative } from 'node:path';
import type { LabPaths } from './layout.js';
import type { LabPorts } from './run.js';

export interface BannerInput {
  realm: string;
  paths: LabPaths;
  ports: LabPorts;
  users: string[];
  /** Present only when the realm was just made. */
  passwords?: Record<string, string>;
  created: boolean;
  /** The folder the user runs pnpm from (for short relative paths in hints). */
  cwd?: string;
}

/** Single-quote for sh when needed. */
function q(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function bannerLines(b: BannerInput): string[] {
  const { paths: p, ports } = b;
  const user = b.users[0] ?? 'alice';
  const mbox = `${user}.mbox`;
  const out: string[] = [];
  const rel = b.cwd ? relative(b.cwd, p.dir) : '';
  const shown = b.cwd && !rel.startsWith('..') ? rel || '.' : p.dir;
  out.push(`kpop lab: realm ${b.realm} in ${shown}${b.created ? ' (new)' : ' (reused; --reset makes a new one)'}`);
  out.push(`  KDC    127.0.0.1:${ports.kdc} (UDP and TCP)`);
  if (ports.kpasswd !== undefined) out.push(`  KPASSWD 127.0.0.1:${ports.kpasswd} (UDP and TCP; kpasswd, or kinit with an expired password)`);
  out.push(`  KPOP   127.0.0.1:${ports.kpop} (krb5 sendauth, then POP3)`);
  out.push(`  POP3   127.0.0.1:${ports.pop3} (STLS, AUTH GSSAPI)`);
  out.push(`  POP3S  127.0.0.1:${ports.pop3s} (TLS, AUTH GSSAPI)`);
  out.push(`  IMAP   127.0.0.1:${ports.imap} (STARTTLS, AUTHENTICATE GSSAPI)`);
  out.push(`  IMAPS  127.0.0.1:${ports.imaps} (TLS, AUTHENTICATE GSSAPI)`);
  out.push(`  logs   ${p.kdcLog}, ${p.popLog}`);
  if (b.passwords) {
    out.push('');
    out.push('Passwords (shown this once; change one with: npx kdc cpw USER --dir ' + q(p.kdcDir) + '):');
    for (const [u, pw] of Object.entries(b.passwords)) out.push(`  ${u.padEnd(8)} ${pw}`);
  }
  out.push('');
  out.push('In another terminal, from this folder:');
  out.push(`  export KRB5_CONFIG=${q(p.krb5Conf)} KRB5CCNAME=FILE:${q(p.ccache)}`);
  out.push(`  npx kinit ${user}`);
  out.push('  npx klist');
  out.push(`  npx kpop fetch --kpop --host localhost --port ${ports.kpop} --out ${q(`${user}-mail`)}`);
  out.push(`  npx kpop fetch --gssapi --tls --cafile ${q(p.caCert)} --host localhost --port ${ports.pop3} --keep --out ${q(mbox)}`);
  out.push('');
  out.push("The same with MIT's tools (krb5-user), fetchmail and curl:");
  out.push(`  kinit ${user}`);
  out.push('  klist');
  const kpopPort = ports.kpop === 1109 ? '' : ` -P ${ports.kpop}`;
  out.push(`  fetchmail -f /dev/null --nodetach --nosyslog -p KPOP --auth kerberos_v5${kpopPort} -u ${user} --sslproto '' -k -m ${q(`/bin/cat >> ${mbox}`)} localhost`);
  out.push(`      (fetchmail finds KPOP by the name "kpop": add "kpop 1109/tcp" to /etc/services${ports.kpop === 1109 ? '' : ', and serve KPOP on 1109'})`);
  out.push(`  fetchmail -f /dev/null --nodetach --nosyslog -p POP3 -P ${ports.pop3} --auth gssapi -u ${user} --sslproto '' -k -m ${q(`/bin/cat >> ${mbox}`)} localhost`);
  out.push(`  curl --login-options AUTH=GSSAPI -u : --ssl-reqd --cacert ${q(p.caCert)} pop3://localhost:${ports.pop3}/1`);
  out.push('');
  out.push('IMAP (imap/localhost): curl, fetchmail, Python imaplib, mbsync and mutt (recipes in the README):');
  out.push(`  curl --login-options AUTH=GSSAPI -u : --ssl-reqd --cacert ${q(p.caCert)} 'imap://localhost:${ports.imap}/INBOX;UID=1'`);
  out.push(`  curl --login-options AUTH=GSSAPI -u : --cacert ${q(p.caCert)} 'imaps://localhost:${ports.imaps}/INBOX;UID=1'`);
  out.push(`  fetchmail -f /dev/null --nodetach --nosyslog -p IMAP -P ${ports.imap} --auth gssapi -u ${user} --sslproto '' -k -m ${q(`/bin/cat >> ${mbox}`)} localhost`);
  out.push(`  mutt -f imaps://${user}@localhost:${ports.imaps}/INBOX -e 'set imap_authenticators=gssapi certificate_file=${p.caCert}'`);
  out.push('');
  out.push('The article\'s other answers (APOP, CRAM-MD5, SCRAM, NTLM; side by side: npx kpop lab compare):');
  out.push(`  curl --login-options AUTH=CRAM-MD5 -u ${user}:PASSWORD pop3://localhost:${ports.pop3}/1`);
  out.push(`  mpop --host=localhost --port=${ports.pop3} --auth=scram-sha-256 --user=${user} --tls=off --delivery=mbox,${q(mbox)} --keep=on`);
  out.push('');
  out.push('Ctrl-C stops the lab; the next npm start reuses this realm.');
  return out;
}
