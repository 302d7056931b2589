/**
 * Issue 10, item 4, at CI's count: mutated SASL GSSAPI tokens on POP3 AUTH
 * and IMAP AUTHENTICATE (from genuine tokens on the MIT pop/localhost ticket),
 * mutated ClientHellos and random bytes on POP3S, IMAPS and after
 * STLS/STARTTLS, and mutated LMTP sessions (test/listeners-fuzz.ts; the bench
 * runs 100,000 each with `pnpm bench reliability`). Each: no uncaught error,
 * no hang (every connection ends), a genuine request served afterwards; and no
 * key, password or private key of the run in any log line or spool file.
 */
import { describe, expect, it } from 'vitest';
import { fuzzMailListeners } from './listeners-fuzz.js';

describe('mail listeners under hostile input', () => {
  it('GSSAPI tokens, TLS handshakes and LMTP sessions: still serving afterwards, no secret written', async () => {
    const res = await fuzzMailListeners({ n: Number(process.env.LISTENERS_FUZZ_N ?? 240), seed: 0x5eed1234 });
    for (const r of res.rows) console.log(`${r.input}: ${r.count} → ${r.outcome} | ${r.afterwards}`);
    expect(res.rows.map((r) => r.input)).toHaveLength(7);
    for (const r of res.rows) expect(r, r.input).toMatchObject({ ok: true });
    expect(res.uncaught).toEqual([]);
    expect(res.connectionsLeft).toBe(0);
    expect(res.logLines).toBeGreaterThan(0);
    expect(res.filesSearched).toBeGreaterThan(0);
    expect(res.secretHits).toEqual([]);
  }, 180_000);
});

describe('kill -9 of the POP3 server during QUIT', () => {
  it('loses nothing: every message is still in the Maildir whole or was fetched whole', async () => {
    const { quitCrashTrials } = await import('./quit-crash.js');
    const res = await quitCrashTrials(Number(process.env.QUIT_CRASH_TRIALS ?? 3), 0x5eed1234);
    console.log(res);
    expect(res.fetched).toBeGreaterThan(0);
    expect(res.lost).toBe(0);
    expect(res.partial).toBe(0);
  }, 120_000);
});
