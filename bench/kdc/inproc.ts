// bench/kdc/inproc.ts: the KDC request path without sockets, for profiling
// (node --cpu-prof --import tsx bench/kdc/inproc.ts [N] [as|tgs|both]).
// Prints CPU µs (user + system) per AS and TGS exchange through handleRequest, the same
// handler the UDP and TCP listeners call, with the server's lookaside and a
// batched logger to /dev/null.
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ENCTYPES, getEnctype } from '@kpop/common';
import { Lookaside, batchedFdLogger, buildAsReq, buildTgsReq, handleRequest, initRealm, openAsRep, openDatabase } from '@kpop/kdc';
import type { HandlerContext } from '@kpop/kdc';

const n = Number(process.argv[2] ?? 20000);
const which = process.argv[3] ?? 'both';
const dir = mkdtempSync(join(tmpdir(), 'kdc-inproc-'));
const init = initRealm(join(dir, 'db'), { realm: 'IN.TEST' });
init.addPrincipal('alice', { password: 'pw' });
init.addPrincipal('pop/localhost', { randkey: true });
init.close();
const db = openDatabase(join(dir, 'db'));
const ctx: HandlerContext = { store: db, now: () => new Date(), enctypes: DEFAULT_ENCTYPES, ...(process.env.NO_LA ? {} : { lookaside: new Lookaside({}) }), log: batchedFdLogger(openSync('/dev/null', 'w')) };
const salt = 'IN.TESTalice';
const userKey = { keytype: 18, keyvalue: getEnctype(18).stringToKey('pw', salt) };

function asReq(): Uint8Array {
  return buildAsReq({ realm: 'IN.TEST', cname: ['alice'], preauthKey: userKey });
}
const { rep, part } = openAsRep(handleRequest(asReq(), ctx)!, userKey);
const tgt = { ticket: rep.ticket, sessionKey: part.key };
function tgsReq(): Uint8Array {
  return buildTgsReq({ realm: 'IN.TEST', ticket: tgt.ticket, sessionKey: tgt.sessionKey, crealm: 'IN.TEST', cname: { nameType: 1, nameString: ['alice'] }, sname: ['pop', 'localhost'], etypes: [18] });
}

function run(label: string, make: () => Uint8Array): void {
  const reqs = Array.from({ length: Math.min(n, 2000) }, make);
  // Warm up, then time: fresh requests (not lookaside hits) cycle through the prebuilt set with new nonces rebuilt in batches.
  for (let i = 0; i < 2000; i++) handleRequest(make(), ctx);
  let total = 0;
  let done = 0;
  const perBatch: number[] = [];
  while (done < n) {
    for (let i = 0; i < reqs.length; i++) reqs[i] = make();
    const c0 = process.cpuUsage();
    for (const r of reqs) {
      const reply = handleRequest(r, ctx);
      if (!reply || (reply[0] !== 0x6b && reply[0] !== 0x6d)) throw new Error(`${label}: not a reply: ${reply?.[0]}`);
    }
    const c = process.cpuUsage(c0);
    total += c.user + c.system;
    perBatch.push((c.user + c.system) / reqs.length);
    done += reqs.length;
  }
  perBatch.sort((a, b) => a - b);
  console.log(`${label}: ${(total / done).toFixed(1)} µs CPU per exchange (in-process, ${done} requests; best batch ${perBatch[0]!.toFixed(1)}, median ${perBatch[perBatch.length >> 1]!.toFixed(1)})`);
}

if (which !== 'tgs') run('AS ', asReq);
if (which !== 'as') run('TGS', tgsReq);
db.close();
rmSync(dir, { recursive: true, force: true });
