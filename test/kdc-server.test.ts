/**
 * The server around the exchanges: several test KDCs side by side, UDP
 * retransmissions answered from the lookaside cache, RESPONSE_TOO_BIG on UDP
 * with the full reply over TCP, the JSON log record, keytabs from the test
 * KDC, and changes made by another handle on the database (the admin CLI)
 * picked up by a running KDC.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, decodeKrbErrorMessage, frameMessage, readKeytab } from '@kpop/common';
import { buildAsReq, openAsRep, openDatabase, startTestKdc } from '@kpop/kdc';
import type { TestKdc } from '@kpop/kdc';

async function udp(port: number, msg: Uint8Array): Promise<Uint8Array> {
  const s = dgram.createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no UDP reply')), 3000);
      s.once('message', (m) => {
        clearTimeout(t);
        resolve(new Uint8Array(m));
      });
      s.send(msg, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

async function tcp(port: number, msg: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(frameMessage(msg)));
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        s.destroy();
        resolve(new Uint8Array(buf.subarray(4, 4 + buf.readUInt32BE(0))));
      }
    });
    s.on('error', reject);
  });
}

function userKey(kdc: TestKdc, user: string) {
  const rec = kdc.db.lookup([user])!;
  const k = rec.keys.find((x) => x.etype === 18 && x.kvno === rec.kvno)!;
  return { keytype: 18, keyvalue: k.key };
}

describe('startTestKdc and the server', () => {
  it('two test KDCs side by side, each serving its own realm on UDP and TCP', async () => {
    const [a, b] = await Promise.all([startTestKdc({ realm: 'A.TEST', principals: { alice: 'pw-a' } }), startTestKdc({ realm: 'B.TEST', principals: { alice: 'pw-b' } })]);
    try {
      expect(a.udpPort).not.toBe(b.udpPort);
      expect(a.udpPort).toBe(a.tcpPort);
      for (const k of [a, b]) {
        const req = buildAsReq({ realm: k.realm, cname: ['alice'], etypes: [18], preauthKey: userKey(k, 'alice') });
        expect(openAsRep(await udp(k.udpPort, req), userKey(k, 'alice')).part.srealm).toBe(k.realm);
        const req2 = buildAsReq({ realm: k.realm, cname: ['alice'], etypes: [18], preauthKey: userKey(k, 'alice') });
        expect(openAsRep(await tcp(k.tcpPort, req2), userKey(k, 'alice')).part.srealm).toBe(k.realm);
      }
      // The other realm's KDC does not know it.
      const wrong = decodeKrbErrorMessage(await udp(b.udpPort, buildAsReq({ realm: 'A.TEST', cname: ['alice'] })));
      expect(wrong.errorCode).toBe(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(existsSync(a.dir)).toBe(false);
  });

  it('a UDP retransmission gets the identical reply; one JSON record per request, no keys in it', async () => {
    const records: Record<string, unknown>[] = [];
    const k = await startTestKdc({ principals: { alice: 'pw' }, log: (r) => records.push(r) });
    try {
      const req = buildAsReq({ realm: k.realm, cname: ['alice'], etypes: [18], preauthKey: userKey(k, 'alice') });
      const first = await udp(k.udpPort, req);
      const again = await udp(k.udpPort, req);
      expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
      expect(records.map((r) => r.status)).toEqual(['ISSUE', 'LOOKASIDE']);
      const r = records[0]!;
      expect(Object.keys(r).sort()).toEqual(['authtime', 'bytes', 'cname', 'code', 'from', 'msg', 'repEtype', 'reqEtypes', 'sesEtype', 'sname', 'status', 'time', 'tktEtype', 'transport', 'us'].sort());
      expect(r).toMatchObject({ msg: 'AS_REQ', cname: `alice@${k.realm}`, sname: `krbtgt/${k.realm}@${k.realm}`, reqEtypes: [18], repEtype: 18, status: 'ISSUE', code: 0, transport: 'udp' });
      expect(String(r.from)).toMatch(/^127\.0\.0\.1:\d+$/);
      const session = openAsRep(first, userKey(k, 'alice')).part.key.keyvalue;
      const text = JSON.stringify(records);
      expect(text).not.toContain(Buffer.from(session).toString('hex'));
      expect(text).not.toContain(Buffer.from(session).toString('base64'));
    } finally {
      await k.stop();
    }
  });

  it('a UDP reply over the cap is KRB_ERR_RESPONSE_TOO_BIG; the same request over TCP gets the reply', async () => {
    const k = await startTestKdc({ principals: { alice: 'pw' }, maxUdpReply: 200, log: () => {} });
    try {
      const req = buildAsReq({ realm: k.realm, cname: ['alice'], etypes: [18], preauthKey: userKey(k, 'alice') });
      const small = decodeKrbErrorMessage(await udp(k.udpPort, req));
      expect(small.errorCode).toBe(ErrorCode.KRB_ERR_RESPONSE_TOO_BIG);
      expect(openAsRep(await tcp(k.tcpPort, req), userKey(k, 'alice')).part.srealm).toBe(k.realm);
    } finally {
      await k.stop();
    }
  });

  it('keytab() writes the current keys; changes from another database handle reach the running KDC', async () => {
    const k = await startTestKdc({ principals: { 'pop/localhost': { randkey: true } }, log: () => {} });
    try {
      const kt = readKeytab(k.keytab(['pop/localhost']));
      expect(kt.entries.map((e) => e.key.keytype).sort()).toEqual([17, 18, 19, 20]);
      expect(kt.entries.every((e) => e.principal.name.nameString.join('/') === 'pop/localhost' && e.kvno === k.db.lookup(['pop', 'localhost'])!.kvno)).toBe(true);
      // The admin CLI is another process with its own handle on the same files.
      const admin = openDatabase(join(k.dir, 'db'));
      admin.addPrincipal('late', { password: 'late-pw' });
      admin.close();
      let reply: Uint8Array | undefined;
      for (let i = 0; i < 40; i++) {
        reply = await udp(k.udpPort, buildAsReq({ realm: k.realm, cname: ['late'], etypes: [18] }));
        if (decodeKrbErrorMessage(reply).errorCode !== ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(decodeKrbErrorMessage(reply!).errorCode).toBe(ErrorCode.KDC_ERR_PREAUTH_REQUIRED);
    } finally {
      await k.stop();
    }
  });
});
