/**
 * Issue 10, build item 3: a KDC under flood keeps serving. From 127.0.0.2 a
 * UDP flood of junk and of valid-looking AS-REQs for unknown principals
 * (every one different: no lookaside help); from 127.0.0.1 MIT kinit, with
 * its normal retries, must get a ticket. Asserted: kinit succeeds; the
 * flood's address was held to its budget (RATE_LIMITED) and its junk
 * dropped before decoding (JUNK); its log lines stay bounded (a capped
 * number of failure lines plus one summary line per status and interval).
 * Printed: the flood rate, kinit's time and the CPU per flood datagram
 * (process.cpuUsage; the KDC runs in this process). bench/limits measures
 * the same with more care. No timed assertion: the machine is shared.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKdc, type TestKdc } from '@kpop/kdc';
import { startFlood } from './helpers/flood.js';
import { run } from './kpop-helpers.js';

const hasKinit = existsSync('/usr/bin/kinit');
const FLOOD_FROM = '127.0.0.2';
let kdc: TestKdc;
const counts = new Map<string, number>();
const fromFlood: Record<string, unknown>[] = [];
const fromKinit: Record<string, unknown>[] = [];

beforeAll(async () => {
  if (!hasKinit) return;
  kdc = await startTestKdc({
    realm: 'FLOOD.TEST',
    principals: { alice: 'alice-pw-1' },
    log: (r) => {
      const from = String(r.from ?? '');
      if (from.startsWith(`${FLOOD_FROM}`)) {
        fromFlood.push(r);
        counts.set(String(r.status), (counts.get(String(r.status)) ?? 0) + 1);
      } else if (from.startsWith('127.0.0.1')) fromKinit.push(r);
    },
  });
});
afterAll(async () => kdc?.stop());

describe.skipIf(!hasKinit)(`a KDC under a UDP flood from one address${hasKinit ? '' : ' (skipped: MIT krb5-user not installed)'}`, () => {
  it('MIT kinit from another address gets its ticket; the flood is rate-limited, junk dropped unparsed, logging bounded', async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const flood = startFlood({ port: kdc.udpPort, realm: 'FLOOD.TEST', from: FLOOD_FROM, rate: 20_000, seconds: 6 });
    await new Promise((r) => setTimeout(r, 1500));
    const env = { ...kdc.env, KRB5CCNAME: `FILE:${join(kdc.dir, 'cc-flood')}` };
    const k0 = performance.now();
    const k = await run('kinit', ['alice@FLOOD.TEST'], { env, input: 'alice-pw-1\n', timeoutMs: 60_000 });
    const kinitMs = Math.round(performance.now() - k0);
    const sent = await flood.done;
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - t0) / 1000;
    expect(k.code, k.stderr).toBe(0);
    expect(fromKinit.some((r) => r.msg === 'AS_REQ' && r.status === 'ISSUE')).toBe(true);

    const gate = kdc.server.gate!;
    const datagrams = sent.junk + sent.asReq;
    const cpuUs = cpu.user + cpu.system;
    console.log(`[flood] ${datagrams} datagrams from ${FLOOD_FROM} in ${sent.seconds.toFixed(1)} s (${Math.round(datagrams / sent.seconds)}/s; ${sent.junk} junk, ${sent.asReq} AS-REQs for unknown principals)`);
    console.log(`[flood] MIT kinit from 127.0.0.1: ticket in ${kinitMs} ms over ${fromKinit.filter((r) => r.msg === 'AS_REQ').map((r) => r.transport).join(', ')}`);
    console.log(`[flood] KDC: ${gate.stats.junk} junk dropped unparsed, ${gate.stats.rateLimited} over the address budget dropped, ${counts.get('C_PRINCIPAL_UNKNOWN') ?? 0} C_PRINCIPAL_UNKNOWN and ${counts.get('GENERIC') ?? 0} GENERIC lines logged; ${gate.stats.logsSuppressed} log lines suppressed`);
    console.log(`[flood] statuses from the flood: ${JSON.stringify(Object.fromEntries(counts))}`);
    console.log(`[flood] test process CPU ${(cpuUs / 1e6).toFixed(2)} s over ${wall.toFixed(1)} s: ${(cpuUs / datagrams).toFixed(1)} µs per flood datagram (KDC, kinit's requests and the test runner together)`);

    expect(gate.stats.junk).toBeGreaterThan(0);
    expect(gate.stats.rateLimited).toBeGreaterThan(0);
    // The address got about its budget: the burst plus the rate over the flood's time.
    const served = fromFlood.filter((r) => r.msg === 'AS_REQ').length + gate.stats.logsSuppressed;
    expect(served).toBeLessThanOrEqual(gate.limits.burstPerAddress + gate.limits.ratePerAddress * Math.ceil(wall + 1));
    // Logging: failure lines capped per interval, and one summary line per status and interval.
    const intervals = Math.ceil((wall * 1000) / gate.limits.logIntervalMs) + 1;
    expect(fromFlood.filter((r) => r.msg === 'AS_REQ').length).toBeLessThanOrEqual(gate.limits.failureLogsPerAddress * intervals);
    for (const status of ['RATE_LIMITED', 'JUNK', 'LOG_SUPPRESSED']) {
      // Per interval: one record, and one count of those not written.
      expect(fromFlood.filter((r) => r.status === status).length, status).toBeLessThanOrEqual(2 * intervals);
    }
  }, 90_000);
});
