import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/event-store.js';
import { createUpcast } from '../../src/eventstore/upcasting.js';
import { metadata } from '../support/events.js';

const recorded = (type: string, data: unknown, schemaVersion: number): RecordedEvent => ({
  id: '00000000-0000-4000-8000-000000000001',
  type,
  data,
  metadata: metadata({ schemaVersion }),
  streamId: 'payment-1',
  revision: 0,
  position: { commit: 1n, prepare: 1n },
  recordedAt: new Date(0),
});

describe('upcasting', () => {
  const upcast = createUpcast([
    { eventType: 'FeeCharged', fromVersion: 1, upcast: ({ data }) => ({ data: { ...(data as object), currency: 'USD' } }) },
    { eventType: 'FeeCharged', fromVersion: 2, upcast: ({ data }) => ({ type: 'PlatformFeeCharged', data }) },
  ]);

  it('raises an old event through every step to the current shape and version', () => {
    expect(upcast(recorded('FeeCharged', { cents: 790 }, 1))).toMatchObject({
      type: 'PlatformFeeCharged',
      data: { cents: 790, currency: 'USD' },
      metadata: { schemaVersion: 3 },
    });
  });

  it('starts from the version the event was written with', () => {
    expect(upcast(recorded('FeeCharged', { cents: 790, currency: 'EUR' }, 2))).toMatchObject({
      type: 'PlatformFeeCharged',
      data: { currency: 'EUR' },
    });
  });

  it('leaves current and unknown events untouched', () => {
    const current = recorded('PaymentCaptured', { amount: 100 }, 1);
    expect(upcast(current)).toBe(current);
  });

  it('refuses two upcasters for the same step', () => {
    const step = { eventType: 'A', fromVersion: 1, upcast: ({ data }: { data: unknown }) => ({ data }) };
    expect(() => createUpcast([step, step])).toThrow(/two upcasters for A@1/);
  });
});
