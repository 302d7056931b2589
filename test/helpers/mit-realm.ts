/**
 * A throwaway MIT krb5 realm for interop tests, in the manner of MIT's own
 * K5Realm (src/util/k5test.py): a temporary directory with its own kdc.conf
 * (KRB5_KDC_PROFILE) and krb5.conf (KRB5_CONFIG), a database made by
 * `kdb5_util create -s`, principals made with `kadmin.local`, and
 * `krb5kdc -n` on a free 127.0.0.1 port (UDP and TCP). stop() kills the KDC
 * and removes the directory. Nothing global is touched.
 *
 *   const realm = await startMitRealm({ principals: [{ name: 'alice', password: 'pw' }] });
 *   execFileSync('kinit', ['alice'], { env: realm.env, input: 'pw\n' });
 *   await realm.stop();
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpUdpPort as freePort } from './free-port.js';

const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/**
 * The full path of a program, or undefined when it is not installed. PATH
 * entries in node_modules are skipped: `pnpm run` and `pnpm exec` put
 * node_modules/.bin first, where our own kinit, klist, kvno… are, so
 * findProgram('kinit') found our kinit instead of MIT's there (bench/kinit
 * compared ours with ours, and the tests run that way compared with
 * ourselves). `npm run` puts node's own directory first, which hid it.
 */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => !/(^|\/)node_modules(\/|$)/.test(d)), ...SBIN];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

/** True when an MIT KDC can be started here (krb5-kdc and krb5-admin-server installed). */
export const hasMitKdc = ['krb5kdc', 'kdb5_util', 'kadmin.local'].every((p) => findProgram(p) !== undefined);
/** True when MIT's client tools (krb5-user) are installed. */
export const hasMitClients = ['kinit', 'klist', 'kvno', 'kdestroy'].every((p) => findProgram(p) !== undefined);
/** Why an interop test skips, for its title. */
export const mitKdcSkipReason = hasMitKdc ? '' : ' (skipped: MIT krb5kdc/kdb5_util/kadmin.local not installed: apt-get install krb5-kdc krb5-admin-server)';

export interface MitPrincipal {
  name: string;
  /** Without a password the principal gets a random key (-randkey). */
  password?: string;
  /** Extra addprinc options, e.g. '-requires_preauth' or '-maxrenewlife "7 days"'. */
  options?: string;
}

export interface MitRealmOptions {
  realm?: string;
  principals?: MitPrincipal[];
  /** kdc.conf supported_enctypes, default aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal. */
  supportedEnctypes?: string;
  /** default_principal_flags = +preauth (the fixtures' setting); default true. */
  requirePreauth?: boolean;
  maxLife?: string;
  maxRenewableLife?: string;
  /** Extra lines for krb5.conf [libdefaults]. */
  libdefaults?: string;
  /** Extra lines for this realm's kdc.conf [realms] entry, e.g. 'disable_pac = true'. */
  realmSettings?: string;
  /** Extra krb5kdc arguments, e.g. ['-w', '2'] for worker processes. */
  kdcArgs?: string[];
  /** Also run kadmind (its kpasswd service on kpasswdPort, named kpasswd_server in krb5.conf). */
  kadmind?: boolean;
}

export interface MitRealm {
  realm: string;
  dir: string;
  port: number;
  /** Path of the client krb5.conf. */
  krb5Conf: string;
  kdcConf: string;
  /** kadmind's kpasswd port (0 without kadmind). */
  kpasswdPort: number;
  /** Environment for MIT tools and ours: KRB5_CONFIG, KRB5_KDC_PROFILE, and a KRB5CCNAME inside dir. */
  env: NodeJS.ProcessEnv;
  kadmin(query: string): string;
  addPrincipal(p: MitPrincipal): void;
  /** Export keys to a keytab; -norandkey keeps them (passwords stay valid). */
  ktadd(keytab: string, ...principals: string[]): void;
  /** Write another client krb5.conf for this realm (e.g. other permitted_enctypes); returns its path. */
  writeKrb5Conf(name: string, libdefaults: string): string;
  /** The krb5kdc process id (the parent, with -w). */
  pid: number;
  stop(): Promise<void>;
}

function krb5ConfText(realm: string, port: number, libdefaults: string, kpasswdPort = 0): string {
  return `[libdefaults]
	default_realm = ${realm}
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1465
${libdefaults}
[realms]
	${realm} = {
		kdc = 127.0.0.1:${port}
		admin_server = 127.0.0.1:${port + 1}
${kpasswdPort ? `\t\tkpasswd_server = 127.0.0.1:${kpasswdPort}\n` : ''}	}
[domain_realm]
	127.0.0.1 = ${realm}
	localhost = ${realm}
`;
}

