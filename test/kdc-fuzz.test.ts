/**
 * Hostile input: mutated MIT captures (bit flips, truncations, splices,
 * length lies, insertions) through the request handler the sockets call,
 * then a few thousand over real UDP and TCP sockets. Every one must get a
 * KRB-ERROR, a well-formed reply, or silence; nothing may crash or hang, and
 * a valid request is served afterwards. Seeded, so a failure reproduces.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsRep, decodeKrbErrorMessage, decodeTgsRep, frameMessage } from '@kpop/common';
import { Lookaside, buildAsReq, derMutator, openAsRep, processRequest, rng, startKdcServer } from '@kpop/kdc';
import type { HandlerContext, KdcServer } from '@kpop/kdc';
import { CAPTURE_TIME, MIT_KEYS, fixture, mitFixtureRealm } from './kdc-helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1234);
const CAPTURES = ['01-alice-AS-REQ.hex', '03-alice-AS-REQ.hex', '05-alice-TGS-REQ.hex', '07-bench-AS-REQ.hex', '09-bench-AS-REQ.hex', '13-alice-AS-REQ.hex', '15-nosuchuser-AS-REQ.hex'].map(fixture);

const mutate = derMutator(CAPTURES);

/** A reply is acceptable if it is a KRB-ERROR or a reply that decodes (a mutation can stay valid). */
function checkReply(reply: Uint8Array | null): 'error' | 'rep' | 'drop' {
  if (reply === null) return 'drop';
  if (reply[0] === 0x7e) {
    decodeKrbErrorMessage(reply);
    return 'error';
  }
  if (reply[0] === 0x6b) decodeAsRep(reply);
  else if (reply[0] === 0x6d) decodeTgsRep(reply);
  else throw new Error(`unexpected reply tag 0x${reply[0]!.toString(16)}`);
  return 'rep';
}

let realm: ReturnType<typeof mitFixtureRealm>;
beforeAll(() => {
  realm = mitFixtureRealm();
});
afterAll(() => realm.cleanup());

function validAsReq(): Uint8Array {
  return buildAsReq({ realm: 'LAB.TEST', cname: ['alice'], preauthKey: { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 }, now: CAPTURE_TIME });
}

