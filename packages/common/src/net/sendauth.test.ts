import { describe, expect, it } from 'vitest';
import { FramingError } from './framing.js';
import { encodeSendauthPreamble, parseVersionString, SendauthServerReader, sendauthAccepted, versionString } from './sendauth.js';

describe('krb5 sendauth framing (protocols.md §2.3)', () => {
  it('encodes the 36-byte preamble fetchmail sent', () => {
    const wire = Buffer.from(encodeSendauthPreamble()).toString('hex');
    expect(wire).toBe('00000013' + Buffer.from('KRB5_SENDAUTH_V1.0\0').toString('hex') + '00000009' + Buffer.from('KPOPV1.0\0').toString('hex'));
    expect(wire.length / 2).toBe(36);
    expect([...sendauthAccepted()]).toEqual([0, 0, 0, 0]);
  });
  it('reads versions, AP-REQ and hands back the POP3 bytes after it, however the stream is split', () => {
    const apReq = Buffer.concat([Buffer.from([0x6e, 0x82, 0x02, 0x3d]), Buffer.alloc(573, 0xab)]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(apReq.length);
    const after = Buffer.from('USER alice\r\n');
    const wire = Buffer.concat([encodeSendauthPreamble(), len, apReq, after]);
    for (const cut of [1, 3, 4, 22, 23, 36, 39, 40, 41, 600, wire.length - 12, wire.length - 1]) {
      const r = new SendauthServerReader();
      const a = r.push(wire.subarray(0, cut));
      const b = r.push(wire.subarray(cut));
      const frames = [...a.frames, ...b.frames];
      expect(frames.map((f) => f.length)).toEqual([19, 9, 577]);
      expect(parseVersionString(frames[0]!)).toBe('KRB5_SENDAUTH_V1.0');
      expect(parseVersionString(frames[1]!)).toBe('KPOPV1.0');
      expect(Buffer.from(frames[2]!).equals(apReq)).toBe(true);
      const rest = b.rest ?? a.rest!;
      expect(Buffer.from(rest).toString()).toBe(cut > wire.length - 12 ? after.subarray(cut - (wire.length - 12)).toString() : 'USER alice\r\n');
    }
  });
  it('refuses Kerberos 4 ("AUTHV0.1") and oversized frames before buffering them', () => {
    expect(() => new SendauthServerReader().push(Buffer.from('AUTHV0.1KPOPV0.1'))).toThrow(FramingError);
    expect(() => new SendauthServerReader().push(Buffer.from([0, 2, 0, 0]))).toThrow(FramingError);
  });
  it('version strings must be NUL-terminated printable text', () => {
    expect(parseVersionString(versionString('justjunk'))).toBe('justjunk');
    expect(parseVersionString(Buffer.from('KPOPV1.0'))).toBeUndefined();
    expect(parseVersionString(Buffer.from('KP\x01\0'))).toBeUndefined();
  });
});
