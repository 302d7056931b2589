/**
 * SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), server side, without
 * channel binding (no -PLUS variant is offered). The server keeps only the
 * salt, iteration count, StoredKey and ServerKey (§3).
 *
 *   C: gs2-header client-first-message-bare   (n,,n=user,r=cnonce)
 *   S: r=cnonce+snonce,s=salt,i=iterations
 *   C: c=base64(gs2-header),r=nonce,p=proof
 *   S: v=ServerSignature                      (a continuation; the client answers empty)
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { SaslError, type SaslMechanism, type SaslStep } from './sasl-types.js';
import { safeEqual, type MechSecrets, type ScramCredential, type ScramHash } from './secrets.js';

const ALG = { 'SHA-1': { node: 'sha1', len: 20 }, 'SHA-256': { node: 'sha256', len: 32 } } as const;

const hmac = (h: ScramHash, key: Uint8Array, data: string | Uint8Array) => new Uint8Array(createHmac(ALG[h].node, key).update(data).digest());
const hash = (h: ScramHash, data: Uint8Array) => new Uint8Array(createHash(ALG[h].node).update(data).digest());

/** §3: SaltedPassword, ClientKey → StoredKey, ServerKey. `password` must already be SASLprep'd (ASCII passes unchanged). */
export function scramCredential(h: ScramHash, password: string, salt: Uint8Array = randomBytes(16), iterations = 4096): ScramCredential {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, ALG[h].len, ALG[h].node);
  return {
    salt: new Uint8Array(salt),
    iterations,
    storedKey: hash(h, hmac(h, salted, 'Client Key')),
    serverKey: hmac(h, salted, 'Server Key'),
  };
}