function waitForTcp(port: number, child: ChildProcess, logFile: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        reject(new Error(`krb5kdc exited with ${child.exitCode}: ${log.slice(-500)}`));
        return;
      }
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`krb5kdc did not listen on 127.0.0.1:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Create the realm and start its KDC. */
export async function startMitRealm(options: MitRealmOptions = {}): Promise<MitRealm> {
  if (!hasMitKdc) throw new Error('MIT KDC programs are not installed');
  const realm = options.realm ?? 'MIT.TEST';
  const dir = mkdtempSync(join(tmpdir(), 'mit-realm-'));
  const kdcConf = join(dir, 'kdc.conf');
  const krb5Conf = join(dir, 'krb5.conf');
  const kdcLog = join(dir, 'kdc.log');
  const enctypes = options.supportedEnctypes ?? 'aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal';
  const writeConfs = (port: number) => {
    writeFileSync(
      kdcConf,
      `[kdcdefaults]
	kdc_listen = 127.0.0.1:${port}
	kdc_tcp_listen = 127.0.0.1:${port}
[realms]
	${realm} = {
		database_name = ${dir}/principal
		key_stash_file = ${dir}/stash
		acl_file = ${dir}/kadm5.acl
		max_life = ${options.maxLife ?? '1d'}
		max_renewable_life = ${options.maxRenewableLife ?? '7d'}
		supported_enctypes = ${enctypes}
		${options.requirePreauth === false ? '' : 'default_principal_flags = +preauth'}
		${kpasswdPort ? `kpasswd_listen = 127.0.0.1:${kpasswdPort}\n\t\tkadmind_listen = 127.0.0.1:${kadmindPort}\n\t\tkpasswd_port = ${kpasswdPort}\n\t\tkadmind_port = ${kadmindPort}` : ''}
		${options.realmSettings ?? ''}
	}
[logging]
	kdc = FILE:${kdcLog}
	admin_server = FILE:${dir}/kadmin.log
	default = FILE:${dir}/krb5lib.log
`,
    );
    writeFileSync(krb5Conf, krb5ConfText(realm, port, options.libdefaults ?? '', kpasswdPort));
  };
  const kpasswdPort = options.kadmind ? await freePort() : 0;
  const kadmindPort = options.kadmind ? await freePort() : 0;
  let port = await freePort();
  writeConfs(port);
  writeFileSync(join(dir, 'kadm5.acl'), '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KRB5_CONFIG: krb5Conf,
    KRB5_KDC_PROFILE: kdcConf,
    KRB5CCNAME: `FILE:${join(dir, 'ccache')}`,
    KRB5_KTNAME: `FILE:${join(dir, 'default.keytab')}`,
    KRB5_CLIENT_KTNAME: `FILE:${join(dir, 'client.keytab')}`,
    KRB5RCACHEDIR: dir,
    LANG: 'C',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
  delete env.KRB5_TRACE;
  const run = (prog: string, args: string[]) =>
    execFileSync(findProgram(prog)!, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  run('kdb5_util', ['create', '-s', '-r', realm, '-P', 'master-password-for-tests']);
  const kadmin = (query: string) => run('kadmin.local', ['-r', realm, '-q', query]);
  const addPrincipal = (p: MitPrincipal) =>
    void kadmin(`addprinc ${p.options ?? ''} ${p.password !== undefined ? `-pw ${p.password}` : '-randkey'} ${p.name}`);
  for (const p of options.principals ?? []) addPrincipal(p);

  // Another test may take the port between our probe and krb5kdc's bind: then try another one.
  let child: ChildProcess | undefined;
  for (let attempt = 1; ; attempt++) {
    const c = spawn(findProgram('krb5kdc')!, ['-n', '-r', realm, ...(options.kdcArgs ?? [])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.resume();
    try {
      await waitForTcp(port, c, kdcLog, 15_000);
      child = c;
      break;
    } catch (e) {
      c.kill('SIGKILL');
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      port = await freePort();
      writeConfs(port);
    }
  }
  let kadmind: ChildProcess | undefined;
  if (options.kadmind) {
    kadmind = spawn(findProgram('kadmind')!, ['-nofork', '-r', realm], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    kadmind.stderr?.resume();
    try {
      await waitForTcp(kpasswdPort, kadmind, join(dir, 'kadmin.log'), 15_000);
    } catch (e) {
      kadmind.kill('SIGKILL');
      child!.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
  return {
    realm,
    dir,
    port,
    krb5Conf,
    kdcConf,
    kpasswdPort,
    env,
    kadmin,
    addPrincipal,
    pid: child!.pid!,
    ktadd: (keytab, ...principals) => void kadmin(`ktadd -k ${keytab} -norandkey ${principals.join(' ')}`),
    writeKrb5Conf: (name, libdefaults) => {
      const path = join(dir, name);
      writeFileSync(path, krb5ConfText(realm, port, libdefaults, kpasswdPort));
      return path;
    },
    stop: async () => {
      if (kadmind && kadmind.exitCode === null) {
        const exited = new Promise((r) => kadmind!.once('exit', r));
        kadmind.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (kadmind.exitCode === null) kadmind.kill('SIGKILL');
      }
      const kdc = child!;
      if (kdc.exitCode === null) {
        const exited = new Promise((r) => kdc.once('exit', r));
        kdc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (kdc.exitCode === null) kdc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