describe(`fuzz (seed ${SEED})`, () => {
  it('100,000 mutated captures through the request handler: KRB-ERROR, valid reply or drop; never a throw', () => {
    const ctx: HandlerContext = { store: realm.db, now: () => CAPTURE_TIME, enctypes: [18, 17, 20, 19], lookaside: new Lookaside({ maxEntries: 2000 }) };
    const r = rng(SEED);
    const counts = { error: 0, rep: 0, drop: 0 };
    // Capturing stack traces for the DerErrors of junk input is most of a
    // junk request's cost; the test checks replies, not stacks, so keep it
    // within a few seconds on a shared machine.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < 100_000; i++) {
        const res = processRequest(mutate(r), ctx, { transport: i % 2 ? 'udp' : 'tcp', address: '127.0.0.1', port: 1 });
        // Every reply's tag is checked; every 16th is decoded in full.
        const kind = i % 16 === 0 ? checkReply(res.reply) : res.reply === null ? 'drop' : res.reply[0] === 0x7e ? 'error' : [0x6b, 0x6d].includes(res.reply[0]!) ? 'rep' : checkReply(res.reply);
        counts[kind]++;
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
    expect(counts.error).toBeGreaterThan(50_000);
    expect(counts.error + counts.rep + counts.drop).toBe(100_000);
    // Still serving: a fresh valid request gets a ticket.
    const ok = processRequest(validAsReq(), ctx, { transport: 'udp' });
    expect(openAsRep(ok.reply!, { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 }).part.srealm).toBe('LAB.TEST');
  }, 120_000);

  describe('over real sockets', () => {
    let server: KdcServer;
    beforeAll(async () => {
      server = await startKdcServer({
        store: realm.db,
        listen: [{ host: '127.0.0.1', port: 0 }],
        log: () => {},
        now: () => CAPTURE_TIME,
        tcp: { frameTimeoutMs: 300, idleTimeoutMs: 1000, maxConnections: 8 },
      });
    });
    afterAll(async () => server?.close());

    function udpExchange(sock: dgram.Socket, port: number, msg: Uint8Array, timeoutMs = 300): Promise<Uint8Array | null> {
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          sock.off('message', on);
          resolve(null);
        }, timeoutMs);
        const on = (m: Buffer): void => {
          clearTimeout(t);
          sock.off('message', on);
          resolve(new Uint8Array(m));
        };
        sock.on('message', on);
        sock.send(msg, port, '127.0.0.1');
      });
    }

    /** Send frames on one TCP connection; collect replies until the server closes or goes quiet. */
    function tcpSession(port: number, data: Uint8Array[], quietMs = 500): Promise<{ replies: Uint8Array[]; closedByServer: boolean }> {
      return new Promise((resolve) => {
        const sock = net.connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        let closedByServer = false;
        let timer = setTimeout(() => finish(), quietMs);
        const finish = (): void => {
          clearTimeout(timer);
          sock.destroy();
          const all = Buffer.concat(chunks);
          const replies: Uint8Array[] = [];
          for (let o = 0; o + 4 <= all.length; ) {
            const len = all.readUInt32BE(o);
            if (o + 4 + len > all.length) break;
            replies.push(new Uint8Array(all.subarray(o + 4, o + 4 + len)));
            o += 4 + len;
          }
          resolve({ replies, closedByServer });
        };
        sock.on('data', (d) => {
          chunks.push(d);
          clearTimeout(timer);
          timer = setTimeout(() => finish(), quietMs);
        });
        sock.on('end', () => {
          closedByServer = true;
          finish();
        });
        sock.on('error', () => finish());
        sock.on('connect', () => {
          for (const d of data) sock.write(d);
        });
      });
    }

    it('3,000 mutated datagrams over UDP, then a valid request is served', async () => {
      const port = server.udp[0]!.port;
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const r = rng(SEED ^ 0xabcdef);
      let answered = 0;
      // Send in bursts without waiting: replies are counted, silence is allowed.
      let received = 0;
      const onMsg = (m: Buffer): void => {
        checkReply(new Uint8Array(m));
        received++;
      };
      sock.on('message', onMsg);
      for (let i = 0; i < 3000; i++) {
        sock.send(mutate(r), port, '127.0.0.1');
        if (i % 100 === 99) await new Promise((res) => setTimeout(res, 5));
      }
      // Until the KDC has answered its whole backlog (its receive queue is deep): a late
      // reply to a mutated datagram must not be taken for the answer to the valid one.
      for (let seen = -1, i = 0; seen !== received && i < 100; i++) {
        seen = received;
        await new Promise((res) => setTimeout(res, 300));
      }
      sock.off('message', onMsg);
      answered = received;
      console.log(`UDP fuzz: ${answered} of 3000 answered`);
      // Undecodable datagrams smaller than the error get silence (no amplification).
      expect(answered).toBeGreaterThan(300);
      const reply = await udpExchange(sock, port, validAsReq(), 2000);
      expect(openAsRep(reply!, { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 }).part.srealm).toBe('LAB.TEST');
      sock.close();
    }, 60_000);

    it('1,000 mutated frames over TCP (pipelined on 50 connections), then a valid request is served', async () => {
      const port = server.tcp[0]!.port;
      const r = rng(SEED ^ 0x123456);
      let errors = 0;
      for (let c = 0; c < 50; c++) {
        const frames = Array.from({ length: 20 }, () => frameMessage(mutate(r)));
        const { replies } = await tcpSession(port, frames, 150);
        for (const rep of replies) if (checkReply(rep) === 'error') errors++;
      }
      expect(errors).toBeGreaterThan(50);
      const { replies } = await tcpSession(port, [frameMessage(validAsReq())]);
      expect(openAsRep(replies[0]!, { keytype: 18, keyvalue: MIT_KEYS.alice.aes256 }).part.srealm).toBe('LAB.TEST');
    }, 60_000);

    it('several valid requests on one TCP connection all get answers', async () => {
      const { replies, closedByServer } = await tcpSession(server.tcp[0]!.port, [frameMessage(validAsReq()), frameMessage(validAsReq()), frameMessage(fixture('01-alice-AS-REQ.hex'))]);
      expect(replies.map((x) => x[0])).toEqual([0x6b, 0x6b, 0x7e]);
      expect(closedByServer).toBe(false);
    });

    it('a frame length over the limit gets KRB_ERR_FIELD_TOOLONG and a close, before any of it is read', async () => {
      const head = new Uint8Array([0x00, 0x10, 0x00, 0x00]); // 1 MiB declared
      const { replies, closedByServer } = await tcpSession(server.tcp[0]!.port, [head]);
      expect(decodeKrbErrorMessage(replies[0]!).errorCode).toBe(61);
      expect(closedByServer).toBe(true);
      const high = await tcpSession(server.tcp[0]!.port, [new Uint8Array([0x80, 0, 0, 10])]);
      expect(high.closedByServer).toBe(true);
    });

    it('junk on UDP smaller than an error reply gets silence (no amplification)', async () => {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      expect(await udpExchange(sock, server.udp[0]!.port, new Uint8Array([0x6a, 0x03, 0x02, 0x01, 0x05]), 500)).toBeNull();
      expect(await udpExchange(sock, server.udp[0]!.port, new Uint8Array([0x30, 0x00]), 500)).toBeNull();
      sock.close();
    });

    it('a garbage TCP frame gets a KRB-ERROR and a close', async () => {
      const { replies, closedByServer } = await tcpSession(server.tcp[0]!.port, [frameMessage(new Uint8Array([1, 2, 3, 4, 5]))]);
      expect(decodeKrbErrorMessage(replies[0]!).errorCode).toBeGreaterThan(0);
      expect(closedByServer).toBe(true);
    });

    it('a slow sender (frame never finished) and an idle connection are timed out', async () => {
      const port = server.tcp[0]!.port;
      const slow = await tcpSession(port, [new Uint8Array([0, 0, 0, 100, 0x6a, 0x81])], 3000);
      expect(slow.replies).toEqual([]);
      const closedAt = Date.now();
      // The server drops it after frameTimeoutMs (300 ms), well before our 3 s patience.
      expect(slow.closedByServer || Date.now() - closedAt < 3000).toBe(true);
      const t0 = Date.now();
      const idle = await new Promise<number>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('close', () => resolve(Date.now() - t0));
        s.on('error', () => {});
        s.resume();
      });
      expect(idle).toBeLessThan(5000);
    }, 20_000);

    it('connections beyond the cap are refused while the KDC keeps serving', async () => {
      const port = server.tcp[0]!.port;
      const held: net.Socket[] = [];
      for (let i = 0; i < 8; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        await new Promise((r) => s.once('connect', r));
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 50));
      const extra = await tcpSession(port, [frameMessage(validAsReq())], 500);
      expect(extra.replies).toEqual([]);
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const after = await tcpSession(port, [frameMessage(validAsReq())]);
      expect(after.replies[0]![0]).toBe(0x6b);
    }, 20_000);
  });
});
