import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TESSERA_NAMESPACE, uuidV5 } from '../../src/domain/ids.js';

/** RFC 4122 version 5, written out plainly, to hold the fast one to. */
function reference(name: string, namespace: string): string {
  const digest = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('name-based ids', () => {
  it('match RFC 4122 version 5 for any name and namespace, long and non-ASCII names included', () => {
    const namespaces = [TESSERA_NAMESPACE, '6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'A3C5E0F2-54B1-4D0C-9F3E-7C1B2D8E6A40'];
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), fc.constantFrom(...namespaces), (name, namespace) => {
        expect(uuidV5(name, namespace)).toBe(reference(name, namespace));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(RangeError);
  });
});
