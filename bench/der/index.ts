// DER codec speed on genuine MIT 1.20 messages: decode, encode, and both, µs
// per message (goal: under 10 µs each). asn1js's BER parse of the same
// KDC-REQ-BODY is printed beside it for comparison (asn1js stays off every
// request path).
import { readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import { decodeAsRep, decodeAsReq, decodeTgsReq, encodeAsRep, encodeAsReq, encodeTgsReq } from '@kpop/common';
import { measure } from '../util.js';

const fixture = (name: string) =>
  new Uint8Array(Buffer.from(readFileSync(new URL(`../../test/fixtures/mit/${name}`, import.meta.url), 'utf8').trim(), 'hex'));

const cases = [
  { label: 'AS-REQ (03, 271 B)', bytes: fixture('03-alice-AS-REQ.hex'), decode: decodeAsReq, encode: encodeAsReq as (m: unknown) => Uint8Array },
  { label: 'TGS-REQ (05, 982 B)', bytes: fixture('05-alice-TGS-REQ.hex'), decode: decodeTgsReq, encode: encodeTgsReq as (m: unknown) => Uint8Array },
  { label: 'AS-REP (04, 774 B)', bytes: fixture('04-alice-AS-REP.hex'), decode: decodeAsRep, encode: encodeAsRep as (m: unknown) => Uint8Array },
];

// On a shared machine wall time mostly measures the queue for a core; the
// process's CPU time per operation (GC threads included) is the steadier figure.
function cpuTime(name: string, fn: () => unknown, n = 50_000): void {
  for (let i = 0; i < n / 10; i++) fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const c = process.cpuUsage(c0);
  console.log(`${(name + ' (CPU time)').padEnd(48)} ${((c.user + c.system) / n).toFixed(2).padStart(10)} µs/op  (${n} ops)`);
}

// A fixed pure-JS workload, to read the numbers below against the machine's current load
// (compare it across runs: it grows with the load other processes put on the cores).
measure('baseline: 2000 integer multiply-adds', () => {
  let x = 0;
  for (let i = 0; i < 2000; i++) x = (x * 31 + i) | 0;
  return x;
});

for (const c of cases) {
  const m = c.decode(c.bytes);
  if (Buffer.compare(Buffer.from(c.encode(m)), Buffer.from(c.bytes)) !== 0) throw new Error(`${c.label} does not round-trip`);
  measure(`decode ${c.label}`, () => c.decode(c.bytes));
  measure(`encode ${c.label}`, () => c.encode(m));
  measure(`decode + encode ${c.label}`, () => c.encode(c.decode(c.bytes)));
  cpuTime(`decode + encode ${c.label}`, () => c.encode(c.decode(c.bytes)));
}

const tgsReq = decodeTgsReq(fixture('05-alice-TGS-REQ.hex'));
const body = tgsReq.reqBodyBytes!;
measure(`asn1js fromBER KDC-REQ-BODY (05, ${body.length} B)`, () => asn1js.fromBER(body));
measure('asn1js fromBER TGS-REQ (05, 982 B)', () => asn1js.fromBER(fixture('05-alice-TGS-REQ.hex')), 500);
