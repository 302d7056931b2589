/** Property: whatever we can represent, we write and read back unchanged, in every file version. */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Principal } from '../krb5/types.js';
import { parseCcache, serializeCcache, type Ccache, type Credential } from './index.js';
import { parseKeytab, serializeKeytab, type Keytab } from '../keytab/index.js';

const str = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const principal = (withType: boolean): fc.Arbitrary<Principal> =>
  fc.record({
    realm: str,
    name: fc.record({ nameType: withType ? fc.integer({ min: 0, max: 0xffffffff }) : fc.constant(0), nameString: fc.array(str, { minLength: 1, maxLength: 4 }) }),
  });
const time = fc.integer({ min: 0, max: 0xffffffff }).map((s) => new Date(s * 1000));
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const credential = (withType: boolean): fc.Arbitrary<Credential> =>
  fc.record({
    client: principal(withType),
    server: principal(withType),
    key: fc.record({ keytype: fc.integer({ min: 0, max: 0xffff }), keyvalue: bytes(40) }),
    authtime: time,
    starttime: time,
    endtime: time,
    renewTill: time,
    isSkey: fc.boolean(),
    ticketFlags: fc.integer({ min: 0, max: 0xffffffff }),
    addresses: fc.array(fc.record({ addrType: fc.integer({ min: 0, max: 0xffff }), address: bytes(16) }), { maxLength: 3 }),
    authdata: fc.array(fc.record({ adType: fc.integer({ min: 0, max: 0xffff }), adData: bytes(20) }), { maxLength: 3 }),
    ticket: bytes(200),
    secondTicket: bytes(30),
  });

describe('round trips', () => {
  it('ccache v1–v4', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: -0x80000000, max: 0x7fffffff }), (version, withOffset, seconds) =>
        fc.assert(
          fc.property(principal(version !== 1), fc.array(credential(version !== 1), { maxLength: 4 }), (defaultPrincipal, credentials) => {
            const c: Ccache = { version, defaultPrincipal, credentials };
            if (version === 4 && withOffset) c.kdcOffset = { seconds, microseconds: 999999 };
            expect(parseCcache(serializeCcache(c))).toEqual(c);
          }),
          { numRuns: 20 },
        ),
      ),
      { numRuns: 10 },
    );
  });

  it('keytab 0x0501 and 0x0502', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x501, 0x502), (version) =>
        fc.assert(
          fc.property(
            fc.array(
              fc.record({ principal: principal(version === 0x502), timestamp: time, kvno: fc.integer({ min: 1, max: 0xffffffff }), key: fc.record({ keytype: fc.integer({ min: 0, max: 0xffff }), keyvalue: bytes(64) }) }),
              { maxLength: 6 },
            ),
            (entries) => {
              const kt: Keytab = { version, entries };
              expect(parseKeytab(serializeKeytab(kt))).toEqual(kt);
            },
          ),
          { numRuns: 50 },
        ),
      ),
      { numRuns: 4 },
    );
  });
});
