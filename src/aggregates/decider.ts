/**
 * An aggregate as a decider (Jérémie Chassaing's pattern, as Emmett uses it): pure functions
 * with no I/O, clock or random ids; everything a decision needs arrives in the command.
 * `decide` answers with the events to append (none when the command changes nothing) or throws
 * a TesseraError refusing it.
 */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
}

export interface Decider<State, Command, Event extends DomainEvent> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
  /** Narrows a stored event to this aggregate's events (the store is typed loosely). */
  isEvent(event: DomainEvent): event is Event;
}

export function fold<State, Event extends DomainEvent>(
  decider: Pick<Decider<State, never, Event>, 'initialState' | 'evolve'>,
  events: readonly Event[],
): State {
  return events.reduce((state, event) => decider.evolve(state, event), decider.initialState());
}
