import { expect } from 'vitest';
import { fold, type Decider, type DomainEvent } from '../../src/aggregates/decider.js';
import { TesseraError, type ErrorCode } from '../../src/errors.js';

/**
 * The one way a decider is tested, after Emmett's DeciderSpecification: given the events of a
 * stream, when a command, then the events it decides, or nothing, or its refusal.
 *
 *   const spec = DeciderSpecification.for(paymentDecider);
 *   spec.given([requested]).when(submit).then([submitted]);                // exactly these events (toEqual)
 *   spec.given(paid).when(open).thenMatches([{ type: 'DisputeOpened' }]);  // these, in part (toMatchObject)
 *   spec.given(paid).when(capture).thenNothing();                          // no events
 *   spec.given([]).when(cancel).thenRefused('PAYMENT_NOT_FOUND');          // a TesseraError with that code
 *   spec.given(paid).state();                                              // the state the events fold to
 *
 * `then` and `thenMatches` answer the events decided, so a test can build on them;
 * `decided()` answers them without asserting, for a test that looks at only part of the decision;
 * `after(...commands)` builds a history: the given events and what each command decides in turn.
 *
 * As in Emmett, `when(...)` answers an object with a `then` function: never `await` it or return
 * it from a test (it would be taken for a promise); call one of its assertions.
 */

/** A partial value for toMatchObject: every field optional, all the way down. */
export type DeepPartial<T> = T extends readonly (infer Item)[]
  ? readonly DeepPartial<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]?: DeepPartial<T[Key]> }
    : T;

/** What a refusal must also match, beyond its code (toMatchObject on the TesseraError). */
export interface RefusalMatch {
  readonly status?: number;
  readonly message?: string;
  readonly details?: DeepPartial<TesseraError['details']>;
}

// Function-valued properties rather than methods: none uses `this`, so `const { given } = spec` is safe.
export interface When<Event extends DomainEvent> {
  /** Decides exactly these events (toEqual); answers them. */
  readonly then: (expected: readonly Event[]) => Event[];
  /** Decides events matching these, one for one (toMatchObject); answers them. */
  readonly thenMatches: (expected: readonly DeepPartial<Event>[]) => Event[];
  /** Decides no events. */
  readonly thenNothing: () => void;
  /** Refuses with a TesseraError of this code (and matching `match`); answers it. */
  readonly thenRefused: (code: ErrorCode, match?: RefusalMatch) => TesseraError;
  /** The events decided, asserting nothing. */
  readonly decided: () => Event[];
}

export interface Given<State, Command, Event extends DomainEvent> {
  readonly when: (command: Command) => When<Event>;
  /** The state the given events fold to. */
  readonly state: () => State;
  /** The given events followed by what each command decides, in turn, on the history before it. */
  readonly after: (...commands: readonly Command[]) => Event[];
}

export interface DeciderSpecification<State, Command, Event extends DomainEvent> {
  readonly given: (events: readonly Event[]) => Given<State, Command, Event>;
}

export const DeciderSpecification = {
  for<State, Command, Event extends DomainEvent>(decider: Decider<State, Command, Event>): DeciderSpecification<State, Command, Event> {
    const decide = (events: readonly Event[], command: Command): Event[] => decider.decide(command, fold(decider, events));

    const given = (events: readonly Event[]): Given<State, Command, Event> => ({
      when: (command) => ({
        then: (expected) => {
          const decided = decide(events, command);
          expect(decided).toEqual(expected);
          return decided;
        },
        thenMatches: (expected) => {
          const decided = decide(events, command);
          expect(decided).toMatchObject(expected);
          return decided;
        },
        thenNothing: () => {
          expect(decide(events, command)).toEqual([]);
        },
        thenRefused: (code, match = {}) => {
          let decided: Event[];
          try {
            decided = decide(events, command);
          } catch (error) {
            expect(error).toBeInstanceOf(TesseraError);
            expect(error).toMatchObject({ ...match, code });
            return error as TesseraError;
          }
          return expect.fail(`expected a refusal with ${code}, but it decided ${JSON.stringify(decided)}`);
        },
        decided: () => decide(events, command),
      }),
      state: () => fold(decider, events),
      after: (...commands) => commands.reduce<Event[]>((history, command) => [...history, ...decide(history, command)], [...events]),
    });

    return { given };
  },
};
