// Kerberos crypto hot paths: encrypt/decrypt (derived keys cached per key and
// usage), checksums, and string-to-key (deliberately slow: PBKDF2).
//
// Each line is measure()'s wall-clock µs/op, then the process CPU µs/op over
// a fixed run: on a shared, loaded machine the CPU figure is the steadier one.
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { getEnctype, stringToKey } from '@kpop/common';
import { measure } from '../util.js';

function bench(name: string, fn: () => unknown, ms = 1000, cpuRuns = 5000): void {
  measure(name, fn, ms);
  const t = process.cpuUsage();
  for (let i = 0; i < cpuRuns; i++) fn();
  const d = process.cpuUsage(t);
  console.log(`${''.padEnd(48)} ${((d.user + d.system) / cpuRuns).toFixed(2).padStart(10)} µs/op CPU`);
}

// Baselines: raw node:crypto calls, to read the numbers below against the machine's current load.
const rawKey = randomBytes(32);
const raw224 = randomBytes(224);
bench('baseline: createHmac sha1 over 216 B', () => createHmac('sha1', rawKey).update(raw224).digest());
bench('baseline: createCipheriv aes-256-cbc 224 B', () =>
  createCipheriv('aes-256-cbc', rawKey, Buffer.alloc(16)).setAutoPadding(false).update(raw224),
);

for (const etype of [18, 20]) {
  const enc = getEnctype(etype);
  const key = enc.randomKey();
  for (const size of [200, 1024]) {
    const plain = new Uint8Array(size).fill(0x5a);
    const cipher = enc.encrypt(key, 2, plain);
    bench(`${enc.name} encrypt ${size} B`, () => enc.encrypt(key, 2, plain));
    bench(`${enc.name} decrypt ${size} B`, () => enc.decrypt(key, 2, cipher));
  }
  const data = new Uint8Array(200).fill(1);
  const mac = enc.checksum(key, 6, data);
  bench(`${enc.name} checksum 200 B`, () => enc.checksum(key, 6, data));
  bench(`${enc.name} verifyChecksum 200 B`, () => enc.verifyChecksum(key, 6, data, mac));
}

// A fresh key each time: the cost of a first message under a new session key (derivation included).
const enc18 = getEnctype(18);
const fresh = Array.from({ length: 8192 }, () => enc18.randomKey());
let i = 0;
bench('aes256-cts-hmac-sha1-96 encrypt 200 B, new key', () => enc18.encrypt(fresh[i++ % fresh.length]!, 3, new Uint8Array(200)), 300, 500);

bench('string-to-key aes256-cts-hmac-sha1-96 (4096 it.)', () => stringToKey(18, 'alice-pw-1', 'LAB.TESTalice'), 500, 20);
bench('string-to-key aes256-cts-hmac-sha384-192 (32768 it.)', () => stringToKey(20, 'alice-pw-1', 'LAB.TESTalice'), 1500, 5);
