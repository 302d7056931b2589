/**
 * `kdc test-realm`: a throwaway realm for a test suite in any language, in the
 * manner of MIT's k5test, Hadoop's MiniKdc and Apache Kerby's
 * SimpleKdcServer, but driven through one process and one JSON line instead
 * of a library or a human banner.
 *
 * It makes a realm in a fresh temporary folder (startTestKdc), serves UDP and
 * TCP on 127.0.0.1 (a free port, or --port), and when the KDC answers it
 * prints exactly ONE line on stdout: a JSON object with the realm, the KDC
 * address, the krb5.conf to point KRB5_CONFIG at, the folder, a ccache path,
 * and every principal with its password (users) or keytab (services). Nothing
 * else is ever written to stdout; the KDC's request log goes to stderr with
 * --verbose. It serves until SIGTERM, SIGINT, SIGHUP or the end of its
 * standard input (so a harness that dies, closing the pipe, leaves nothing
 * behind), then stops the KDC and removes the folder.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startTestKdc, type TestKdc } from '../testing/test-kdc.js';
import type { CliIo } from './commands.js';
import { UsageError } from './parse.js';

export interface TestRealmOpts {
  realm?: string;
  principal?: string[];
  service?: string[];
  port?: string;
  verbose?: boolean;
}

/** What the ready line says about one principal. */
export interface TestRealmPrincipal {
  principal: string;
  password?: string;
  keytab?: string;
}

/** The ready line, as JSON. Field names in snake_case, for Python and shell users. */
export interface TestRealmInfo {
  realm: string;
  /** "127.0.0.1:PORT", UDP and TCP. */
  kdc: string;
  krb5_conf: string;
  dir: string;
  /** "FILE:<dir>/ccache", the KRB5CCNAME the realm's env suggests. */
  ccache: string;
  /** All services' keys in one keytab (KRB5_KTNAME), when --service was given. */
  keytab?: string;
  /** Keyed by the name as given on the command line (without @REALM). */
  principals: Record<string, TestRealmPrincipal>;
  /** KRB5_CONFIG, KRB5CCNAME, KRB5_KTNAME for the processes under test. */
  env: Record<string, string>;
  pid: number;
}

const REALM_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME_RE = /^[^\s@:/][^\s@:]*$/;

/** "alice", "alice:secret" (the password may contain ':'); a name without one gets a random password. */
export function parsePrincipalArg(arg: string): { name: string; password: string; generated: boolean } {
  const i = arg.indexOf(':');
  const name = i < 0 ? arg : arg.slice(0, i);
  if (!NAME_RE.test(name)) throw new UsageError(`--principal ${JSON.stringify(arg)}: expected NAME or NAME:PASSWORD (a name without @REALM, spaces or ':')`);
  if (i >= 0 && i === arg.length - 1) throw new UsageError(`--principal ${JSON.stringify(arg)}: empty password (leave out the ':' for a random one)`);
  return i < 0 ? { name, password: randomBytes(18).toString('base64url'), generated: true } : { name, password: arg.slice(i + 1), generated: false };
}

function parseServiceArg(arg: string): string {
  if (!NAME_RE.test(arg) || !arg.includes('/')) throw new UsageError(`--service ${JSON.stringify(arg)}: expected SERVICE/HOST, e.g. HTTP/localhost (no @REALM)`);
  return arg;
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port ${JSON.stringify(text)}: expected a port number 0-65535 (0: a free port)`);
  return Number(text);
}

/** Resolves when the realm should stop: a signal, or the end of standard input. */
function untilStopped(io: CliIo): Promise<string> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const done = (why: string): void => {
      for (const s of signals) process.off(s, handlers.get(s)!);
      resolve(why);
    };
    const handlers = new Map(signals.map((s) => [s, () => done(s)] as const));
    for (const s of signals) process.once(s, handlers.get(s)!);
    io.stdin.once('end', () => done('end of standard input'));
    io.stdin.once('close', () => done('end of standard input'));
    io.stdin.once('error', () => done('end of standard input'));
    // Reading (and dropping) whatever arrives is what lets 'end' be seen.
    io.stdin.on('data', () => {});
    io.stdin.resume();
  });
}

export async function cmdTestRealm(o: TestRealmOpts, io: CliIo): Promise<void> {
  const realm = o.realm ?? 'KRBTEST.COM';
  if (!REALM_RE.test(realm)) throw new UsageError(`--realm ${JSON.stringify(realm)}: expected letters, digits, '.', '_' or '-', e.g. TEST.REALM`);
  const users = (o.principal ?? []).map(parsePrincipalArg);
  const services = (o.service ?? []).map(parseServiceArg);
  const names = [...users.map((u) => u.name), ...services];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`principal ${JSON.stringify(dup)} given twice`);
  const port = o.port === undefined ? 0 : parsePort(o.port);

  let kdc: TestKdc;
  try {
    kdc = await startTestKdc({
      realm,
      principals: Object.fromEntries(users.map((u) => [u.name, u.password])),
      port,
      ...(o.verbose ? { log: (record: Record<string, unknown>) => void io.stderr.write(`${JSON.stringify(record)}\n`) } : {}),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`cannot listen on 127.0.0.1:${port}: address in use (leave out --port for a free one)`);
    if (err.code === 'EACCES') throw new Error(`cannot listen on 127.0.0.1:${port}: permission denied (ports below 1024 need root; leave out --port for a free one)`);
    throw e;
  }
  try {
    const principals: Record<string, TestRealmPrincipal> = {};
    for (const u of users) principals[u.name] = { principal: `${u.name}@${realm}`, password: u.password };
    for (const s of services) {
      kdc.addPrincipal(s, { randkey: true });
      principals[s] = { principal: `${s}@${realm}`, keytab: kdc.keytab([s]) };
    }
    const keytab = services.length ? kdc.keytab(services, join(kdc.dir, 'krb5.keytab')) : undefined;
    const info: TestRealmInfo = {
      realm,
      kdc: kdc.kdcAddress,
      krb5_conf: kdc.krb5ConfPath,
      dir: kdc.dir,
      ccache: kdc.env.KRB5CCNAME!,
      ...(keytab ? { keytab } : {}),
      principals,
      env: { ...kdc.env },
      pid: process.pid,
    };
    const stopped = untilStopped(io);
    io.stdout.write(`${JSON.stringify(info)}\n`);
    const why = await stopped;
    io.stderr.write(`kdc test-realm: ${why}: realm ${realm} stopped, ${kdc.dir} removed\n`);
  } finally {
    await kdc.stop();
  }
}
