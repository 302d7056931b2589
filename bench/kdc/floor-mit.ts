// bench/kdc/floor-mit.ts: what a Node UDP server costs per exchange under
// MIT's TGS load before any Kerberos work, for how much of the CPU goal is
// left to the handler:
//   node --import tsx bench/kdc/floor-mit.ts [SECONDS] [CONCURRENCY] [stored|handler]
// The server answers AS-REQs with our handler (the clients' TGTs) and every
// TGS-REQ with the same stored TGS-REP (our first real one), on a socket set
// up as `kdc start` sets up its own. MIT's clients reject the stale reply
// (its nonce is not theirs) and go on, so each of their requests is one
// datagram in and one out; the CPU of this process (user + system) per
// TGS-REQ received is the floor: receive, the 'message' event, send.
// With `handler` the same server answers every TGS-REQ with our handler
// instead: the difference is what the handler costs under that load (its
// caches shared with the client processes), beside its hot-loop figure in
// bench/kdc/inproc-mit.ts.
import dgram from 'node:dgram';
import { handleRequest } from '@kpop/kdc';
import { inProcessRealm } from './inproc-realm.js';
import { mitLoadOrExit, runMitLoad } from './mit-load.js';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 8);
const answer = process.argv[4] ?? 'stored';
if (answer !== 'stored' && answer !== 'handler') throw new Error(`the third argument is stored or handler, not ${answer}`);
const bin = mitLoadOrExit();
const realm = inProcessRealm('kdc-floor-mit-');
const ctx = realm.ctx;
let stored: Uint8Array | undefined;
let tgsReqs = 0;
const literal = (host: string, _o: unknown, cb: (e: null, a: string, f: number) => void): void => cb(null, host, 4);
const sock = dgram.createSocket({ type: 'udp4', lookup: literal, recvBufferSize: 4 * 1024 * 1024 } as dgram.SocketOptions);
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
sock.on('message', (msg, rinfo) => {
  if (msg[0] === 0x6c) {
    tgsReqs++;
    if (stored && answer === 'stored') return void sock.send(stored, rinfo.port, rinfo.address);
  }
  const reply = handleRequest(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), ctx);
  if (reply && reply[0] === 0x6d) stored = reply;
  if (reply) sock.send(reply, rinfo.port, rinfo.address);
});
const target = realm.target(sock.address().port);
await runMitLoad(bin, target, 'tgs', concurrency, 1); // warm-up (JIT), and the stored reply
tgsReqs = 0;
const c0 = process.cpuUsage();
const r = await runMitLoad(bin, target, 'tgs', concurrency, seconds);
const c = process.cpuUsage(c0);
const n = Math.max(1, tgsReqs);
console.log(`${answer === 'stored' ? 'floor' : 'handler'} c=${concurrency}: ${tgsReqs} TGS-REQs answered with ${answer === 'stored' ? 'a stored reply' : 'our handler'} in ${r.seconds.toFixed(1)} s; this process ${((c.user + c.system) / n).toFixed(1)} µs CPU each (user ${(c.user / n).toFixed(1)} + system ${(c.system / n).toFixed(1)}); MIT's clients ${((r.clientCpu * 1e6) / n).toFixed(0)} µs per request`);
sock.close();
realm.cleanup();
