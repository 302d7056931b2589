// bench/kdc/inproc-mit.ts: MIT's own TGS-REQs (FAST-wrapped, eight enctypes)
// through our request handler without sockets, for profiling the TGS path
// under the requests that count:
//   node [--cpu-prof] --import tsx bench/kdc/inproc-mit.ts [ROUNDS]
// Serves a fresh realm over UDP in this process while MIT's libkrb5
// (bench/kdc/mit/mitload.c) makes three seconds of TGS exchanges, keeping
// every TGS-REQ it received; then replays them straight into handleRequest
// (no lookaside: each is processed in full) and prints CPU µs per exchange.
// Each round replays its own slice of the captures, each request once: a
// request replayed again would bring back its authenticator's subkey, which
// a real client never sends twice (and which the derived-key cache would
// then treat as a key in use).
import dgram from 'node:dgram';
import { handleRequest } from '@kpop/kdc';
import { inProcessRealm } from './inproc-realm.js';
import { mitLoadOrExit, runMitLoad } from './mit-load.js';

const rounds = Number(process.argv[2] ?? 5);
const bin = mitLoadOrExit();
// No lookaside: a replayed request is processed in full each time.
const realm = inProcessRealm('kdc-inproc-mit-');
const ctx = realm.ctx;
const captured: Uint8Array[] = [];
// Our handler behind a socket that keeps a copy of every TGS-REQ (tag 0x6c).
const front = dgram.createSocket('udp4');
await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
front.on('message', (msg, rinfo) => {
  const req = new Uint8Array(msg);
  if (req[0] === 0x6c && captured.length < 40000) captured.push(req.slice());
  const reply = handleRequest(req, ctx);
  if (reply) front.send(reply, rinfo.port, rinfo.address);
});
const r = await runMitLoad(bin, realm.target(front.address().port), 'tgs', 4, 3);
front.close();
console.log(`captured ${captured.length} MIT TGS-REQs (${r.ops} exchanges, ${r.failures} failed; ${captured[0]?.length ?? 0} bytes each)`);
if (captured.length === 0) process.exit(1);

// The first slice warms up (JIT); then one slice per round.
const slice = Math.floor(captured.length / (rounds + 1));
if (slice < 500) console.log(`only ${slice} requests per round: fewer rounds give steadier figures`);
for (let round = 0; round <= rounds; round++) {
  const part = captured.slice(round * slice, (round + 1) * slice);
  const c0 = process.cpuUsage();
  for (const req of part) {
    const reply = handleRequest(req, ctx);
    if (!reply || reply[0] !== 0x6d) throw new Error(`not a TGS-REP: ${reply?.[0]}`);
  }
  const c = process.cpuUsage(c0);
  if (round > 0) console.log(`TGS (MIT's requests): ${((c.user + c.system) / part.length).toFixed(1)} µs CPU per exchange (in-process, ${part.length} requests)`);
}
realm.cleanup();
