/**
 * The message waiting in each new lab mailbox: an RFC 5322 message whose
 * body tells the reader what just happened to fetch it.
 */
import { randomBytes } from 'node:crypto';

export function welcomeMessage(user: string, realm: string, now = new Date()): Buffer {
  const id = `${randomBytes(8).toString('hex')}@lab.localhost`;
  const lines = [
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    'From: The kpop lab <postmaster@localhost>',
    `To: ${user}@localhost`,
    `Subject: Welcome to the ${realm} realm, ${user}`,
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Hello ${user},`,
    '',
    `If you are reading this, Kerberos worked: kinit got you a ticket-granting`,
    `ticket for krbtgt/${realm}@${realm}, your mail client used it to get a`,
    `ticket for pop/localhost@${realm}, and the POP3 server opened that ticket`,
    'with its keytab. No password crossed the network.',
    '',
    'Try next:',
    '  - klist, to see both tickets;',
    '  - kpop fetch --gssapi --tls, the standard AUTH GSSAPI way, under TLS;',
    '  - kdc ktadd --randkey -k var/lab/pop.keytab pop/localhost --dir var/lab/kdc,',
    '    to rotate the service key while the lab runs (README, "Admin guide").',
    '',
    '-- ',
    'The kpop lab',
    '',
  ];
  return Buffer.from(lines.join('\n'), 'utf8');
}
