// A connection hog for the limits tests and bench: from one local address
// (--from 127.0.0.2) it opens IDLE connections that send nothing and DRIP
// connections that send one byte every DRIP_MS, to each target port, and
// opens again whatever the server closes, RETRY_MS later. It prints
// "READY {json}" once the first wave is settled, then "STATUS {json}" on
// each line it reads on stdin, and exits when stdin closes or on SIGTERM.
// Plain JavaScript so that it starts fast in its own process (its own
// file-descriptor budget: run it under `ulimit -n` high enough).
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const cfg = JSON.parse(process.argv[2]);
const { from, ports, idle = 1000, drip = 200, dripMs = 5000, retryMs = 2000, dripByte = 'N' } = cfg;
const stats = Object.fromEntries(ports.map((p) => [p, { open: 0, opened: 0, closedByServer: 0, errors: 0 }]));
const sockets = new Set();
let stopping = false;

function one(port, dripping) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from });
    let connected = false;
    let timer;
    s.on('connect', () => {
      connected = true;
      stats[port].open++;
      stats[port].opened++;
      sockets.add(s);
      if (dripping) timer = setInterval(() => s.write(dripByte), dripMs);
      // Settled once the server had a moment to refuse it.
      setTimeout(resolve, 50);
    });
    s.on('data', () => {});
    s.on('error', () => {
      if (!connected) stats[port].errors++;
    });
    s.on('close', () => {
      clearInterval(timer);
      sockets.delete(s);
      if (connected) {
        stats[port].open--;
        stats[port].closedByServer++;
      }
      resolve();
      if (!stopping) setTimeout(() => void one(port, dripping), retryMs).unref();
    });
  });
}

async function wave() {
  const jobs = [];
  for (const port of ports) {
    for (let i = 0; i < idle + drip; i++) jobs.push([port, i >= idle]);
  }
  // 200 connects in flight at most: the listen backlog stays unsaturated.
  let next = 0;
  await Promise.all(Array.from({ length: 200 }, async () => {
    while (next < jobs.length) {
      const [port, d] = jobs[next++];
      await one(port, d);
    }
  }));
}

await wave();
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`READY ${JSON.stringify(stats)}\n`);
const rl = createInterface({ input: process.stdin });
rl.on('line', () => process.stdout.write(`STATUS ${JSON.stringify(stats)}\n`));
const stop = () => {
  stopping = true;
  for (const s of sockets) s.destroy();
  process.exit(0);
};
rl.on('close', stop);
process.on('SIGTERM', stop);
