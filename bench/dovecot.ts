// Dovecot 2.3 as the side-by-side reference for bench/pop3 and bench/imap,
// from a private configuration (protocols.md §7): one protocol (pop3 or imap),
// GSSAPI from our keytab, Maildir under a scratch directory, listening on
// 127.0.0.1 only. Runs only when the `dovecot` binary is installed and we are
// root (Dovecot drops privileges).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/free-port.js';

export type DovecotProtocol = 'pop3' | 'imap';

export function dovecotAvailable(protocol: DovecotProtocol): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (Dovecot must start as root to drop privileges)';
  const r = spawnSync('dovecot', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return `not installed (apt-get install dovecot-core dovecot-${protocol}d dovecot-gssapi)`;
  return undefined;
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid);
}

export interface Dovecot {
  port: number;
  /** Where user U's Maildir is: deliver there before start(). */
  maildir(user: string): string;
  start(): Promise<void>;
  /** The master process (its tree is Dovecot's CPU). */
  pid(): number;
  stop(): void;
}

export async function makeDovecot(opts: { protocol: DovecotProtocol; realm: string; keytab: string; krb5Conf: string; users: string[] }): Promise<Dovecot> {
  const proto = opts.protocol;
  const dir = mkdtempSync(join(tmpdir(), 'kpop-dovecot-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const keytab = join(dir, `${proto}.keytab`);
  copyFileSync(opts.keytab, keytab);
  chmodSync(keytab, 0o644); // read by the unprivileged auth process; a bench-only copy
  const krb5Conf = join(dir, 'krb5.conf');
  copyFileSync(opts.krb5Conf, krb5Conf);
  chmodSync(krb5Conf, 0o644);
  const nobody = 65534;
  writeFileSync(join(dir, 'users'), opts.users.map((u) => `${u}:{PLAIN}unused-pw:${nobody}:${nobody}::${join(dir, 'home', u)}::\n`).join(''));
  for (const u of opts.users) mkdirSync(join(dir, 'home', u, 'Maildir'), { recursive: true });
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, `protocols = ${proto}
listen = 127.0.0.1
base_dir = ${dir}/base
state_dir = ${dir}/state
instance_name = kpop${proto}bench${port}
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
import_environment = TZ KRB5_CONFIG=${krb5Conf}
auth_mechanisms = gssapi plain
auth_krb5_keytab = ${keytab}
auth_gssapi_hostname = "$ALL"
auth_realms = ${opts.realm}
auth_default_realm = ${opts.realm}
auth_username_format = %Ln
first_valid_uid = 1
mail_location = maildir:~/Maildir
${proto === 'pop3' ? 'pop3_uidl_format = %08Xu%08Xv\n' : ''}passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${dir}/users
}
userdb {
  driver = passwd-file
  args = username_format=%n ${dir}/users
}
service ${proto}-login {
  inet_listener ${proto} {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener ${proto}s {
    port = 0
  }
}
service anvil {
  chroot =
}
`);
  return {
    port,
    maildir: (u) => join(dir, 'home', u, 'Maildir'),
    async start() {
      chownTree(join(dir, 'home'), nobody);
      execFileSync('dovecot', ['-c', conf], { stdio: 'inherit' });
      for (let i = 0; i < 100; i++) {
        const ok = await new Promise<boolean>((r) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            r(true);
          });
          s.on('error', () => r(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`Dovecot did not listen on ${port}; see ${dir}/dovecot.log`);
    },
    pid: () => Number(readFileSync(join(dir, 'base', 'master.pid'), 'utf8').trim()),
    stop() {
      spawnSync('doveadm', ['-c', conf, 'stop'], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
