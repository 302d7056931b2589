/**
 * Our own POP3 client for the comparison, used where no real client is
 * installed (or with --clients ours): USER/PASS, AUTH LOGIN, APOP,
 * CRAM-MD5, SCRAM-SHA-256 (RFC 5802 client side, checking the server's
 * signature) and NTLM (NTLMv2, or NTLMv1 as fetchmail sends it), optionally
 * after STLS with the lab CA; then RETR 1 and QUIT, as the real clients do.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { lmv2Response, ntlmv1Response, ntlmv2Proof, ntowfv1, ntowfv2 } from '../mechs/ntlm/responses.js';

export type OwnMech = 'USER' | 'LOGIN' | 'APOP' | 'CRAM-MD5' | 'SCRAM-SHA-256' | 'NTLMv2' | 'NTLMv1';

class Lines {
  private buf = Buffer.alloc(0);
  private wake?: () => void;
  private closed = false;
  constructor(public sock: Socket) {
    this.attach(sock);
  }
  attach(s: Socket): void {
    this.sock = s;
    s.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.wake?.(); });
    s.on('close', () => { this.closed = true; this.wake?.(); });
    s.on('error', () => {});
  }
  async line(): Promise<string> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i !== -1) {
        const l = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      if (this.closed || Date.now() > deadline) throw new Error('connection closed or timed out');
      await new Promise<void>((r) => { this.wake = r; setTimeout(r, 200); });
    }
  }
  async cmd(text: string): Promise<string> {
    this.sock.write(text + '\r\n');
    return this.line();
  }
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const unb64 = (l: string) => Buffer.from(l.slice(2), 'base64');
const ok = (l: string, what: string) => {
  if (!l.startsWith('+')) throw new Error(`${what}: ${l.slice(0, 120)}`);
  return l;
};

function ntlmNegotiate(v1: boolean): Buffer {
  const b = Buffer.alloc(32);
  b.write('NTLMSSP\0', 'latin1');
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(0x00000207 | (v1 ? 0 : 0x00800000), 12); // UNICODE | OEM | REQUEST_TARGET | NTLM (| TARGET_INFO)
  return b;
}

function ntlmAuthenticate(type2: Buffer, user: string, password: string, v1: boolean): Buffer {
  const challenge = type2.subarray(24, 32);
  const nt = ntowfv1(password);
  let lm: Buffer;
  let ntResp: Buffer;
  const domain = '';
  if (v1) {
    ntResp = Buffer.from(ntlmv1Response(nt, challenge));
    lm = Buffer.from(ntResp);
  } else {
    const tiLen = type2.readUInt16LE(40);
    const tiOff = type2.readUInt32LE(44);
    const targetInfo = type2.subarray(tiOff, tiOff + tiLen);
    const clientChallenge = randomBytes(8);
    const time = Buffer.alloc(8);
    time.writeBigUInt64LE((BigInt(Date.now()) + 11644473600000n) * 10000n);
    const temp = Buffer.concat([Buffer.from('0101000000000000', 'hex'), time, clientChallenge, Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
    const key = ntowfv2(nt, user, domain);
    ntResp = Buffer.concat([ntlmv2Proof(key, challenge, temp), temp]);
    lm = Buffer.from(lmv2Response(key, challenge, clientChallenge));
  }
  const fields = [lm, ntResp, Buffer.from(domain, 'utf16le'), Buffer.from(user, 'utf16le'), Buffer.from('KPOPLAB', 'utf16le'), Buffer.alloc(0)];
  const head = Buffer.alloc(64);
  head.write('NTLMSSP\0', 'latin1');
  head.writeUInt32LE(3, 8);
  let off = 64;
  fields.forEach((f, i) => { head.writeUInt16LE(f.length, 12 + 8 * i); head.writeUInt16LE(f.length, 14 + 8 * i); head.writeUInt32LE(off, 16 + 8 * i); off += f.length; });
  head.writeUInt32LE(0x00000205, 60);
  return Buffer.concat([head, ...fields]);
}

/** Logs in, fetches message 1, quits; resolves to a transcript-free result like a child process's. */
export async function ownPop3(o: { host: string; port: number; mech: OwnMech; user: string; password: string; tls?: { ca: Buffer } }): Promise<{ code: number; stdout: string; stderr: string }> {
  const sock = connect(o.port, o.host);
  await new Promise<void>((resolve, reject) => { sock.once('connect', () => resolve()); sock.once('error', reject); });
  const c = new Lines(sock);
  try {
    const greeting = ok(await c.line(), 'greeting');
    if (o.tls) {
      ok(await c.cmd('STLS'), 'STLS');
      sock.removeAllListeners('data');
      const secure = tlsConnect({ socket: sock, ca: o.tls.ca, servername: 'localhost' });
      await new Promise<void>((resolve, reject) => { secure.once('secureConnect', () => resolve()); secure.once('error', reject); });
      c.attach(secure);
    }
    const { user, password } = o;
    switch (o.mech) {
      case 'USER':
        ok(await c.cmd(`USER ${user}`), 'USER');
        ok(await c.cmd(`PASS ${password}`), 'PASS');
        break;
      case 'LOGIN':
        ok(await c.cmd('AUTH LOGIN'), 'AUTH LOGIN');
        ok(await c.cmd(b64(user)), 'LOGIN user');
        ok(await c.cmd(b64(password)), 'LOGIN password');
        break;
      case 'APOP': {
        const ts = /<[^>]*>/.exec(greeting)?.[0];
        if (!ts) throw new Error('no APOP timestamp in the greeting');
        ok(await c.cmd(`APOP ${user} ${createHash('md5').update(ts + password).digest('hex')}`), 'APOP');
        break;
      }
      case 'CRAM-MD5': {
        const ch = unb64(ok(await c.cmd('AUTH CRAM-MD5'), 'AUTH CRAM-MD5')).toString('latin1');
        ok(await c.cmd(b64(`${user} ${createHmac('md5', password).update(ch).digest('hex')}`)), 'CRAM-MD5');
        break;
      }
      case 'SCRAM-SHA-256': {
        const nonce = randomBytes(18).toString('base64');
        const bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
        const sfirst = unb64(ok(await c.cmd(`AUTH SCRAM-SHA-256 ${b64('n,,' + bare)}`), 'SCRAM first')).toString();
        const r = /(?:^|,)r=([^,]*)/.exec(sfirst)?.[1] ?? '';
        if (!r.startsWith(nonce)) throw new Error('SCRAM: the server changed our nonce');
        const salt = Buffer.from(/(?:^|,)s=([^,]*)/.exec(sfirst)?.[1] ?? '', 'base64');
        const iter = Number(/(?:^|,)i=(\d+)/.exec(sfirst)?.[1]);
        const salted = pbkdf2Sync(password, salt, iter, 32, 'sha256');
        const clientKey = createHmac('sha256', salted).update('Client Key').digest();
        const withoutProof = `c=biws,r=${r}`;
        const auth = `${bare},${sfirst},${withoutProof}`;
        const sig = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(auth).digest();
        const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
        const sfinal = unb64(ok(await c.cmd(b64(`${withoutProof},p=${proof.toString('base64')}`)), 'SCRAM final')).toString();
        const expected = 'v=' + createHmac('sha256', createHmac('sha256', salted).update('Server Key').digest()).update(auth).digest('base64');
        if (sfinal !== expected) throw new Error('SCRAM: the server\'s signature is wrong: not the real server');
        ok(await c.cmd(''), 'SCRAM');
        break;
      }
      case 'NTLMv2':
      case 'NTLMv1': {
        const v1 = o.mech === 'NTLMv1';
        ok(await c.cmd('AUTH NTLM'), 'AUTH NTLM');
        const type2 = unb64(ok(await c.cmd(b64(ntlmNegotiate(v1))), 'NTLM negotiate'));
        ok(await c.cmd(b64(ntlmAuthenticate(type2, user, password, v1))), 'NTLM authenticate');
        break;
      }
    }
    ok(await c.cmd('RETR 1'), 'RETR');
    while ((await c.line()) !== '.');
    await c.cmd('QUIT');
    return { code: 0, stdout: '', stderr: '' };
  } catch (e) {
    return { code: 1, stdout: '', stderr: (e as Error).message };
  } finally {
    c.sock.destroy();
  }
}
