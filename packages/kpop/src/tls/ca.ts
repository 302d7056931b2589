/**
 * A local certificate authority for STLS and POP3S (RFC 5280 profile, built
 * with pkijs): `kpop ca init` makes an ECDSA P-256 CA; `kpop cert issue`
 * signs a server certificate whose subjectAltName lists every host name
 * (dNSName) and IP address (iPAddress), since clients match the name they
 * connected to against the SAN, not the CN (RFC 6125 §6.4.4).
 */
import { webcrypto, randomBytes, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const subtle = webcrypto.subtle;
// pkijs is typed against the DOM's WebCrypto; Node's is the same API.
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as never, subtle: subtle as never });
const ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function unpem(label: string, text: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(text);
  if (!m) throw new Error(`no ${label} block in PEM input`);
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

function name(cn: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: cn }) })],
  });
}

function ipBytes(ip: string): ArrayBuffer {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number)).buffer;
  // IPv6: expand "::" and write 8 groups of 16 bits.
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out.buffer;
}

async function keyId(spki: pkijs.PublicKeyInfo): Promise<ArrayBuffer> {
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING.
  const h = createHash('sha1').update(new Uint8Array(spki.subjectPublicKey.valueBlock.valueHexView)).digest();
  return h.buffer.slice(h.byteOffset, h.byteOffset + h.length);
}

/**
 * RFC 5280 §4.1.2.5: validity dates through 2049 are UTCTime, dates in 2050
 * or later GeneralizedTime; both in whole seconds (GeneralizedTime with no
 * fraction, §4.1.2.5.2). A 10-year CA made from 2040 on ends after 2049.
 */
export function validityTime(d: Date): pkijs.Time {
  const whole = new Date(Math.floor(d.getTime() / 1000) * 1000);
  const year = whole.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new Error(`a certificate date must be from 1950 to 9999, got ${whole.toISOString()}`);
  return new pkijs.Time({ type: year >= 2050 ? pkijs.TimeType.GeneralizedTime : pkijs.TimeType.UTCTime, value: whole });
}

export interface CertOptions {
  /** Validity in days from now. */
  days?: number;
  /** The clock (tests pin it); default the real one. */
  now?: () => Date;
}

/**
 * A 16-byte random serial (RFC 5280 §4.1.2.2: positive, at most 20 octets)
 * that is also minimal DER. asn1js writes valueHex as given, so a first byte
 * 0x00 followed by one below 0x80 (1 serial in 256 with `&= 0x7f` alone) made
 * a non-minimal INTEGER that OpenSSL refuses to load ("Could not read
 * certificate"; curl exit 77, "error setting certificate file"). The first
 * byte is kept in 0x40..0x7f: positive, never padding. 126 random bits.
 */
export function certificateSerial(random: Uint8Array = randomBytes(16)): asn1js.Integer {
  const serial = Uint8Array.from(random);
  serial[0] = 0x40 | (serial[0]! & 0x3f);
  return new asn1js.Integer({ valueHex: serial.buffer });
}

async function baseCertificate(subject: string, issuer: string, publicKey: CryptoKey, days: number, clock: () => Date = () => new Date()): Promise<pkijs.Certificate> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = certificateSerial();
  cert.issuer = name(issuer);
  cert.subject = name(subject);
  const now = clock().getTime();
  cert.notBefore = validityTime(new Date(now - 60 * 60 * 1000));
  cert.notAfter = validityTime(new Date(now + days * 86400 * 1000));
  await cert.subjectPublicKeyInfo.importKey(publicKey as never, engine);
  cert.extensions = [];
  return cert;
}

function ext(extnID: string, critical: boolean, value: { toSchema(): asn1js.AsnType }): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toSchema().toBER(false), parsedValue: value });
}

export async function createCa(opts: CertOptions & { commonName?: string } = {}): Promise<PemPair> {
  const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cn = opts.commonName ?? 'kpop local CA';
  const cert = await baseCertificate(cn, cn, keys.publicKey, opts.days ?? 3650, opts.now);
  const ski = await keyId(cert.subjectPublicKeyInfo);
  cert.extensions!.push(
    ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 })),
    // keyCertSign (5) and cRLSign (6): BIT STRING 0x06 with 1 unused bit.
    new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: new asn1js.BitString({ valueHex: Uint8Array.of(0x06).buffer, unusedBits: 1 }).toBER(false) }),
    new pkijs.Extension({ extnID: '2.5.29.14', critical: false, extnValue: new asn1js.OctetString({ valueHex: ski }).toBER(false) }),
  );
  await cert.sign(keys.privateKey as never, 'SHA-256', engine);
  const pkcs8 = await subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: pem('CERTIFICATE', cert.toSchema(true).toBER(false)), keyPem: pem('PRIVATE KEY', pkcs8) };
}

export async function issueServerCert(ca: PemPair, hosts: string[], opts: CertOptions = {}): Promise<PemPair> {
  if (hosts.length === 0) throw new Error('at least one --host is needed');
  const caCert = pkijs.Certificate.fromBER(unpem('CERTIFICATE', ca.certPem));
  const caKey = await subtle.importKey('pkcs8', unpem('PRIVATE KEY', ca.keyPem), ALG, false, ['sign']);
  const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caCn = caCert.subject.typesAndValues.find((t) => t.type === '2.5.4.3')?.value.valueBlock.value ?? 'kpop local CA';
  // RFC 5280 §4.1.2.4: the issuer must equal the CA's subject, byte for byte.
  const cert = await baseCertificate(hosts[0]!, String(caCn), keys.publicKey, opts.days ?? 825, opts.now);
  cert.issuer = caCert.subject;
  const altNames = new pkijs.GeneralNames({
    names: hosts.map((h) => (isIP(h) ? new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(h) }) }) : new pkijs.GeneralName({ type: 2, value: h }))),
  });
  const caSki = await keyId(caCert.subjectPublicKeyInfo);
  cert.extensions!.push(
    ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: false })),
    // digitalSignature (0): ECDSA key agreement in TLS 1.2/1.3 signs.
    new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: new asn1js.BitString({ valueHex: Uint8Array.of(0x80).buffer, unusedBits: 7 }).toBER(false) }),
    ext('2.5.29.37', false, new pkijs.ExtKeyUsage({ keyPurposes: ['1.3.6.1.5.5.7.3.1'] })),
    ext('2.5.29.17', false, altNames),
    ext('2.5.29.35', false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: caSki }) })),
  );
  await cert.sign(caKey as never, 'SHA-256', engine);
  const pkcs8 = await subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: pem('CERTIFICATE', cert.toSchema(true).toBER(false)), keyPem: pem('PRIVATE KEY', pkcs8) };
}
