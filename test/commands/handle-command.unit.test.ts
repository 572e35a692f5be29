import { describe, expect, it } from 'vitest';
import { toEventData } from '../../src/commands/handle-command.js';
import type { EventType } from '../../src/events/versions.js';
import { context } from '../support/payments.js';

describe('toEventData', () => {
  it("stamps each appended event with its own type's version", () => {
    const data = toEventData(
      [
        { type: 'PaymentRequested', data: {} },
        { type: 'PaymentSubmitted', data: {} },
      ],
      context(),
    );
    expect(data.map((e) => e.metadata.schemaVersion)).toEqual([2, 1]);
  });

  it('writes nothing for an event whose type the catalogue does not declare', () => {
    const stray = { type: 'TicketPrinted', data: {} } as unknown as { type: EventType; data: unknown };
    expect(() => toEventData([stray], context())).toThrow(/TicketPrinted has no schema version/);
  });
});
