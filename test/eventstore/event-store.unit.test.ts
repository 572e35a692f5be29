import { describe, expect, it } from 'vitest';
import { comparePositions, parsePosition, positionToString } from '../../src/eventstore/event-store.js';

describe('event-store positions', () => {
  it('orders by commit, then prepare', () => {
    expect(comparePositions({ commit: 1n, prepare: 9n }, { commit: 2n, prepare: 1n })).toBe(-1);
    expect(comparePositions({ commit: 2n, prepare: 2n }, { commit: 2n, prepare: 1n })).toBe(1);
    expect(comparePositions({ commit: 2n, prepare: 2n }, { commit: 2n, prepare: 2n })).toBe(0);
  });

  it('round-trips through its text form, beyond the range of a double', () => {
    const position = { commit: 18_446_744_073_709_551_000n, prepare: 42n };
    expect(parsePosition(positionToString(position))).toEqual(position);
  });

  it('refuses text that is not a position', () => {
    expect(() => parsePosition('12')).toThrow(RangeError);
    expect(() => parsePosition('1/-2')).toThrow(RangeError);
  });
});
