/**
 * Workers on every core (`kdc start --workers N`): a primary process that
 * serves nothing itself and N worker processes (node:cluster) that each run
 * the whole KDC over their own handle on the database, on the same UDP and
 * TCP ports.
 *
 * How the ports are shared: Node's cluster gives every worker the handle the
 * primary bound (dgram with exclusive: false; net with exclusive: false, the
 * primary accepting TCP connections and handing them round-robin). One UDP
 * socket for all, so a datagram waits in one kernel queue and whichever
 * worker reads first answers it; a worker that dies loses only the requests
 * it had already read (the client retransmits), never the queue. This works
 * on every Node line (SO_REUSEPORT, `reusePort`, only exists from Node 22.12
 * and 23.1 on, and would split the queue per socket).
 *
 * The primary resolves port 0 to a concrete free port before forking, so
 * that every worker (and a restarted one) asks for the same address; sends
 * each worker its configuration over the IPC channel (the master password
 * never goes through the environment or argv); restarts a worker that exits
 * while the KDC is meant to run, logging one line; gives up if workers keep
 * dying at start; and on SIGTERM/SIGINT stops them all. SIGHUP is passed on.
 * It also passes each worker's lockout events (a wrong password, a success
 * that clears failures) to the others (shareLockoutEvents), so that the
 * workers enforce one count between them.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import dgram from 'node:dgram';
import net from 'node:net';
import type { ListenAddress } from './kdc-server.js';
import type { PeerLockoutEvent, RealmDatabase } from '../db/index.js';

/** What a worker needs to serve (sent by the primary over IPC). */
export interface WorkerConfig {
  listen: ListenAddress[];
  /** Each worker binds its own sockets with SO_REUSEPORT (where this Node has it) instead of sharing the primary's. */
  reusePort?: boolean;
  masterPassword?: string;
  maxUdpReply?: number;
}

type FromPrimary = { kpopKdc: 'config'; config: WorkerConfig } | { kpopKdc: 'lockout'; ev: PeerLockoutEvent };
type FromWorker = { kpopKdc: 'hello' } | { kpopKdc: 'ready'; udp: ListenAddress[] } | { kpopKdc: 'failed'; message: string } | { kpopKdc: 'lockout'; ev: PeerLockoutEvent };

/** `auto` or a positive whole number (at most 256). */
export function parseWorkers(text: string, cores: number): number {
  if (text.trim() === 'auto') return Math.max(1, cores);
  if (!/^\d{1,3}$/.test(text.trim()) || Number(text) < 1 || Number(text) > 256) throw new RangeError(`invalid --workers "${text}": use auto or a number from 1 to 256`);
  return Number(text);
}

/** True in a process forked by superviseWorkers. */
export const isKdcWorker = (): boolean => cluster.isWorker && process.env.KPOP_KDC_WORKER !== undefined;

/** In a worker: asks the primary for the configuration (a message sent before anyone listens would be lost). */
export function receiveWorkerConfig(): Promise<WorkerConfig> {
  return new Promise((resolve) => {
    const onMessage = (m: FromPrimary): void => {
      if (m?.kpopKdc !== 'config') return;
      process.off('message', onMessage);
      resolve(m.config);
    };
    process.on('message', onMessage);
    process.send?.({ kpopKdc: 'hello' } satisfies FromWorker);
  });
}

/** In a worker: the lockout events its database handle records go to the primary, which passes them to the other workers; theirs are applied here. */
export function shareLockoutEvents(db: Pick<RealmDatabase, 'relayLockout' | 'applyPeerLockout'>): void {
  db.relayLockout((ev) => process.send?.({ kpopKdc: 'lockout', ev } satisfies FromWorker));
  process.on('message', (m: FromPrimary) => {
    if (m?.kpopKdc === 'lockout') db.applyPeerLockout(m.ev);
  });
}

export function reportWorkerReady(udp: ListenAddress[]): void {
  process.send?.({ kpopKdc: 'ready', udp } satisfies FromWorker);
}

export function reportWorkerFailed(message: string): void {
  process.send?.({ kpopKdc: 'failed', message } satisfies FromWorker);
}

/** A port that is free for both TCP and UDP on host right now (for port 0). */
async function freePortPair(host: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const tcp = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host, port: 0, exclusive: true }, () => resolve((tcp.address() as net.AddressInfo).port));
    });
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind({ address: host, port, exclusive: true }, () => resolve(true));
    });
    await Promise.all([new Promise((r) => udp.close(() => r(undefined))), new Promise((r) => tcp.close(() => r(undefined)))]);
    if (ok || attempt >= 20) return port;
  }
}

/**
 * True when this Node binds two UDP and two TCP sockets to one port with
 * reusePort (Node 22.12+ and 23.1+ on Linux); older lines ignore the option,
 * so the second bind fails and the answer is false.
 */
export async function reusePortWorks(host: string): Promise<boolean> {
  const udpType = net.isIPv6(host) ? 'udp6' : 'udp4';
  const opts = { type: udpType, reusePort: true } as dgram.SocketOptions;
  const a = dgram.createSocket(opts);
  const b = dgram.createSocket(opts);
  const t1 = net.createServer();
  const t2 = net.createServer();
  const bind = (s: dgram.Socket, port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      s.once('error', () => resolve(undefined));
      s.bind({ address: host, port, exclusive: true }, () => resolve(s.address().port));
    });
  const listen = (s: net.Server, port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      s.once('error', () => resolve(undefined));
      s.listen({ host, port, exclusive: true, reusePort: true } as net.ListenOptions, () => resolve((s.address() as net.AddressInfo).port));
    });
  try {
    const p = await bind(a, 0);
    if (p === undefined || (await bind(b, p)) === undefined) return false;
    const q = await listen(t1, 0);
    return q !== undefined && (await listen(t2, q)) !== undefined;
  } finally {
    for (const s of [a, b]) {
      try {
        s.close();
      } catch {
        // Never bound.
      }
    }
    t1.close();
    t2.close();
  }
}

