import { describe, expect, it } from 'vitest';
import { runSaslExchange, SaslError, SaslRegistry, type SaslMechanism, type SaslStep, plainFactory, loginFactory } from './index.js';
import type { Principal } from '@kpop/common';

const enc = new TextEncoder();
const b64 = (s: string) => Buffer.from(s).toString('base64');
const alice: Principal = { name: { nameType: 1, nameString: ['alice'] }, realm: 'LAB' } as Principal;

/** A scripted client: answers each challenge with the next line. */
function transport(lines: (string | null)[]) {
  const sent: string[] = [];
  return {
    sent,
    challenge: async (data: Uint8Array) => {
      sent.push(Buffer.from(data).toString());
      return lines.length ? lines.shift()! : null;
    },
  };
}

/** A server-first mechanism with a server-final message, as CRAM-MD5 and SCRAM shape them. */
class ServerFirst implements SaslMechanism {
  readonly name = 'TEST-SF';
  readonly serverFirst = true;
  async start(): Promise<SaslStep> {
    return { challenge: enc.encode('<nonce@host>') };
  }
  async step(r: Uint8Array): Promise<SaslStep> {
    if (Buffer.from(r).toString() !== 'bob proof') throw new SaslError('bad proof');
    return { done: { authcid: 'bob', authzid: '', final: enc.encode('v=ok') } };
  }
}

describe('SASL exchange driver', () => {
  it('server-first: challenge first, user-name identity, server-final sent as a challenge answered empty', async () => {
    const t = transport([b64('bob proof'), '']);
    const r = await runSaslExchange(new ServerFirst(), undefined, t);
    expect(t.sent).toEqual(['<nonce@host>', 'v=ok']);
    expect(r).toEqual({ status: 'ok', outcome: { authcid: 'bob', authzid: '', final: enc.encode('v=ok') } });
  });

  it('server-first refuses an initial response; a non-empty answer to the final message fails', async () => {
    await expect(runSaslExchange(new ServerFirst(), enc.encode('x'), transport([]))).rejects.toThrow(SaslError);
    await expect(runSaslExchange(new ServerFirst(), undefined, transport([b64('bob proof'), b64('x')]))).rejects.toThrow(/server-final/);
  });

  it('client-first with an initial response needs no challenge; "*" aborts; a closed connection is "gone"', async () => {
    const verify = async (u: string, p: string) => {
      if (u !== 'alice' || p !== 'pw') throw new SaslError('bad');
      return alice;
    };
    const t = transport([]);
    const ok = await runSaslExchange(plainFactory(verify).create({ tls: true, service: 'imap', hostname: 'h' }), enc.encode('\0alice\0pw'), t);
    expect(t.sent).toEqual([]);
    expect(ok.status === 'ok' && ok.outcome.principal).toBe(alice);
    const mech = () => plainFactory(verify).create({ tls: true, service: 'imap', hostname: 'h' });
    expect(await runSaslExchange(mech(), undefined, transport(['*']))).toEqual({ status: 'aborted' });
    expect(await runSaslExchange(mech(), undefined, transport([null]))).toEqual({ status: 'gone' });
    await expect(runSaslExchange(mech(), undefined, transport(['not base64!']))).rejects.toThrow(/base64/);
    await expect(runSaslExchange(mech(), enc.encode('\0alice\0wrong'), transport([]))).rejects.toThrow(SaslError);
  });

  it('LOGIN prompts Username: then Password:', async () => {
    const verify = async (u: string, p: string) => (u === 'alice' && p === 'pw' ? alice : Promise.reject(new SaslError('bad')));
    const t = transport([b64('alice'), b64('pw')]);
    const r = await runSaslExchange(loginFactory(verify).create({ tls: true, service: 'imap', hostname: 'h' }), undefined, t);
    expect(t.sent).toEqual(['Username:', 'Password:']);
    expect(r.status).toBe('ok');
  });

  it('registry: per-listener selection, password mechanisms only when allowed', () => {
    const verify = async () => alice;
    const reg = new SaslRegistry([{ name: 'GSSAPI', plaintext: false, create: () => new ServerFirst() }, plainFactory(verify), loginFactory(verify)]);
    expect(reg.offered(false)).toEqual(['GSSAPI']);
    expect(reg.offered(true)).toEqual(['GSSAPI', 'PLAIN', 'LOGIN']);
    expect(reg.get('plain', false)).toBeUndefined();
    expect(reg.get('plain', true)?.name).toBe('PLAIN');
    expect(reg.only(['login', 'GSSAPI']).offered(true)).toEqual(['GSSAPI', 'LOGIN']);
  });
});
