import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryCopyWriter, isoMicros, uuidBytes } from '../../src/db/binary-copy.js';

describe('binary COPY rows', () => {
  it('read a time to the microsecond it names, whatever its offset and precision', () => {
    expect(isoMicros('2026-01-01T12:00:00Z')).toBe(Date.UTC(2026, 0, 1, 12) * 1000);
    expect(isoMicros('2026-01-01T12:00:00.123Z')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123) * 1000);
    expect(isoMicros('2026-01-01T12:00:00.123456Z')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123) * 1000 + 456);
    expect(isoMicros('2026-01-01T12:00:00.1234567Z')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123) * 1000 + 457);
    expect(isoMicros('2026-01-01T14:00:00.5+02:00')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 500) * 1000);
    expect(isoMicros('1969-12-31T23:59:59.999500Z')).toBe(-500);
    expect(isoMicros('2026-01-01T14:00:00+02')).toBe(Date.UTC(2026, 0, 1, 12) * 1000);
    expect(isoMicros('2026-01-01T10:30:00-0130')).toBe(Date.UTC(2026, 0, 1, 12) * 1000);
    // PostgreSQL rounds the fraction half to even (rint): these are what it stores.
    expect(isoMicros('2026-01-01T00:00:00.0000005Z')).toBe(Date.UTC(2026, 0, 1) * 1000);
    expect(isoMicros('2026-01-01T00:00:00.0000015Z')).toBe(Date.UTC(2026, 0, 1) * 1000 + 2);
    expect(isoMicros('2026-01-01T00:00:00.1234565Z')).toBe(Date.UTC(2026, 0, 1) * 1000 + 123_456);
    expect(isoMicros('9999-12-31T23:59:59.999999Z')).toBe(BigInt(Date.UTC(9999, 11, 31, 23, 59, 59)) * 1000n + 999_999n);
    fc.assert(fc.property(fc.date({ min: new Date('1970-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }), (d) => BigInt(isoMicros(d.toISOString())) === BigInt(d.getTime()) * 1000n));
  });

  it('read the form every event carries exactly as any other form of the same time', () => {
    // toISOString's form has a quick reading of its own; the same time with an offset is read the general way.
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }), (d) => {
        const iso = d.toISOString();
        return BigInt(isoMicros(iso)) === BigInt(isoMicros(iso.replace('Z', '+00:00')));
      }),
    );
    expect(isoMicros('2024-02-29T23:59:59.999Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999) * 1000);
    expect(isoMicros('0999-01-01T00:00:00.000Z')).toBe(isoMicros('0999-01-01T00:00:00.000+00:00'));
    for (const time of ['2026-02-29T00:00:00.000Z', '2100-02-29T00:00:00.000Z', '2026-04-31T00:00:00.000Z', '2026-01-01T12:60:00.000Z', '2026-01-01T12:00:60.000Z', '2026-13-01T00:00:00.000Z', '2026-01-01T12:00:00.0a0Z']) {
      expect(() => isoMicros(time), time).toThrow(RangeError);
    }
  });

  it('refuses what would store a wrong value rather than write it', () => {
    const writer = () => new BinaryCopyWriter().row(1);
    for (const time of ['yesterday', '2026-01-01', '2026-01-01T12:00:00', '2026-02-30T12:00:00Z', '2026-01-01T24:00:00Z']) {
      expect(() => isoMicros(time), time).toThrow(RangeError);
    }
    expect(() => writer().timestamptzMicros(Number.NaN)).toThrow(RangeError);
    expect(() => writer().int8(2 ** 53)).toThrow(RangeError);
    expect(() => writer().int8(1.5)).toThrow(RangeError);
    expect(() => writer().int4(2 ** 31)).toThrow(RangeError);
    expect(() => writer().uuid('00000000-0000-4000-8000-00000000000g')).toThrow(RangeError);
    for (const id of ['0000000000004000800000000000000', '{00000000-0000-4000-8000-000000000000', '00000000--0000-4000-8000-000000000000', '00000000-0000-4000-8000-00000000000-', '000-00000-0000-4000-8000-000000000000']) {
      expect(() => writer().uuid(id), id).toThrow(RangeError);
    }
  });

  it('takes a uuid in every form PostgreSQL does', () => {
    const bytes = (id: string) => Buffer.from(uuidBytes(id)).toString('hex');
    const canonical = 'a0eebc999c0b4ef8bb6d6bb9bd380a11';
    for (const id of ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11', '{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}']) {
      expect(bytes(id), id).toBe(canonical);
    }
  });

  it('grows past its first buffer without losing what it holds', () => {
    const writer = new BinaryCopyWriter(8);
    for (let i = 0; i < 100; i++) writer.row(1).text('x'.repeat(i));
    const payload = writer.finish();
    expect(payload.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(payload.length).toBe(19 + 100 * 6 + (99 * 100) / 2 + 2);
    expect(payload.readInt16BE(payload.length - 2)).toBe(-1);
  });
});