export interface SupervisorOptions {
  workers: number;
  config: WorkerConfig;
  /** One status line (no newline), e.g. to stderr. */
  log(line: string): void;
  /** A worker that dies before serving, or within this long after it began to, counts as a failed start (ms, default 2000). */
  startGraceMs?: number;
  /** Failed starts in a row after which the primary gives up (default 5). */
  maxFailedStarts?: number;
}

export interface Supervisor {
  /** Where the workers serve (port 0 resolved). */
  readonly udp: ListenAddress[];
  /** Worker pids now. */
  pids(): number[];
  /** Resolves when every worker has stopped: after stop(), or when the workers keep failing (then with an error message). */
  readonly done: Promise<string | undefined>;
  stop(): Promise<void>;
}

/** In the primary: fork the workers, wait until all serve, keep them running. */
export async function superviseWorkers(opts: SupervisorOptions): Promise<Supervisor> {
  const listen: ListenAddress[] = [];
  for (const a of opts.config.listen) listen.push(a.port === 0 ? { host: a.host, port: await freePortPair(a.host) } : a);
  const config: WorkerConfig = { ...opts.config, listen };
  const grace = opts.startGraceMs ?? 2000;
  const maxFailed = opts.maxFailedStarts ?? 5;
  const live = new Map<number, { worker: Worker; slot: number; readyAt: number; ready: boolean }>();
  let stopping = false;
  let serving = false; // every first worker ready: from now on a dead worker is restarted
  let failedStarts = 0;
  let finish!: (error: string | undefined) => void;
  const done = new Promise<string | undefined>((r) => (finish = r));
  let lastFailure = '';
  /** Set when the primary gives up on its workers: what `done` resolves to. */
  let givenUp: string | undefined;

  const fork = (slot: number): Promise<void> =>
    new Promise((resolve, reject) => {
      // stdout and stderr are the primary's: each worker writes its own request log lines.
      const worker = cluster.fork({ KPOP_KDC_WORKER: String(slot) });
      const entry = { worker, slot, readyAt: 0, ready: false };
      live.set(worker.id, entry);
      // A send to a worker that has just died emits 'error' on it: its 'exit' handles the death.
      worker.on('error', () => {});
      worker.on('message', (m: FromWorker) => {
        if (m?.kpopKdc === 'hello') {
          worker.send({ kpopKdc: 'config', config } satisfies FromPrimary);
        } else if (m?.kpopKdc === 'ready') {
          entry.ready = true;
          entry.readyAt = Date.now();
          resolve();
        } else if (m?.kpopKdc === 'failed') {
          lastFailure = m.message;
          reject(new Error(m.message));
        } else if (m?.kpopKdc === 'lockout') {
          for (const other of live.values()) if (other !== entry && other.ready) other.worker.send({ kpopKdc: 'lockout', ev: m.ev } satisfies FromPrimary);
        }
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker.id);
        if (!entry.ready) reject(new Error(lastFailure || `worker ${slot} exited with ${signal ?? `code ${code}`} before serving`));
        if (stopping || !serving) {
          if (stopping && live.size === 0) finish(givenUp);
          return;
        }
        const how = signal ? `signal ${signal}` : `code ${code}`;
        // A failed start: never served, or died soon after it began to.
        const quick = !entry.ready || Date.now() - entry.readyAt < grace;
        failedStarts = quick ? failedStarts + 1 : 0;
        if (failedStarts >= maxFailed) {
          opts.log(`kdc: worker ${slot} (pid ${worker.process.pid}) exited with ${how}; ${failedStarts} workers in a row died at start: stopping`);
          givenUp = `workers keep dying at start${lastFailure ? ` (${lastFailure})` : ''}`;
          void stop();
          return;
        }
        opts.log(`kdc: worker ${slot} (pid ${worker.process.pid}) exited with ${how}; restarting it`);
        // Back off a little while workers keep failing, so a broken start does not spin.
        const delay = Math.min(1000, 100 * failedStarts);
        setTimeout(() => {
          if (stopping) return;
          fork(slot).then(
            () => opts.log(`kdc: worker ${slot} restarted (pid ${[...live.values()].find((e) => e.slot === slot)?.worker.process.pid ?? '?'})`),
            () => {
              /* its exit handler logs and retries */
            },
          );
        }, delay);
      });
    });

  const stop = async (): Promise<void> => {
    if (stopping && live.size === 0) return;
    stopping = true;
    const exits = [...live.values()].map(({ worker }) => new Promise<void>((r) => (worker.isDead() ? r() : worker.once('exit', () => r()))));
    for (const { worker } of live.values()) worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const { worker } of live.values()) worker.process.kill('SIGKILL');
    }, 5000);
    await Promise.all(exits);
    clearTimeout(timer);
    if (live.size === 0) finish(givenUp);
  };

  const onHup = (): void => {
    for (const { worker } of live.values()) worker.process.kill('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  void done.then(() => process.off('SIGHUP', onHup));

  try {
    // One at a time: the first binds the shared handles, and a bad configuration shows once.
    for (let slot = 1; slot <= opts.workers; slot++) await fork(slot);
    serving = true;
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    udp: listen,
    pids: () => [...live.values()].map((e) => e.worker.process.pid!).filter((p) => p !== undefined),
    done,
    stop,
  };
}
