import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryCopyWriter, isoMicros } from '../../src/db/binary-copy.js';

describe('binary COPY rows', () => {
  it('read a time to the microsecond it names, whatever its offset and precision', () => {
    expect(isoMicros('2026-01-01T12:00:00Z')).toBe(Date.UTC(2026, 0, 1, 12) * 1000);
    expect(isoMicros('2026-01-01T12:00:00.123Z')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123) * 1000);
    expect(isoMicros('2026-01-01T12:00:00.123456Z')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123) * 1000 + 456);
    expect(isoMicros('2026-01-01T12:00:00.1234567Z')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123) * 1000 + 457);
    expect(isoMicros('2026-01-01T14:00:00.5+02:00')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 500) * 1000);
    expect(isoMicros('1969-12-31T23:59:59.999500Z')).toBe(-500);
    fc.assert(fc.property(fc.date({ min: new Date('1970-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }), (d) => isoMicros(d.toISOString()) === d.getTime() * 1000));
  });

  it('refuses what would store a wrong value rather than write it', () => {
    const writer = () => new BinaryCopyWriter().row(1);
    expect(() => isoMicros('yesterday')).toThrow(RangeError);
    expect(() => writer().int8(2 ** 53)).toThrow(RangeError);
    expect(() => writer().int8(1.5)).toThrow(RangeError);
    expect(() => writer().int4(2 ** 31)).toThrow(RangeError);
    expect(() => writer().uuid('00000000-0000-4000-8000-00000000000g')).toThrow(RangeError);
    expect(() => writer().uuid('00000000000040008000000000000000')).toThrow(RangeError);
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
