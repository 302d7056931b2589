// A UDP flood for the KDC tests and bench: from one local address (--from
// 127.0.0.2) it sends, at about RATE datagrams a second for SECONDS, a mix
// of junk (random bytes; some starting like an AS-REQ) and valid-looking
// AS-REQs for unknown principals (a template whose principal name is
// rewritten with a counter, so no two are the same and no lookaside cache
// helps). Prints "DONE {json}" with what it sent, then exits.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const cfg = JSON.parse(process.argv[2]);
const { port, host = '127.0.0.1', from, rate = 20000, seconds = 5, junkShare = 0.5, template, marker } = cfg;
const asReq = Buffer.from(template, 'base64');
const at = asReq.indexOf(Buffer.from(marker));
if (at < 0) throw new Error('marker not in template');
const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind({ address: from, port: 0 }, r));
const sent = { junk: 0, asReq: 0, errors: 0 };
let n = 0;
const junkPool = Array.from({ length: 256 }, (_, i) => {
  const b = randomBytes(40 + (i % 200));
  // A quarter look like the start of an AS-REQ ([APPLICATION 10]) but are not.
  if (i % 4 === 0) b[0] = 0x6a;
  else if (b[0] === 0x6a || b[0] === 0x6c) b[0] = 0x30;
  return b;
});
const t0 = performance.now();
const tickMs = 10;
const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
await new Promise((resolve) => {
  const tick = () => {
    const elapsed = performance.now() - t0;
    if (elapsed >= seconds * 1000) return resolve();
    const due = Math.min(perTick * 4, Math.round((elapsed / 1000) * rate) - (sent.junk + sent.asReq));
    for (let i = 0; i < due; i++) {
      n++;
      if ((n * 0.618034) % 1 < junkShare) {
        sock.send(junkPool[n & 255], port, host);
        sent.junk++;
      } else {
        const msg = Buffer.from(asReq);
        msg.write(String(n % 1e8).padStart(marker.length, '0').slice(-marker.length), at, 'latin1');
        sock.send(msg, port, host);
        sent.asReq++;
      }
    }
    setTimeout(tick, tickMs);
  };
  tick();
});
await new Promise((r) => setTimeout(r, 200));
sock.close();
process.stdout.write(`DONE ${JSON.stringify({ ...sent, seconds: (performance.now() - t0) / 1000 })}\n`);
