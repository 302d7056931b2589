// The shared half of bench/pop3/client.mjs and bench/imap/client.mjs, the
// load clients that run in a worker thread (so that a server in the bench's
// own process does not share an event loop with its clients): run every
// session at once, then post the wall time, bytes and this thread's CPU.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

// This thread's own CPU (utime + stime, USER_HZ = 100), so that the bench
// can subtract the client's work from the process's.
function threadCpu() {
  const t = readFileSync('/proc/thread-self/stat', 'latin1');
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** session(port, s, workerData) → Promise<bytes received>, one per workerData.sessions entry. */
export async function runClients(session) {
  const c0 = threadCpu();
  const t0 = performance.now();
  const bytes = await Promise.all(workerData.sessions.map((s) => session(workerData.port, s, workerData)));
  parentPort.postMessage({ ms: performance.now() - t0, bytes: bytes.reduce((a, b) => a + b, 0), clientCpu: threadCpu() - c0 });
}

/**
 * A session's socket, a line sender, and its failure path: fail(why)
 * drops the connection and rejects with the user's name.
 */
export function openSession(port, s, reject) {
  const sock = connect(port, '127.0.0.1');
  const fail = (why) => {
    sock.destroy();
    reject(new Error(`${s.user}: ${why}`));
  };
  sock.on('error', (e) => fail(e.message));
  return { sock, fail, send: (l) => sock.write(`${l}\r\n`) };
}