/** §5.1: saslname decoding ("=2C" → ",", "=3D" → "="); undefined when a '=' escapes nothing valid. */
export function decodeSaslName(s: string): string | undefined {
  if (/=(?!2C|3D)/.test(s) || s.includes(',')) return undefined;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/; // §7 printable: %x21-2B / %x2D-7E

type State = 'first' | 'final' | 'done' | 'failed';

export class ScramMechanism implements SaslMechanism {
  readonly name: string;
  private state: State = 'first';
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirstMsg = '';
  private nonce = '';
  private user = '';
  private authzid = '';
  private cred?: ScramCredential;
  private known = false;

  /**
   * `fakeKey` makes unknown users look like known ones (a salt derived from
   * the name), so the exchange does not tell who exists (§9).
   */
  constructor(
    private readonly h: ScramHash,
    private readonly secrets: MechSecrets,
    private readonly fakeKey: Uint8Array = randomBytes(32),
    private readonly serverNonce: () => string = () => randomBytes(18).toString('base64'),
  ) {
    this.name = `SCRAM-${h}`;
  }

  async step(response: Uint8Array): Promise<SaslStep> {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(response);
    } catch {
      throw this.fail('SCRAM message is not UTF-8');
    }
    if (this.state === 'first') return this.first(text);
    if (this.state === 'final') return this.final(text);
    throw this.fail('SCRAM exchange already finished');
  }

  private fail(msg: string): SaslError {
    this.state = 'failed';
    return new SaslError(`${this.name}: ${msg}`);
  }

  private async first(msg: string): Promise<SaslStep> {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const m = /^(n|y|p=[A-Za-z0-9.-]+),(a=[^,]*)?,(.*)$/s.exec(msg);
    if (!m) throw this.fail('malformed client-first-message');
    const [, cbind, a, bare] = m as unknown as [string, string, string | undefined, string];
    if (cbind.startsWith('p=')) {
      // §5.1/§7: the client wants channel binding, which we do not offer (no -PLUS).
      this.state = 'failed';
      return { challenge: new TextEncoder().encode('e=channel-binding-not-supported') };
    }
    // 'y': the client supports channel binding but thinks we do not: right, we don't advertise -PLUS.
    const attrs = bare.split(',');
    if (attrs[0]?.startsWith('m=')) throw this.fail('mandatory extension not supported');
    const n = attrs[0]?.startsWith('n=') ? decodeSaslName(attrs[0].slice(2)) : undefined;
    const r = attrs[1]?.startsWith('r=') ? attrs[1].slice(2) : undefined;
    if (!n || n.length > 255 || /[\x00-\x1f\x7f]/.test(n)) throw this.fail('missing or invalid user name');
    if (!r || !PRINTABLE.test(r) || r.length > 512) throw this.fail('missing or invalid client nonce');
    if (a !== undefined) {
      const z = decodeSaslName(a.slice(2));
      // mutt sends a=alice for alice; acting as someone else is not offered.
      if (z === undefined || (z !== '' && z !== n)) throw this.fail('authorization identity differs from the user');
      this.authzid = z;
    }
    this.gs2Header = msg.slice(0, msg.length - bare.length);
    this.clientFirstBare = bare;
    this.user = n;
    this.secrets.checkLocked?.(n);
    const cred = await this.secrets.scram(n, this.h);
    this.known = cred !== undefined;
    this.cred = cred ?? this.fakeCredential(n);
    this.nonce = r + this.serverNonce();
    this.serverFirstMsg = `r=${this.nonce},s=${Buffer.from(this.cred.salt).toString('base64')},i=${this.cred.iterations}`;
    this.state = 'final';
    return { challenge: new TextEncoder().encode(this.serverFirstMsg) };
  }

  private fakeCredential(user: string): ScramCredential {
    const salt = createHmac('sha256', this.fakeKey).update(user).digest().subarray(0, 16);
    const rnd = randomBytes(ALG[this.h].len);
    return { salt, iterations: 4096, storedKey: rnd, serverKey: rnd };
  }

  private async final(msg: string): Promise<SaslStep> {
    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const pIdx = msg.lastIndexOf(',p=');
    if (pIdx === -1) throw this.fail('missing proof');
    const withoutProof = msg.slice(0, pIdx);
    const attrs = withoutProof.split(',');
    const c = attrs[0]?.startsWith('c=') ? attrs[0].slice(2) : undefined;
    const r = attrs[1]?.startsWith('r=') ? attrs[1].slice(2) : undefined;
    if (c === undefined || r === undefined) throw this.fail('malformed client-final-message');
    // §5.1: without channel binding, c= is base64 of the gs2-header exactly.
    if (c !== Buffer.from(this.gs2Header).toString('base64')) throw this.fail('channel binding data does not match');
    if (r !== this.nonce) throw this.fail('nonce mismatch');
    const proofText = msg.slice(pIdx + 3);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(proofText) || proofText.length % 4 !== 0) throw this.fail('malformed proof');
    const proof = Buffer.from(proofText, 'base64');
    const cred = this.cred!;
    const authMessage = `${this.clientFirstBare},${this.serverFirstMsg},${withoutProof}`;
    const clientSignature = hmac(this.h, cred.storedKey, authMessage);
    const clientKey = new Uint8Array(clientSignature.length);
    for (let i = 0; i < clientKey.length; i++) clientKey[i] = (proof[i] ?? 0) ^ clientSignature[i]!;
    const ok = proof.length === clientSignature.length && safeEqual(hash(this.h, clientKey), cred.storedKey) && this.known;
    if (!ok) {
      this.secrets.failed?.(this.user);
      throw this.fail(this.known ? 'wrong proof' : `no SCRAM secret for ${this.user}`);
    }
    this.secrets.succeeded?.(this.user);
    this.state = 'done';
    const serverSignature = hmac(this.h, cred.serverKey, authMessage);
    const final = new TextEncoder().encode('v=' + Buffer.from(serverSignature).toString('base64'));
    return { done: { authcid: this.user, authzid: this.authzid || this.user, final } };
  }
}
