import type { Decider, DomainEvent } from '../aggregates/decider.js';
import { derivedId, eventIdFor } from '../domain/ids.js';
import { TesseraError } from '../errors.js';
import { WrongExpectedVersionError } from '../eventstore/errors.js';
import type { EventData, EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import { eventVersionOf, type EventType } from '../events/versions.js';

/**
 * Who sent a command and when: a route builds it from the request (the command id from the
 * Idempotency-Key, see commandIdFor), a process manager from the event that triggered it.
 */
export interface CommandContext {
  /** Unique per command; the ids of the events it writes derive from it. */
  readonly commandId: string;
  readonly now: Date;
  /** `user:<id>`, `admin:<id>`, `service:<name>`, `system:<process>`. */
  readonly actor: string;
  readonly tenantId: string;
  readonly correlationId: string;
  /** What caused the command: defaults to the command id itself. */
  readonly causationId?: string;
}

export interface CommandResult<State, Event extends DomainEvent> {
  readonly state: State;
  /** The events this command wrote (or, for a retried command, had written before). */
  readonly events: readonly Event[];
  /** Stream revision after the command; null when the stream does not exist. */
  readonly revision: number | null;
  /** Position of the command's last event, for read-your-writes; null when it wrote nothing. */
  readonly position: Position | null;
  /** True when this command id had already been handled: nothing new was written. */
  readonly replayed: boolean;
}

export interface LoadedAggregate<State, Event extends DomainEvent> {
  readonly state: State;
  readonly revision: number | null;
  readonly events: readonly RecordedEvent<Event['type'], Event['data']>[];
  /**
   * The tenant the aggregate belongs to: that of the command that created it (its first event).
   * Authorization reads it from here, never from the request.
   */
  readonly tenantId: string | undefined;
}

export async function loadAggregate<State, Command, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
): Promise<LoadedAggregate<State, Event>> {
  const recorded = (await store.readStream(streamId)).filter((e): e is RecordedEvent<Event['type'], Event['data']> =>
    decider.isEvent(e),
  );
  let state = decider.initialState();
  for (const event of recorded) state = decider.evolve(state, { type: event.type, data: event.data } as Event);
  const last = recorded[recorded.length - 1];
  return { state, revision: last ? last.revision : null, events: recorded, tenantId: recorded[0]?.metadata.tenantId };
}

/**
 * One decider's command handler (Emmett's CommandHandler): the decider and where its streams
 * live, so commands and process managers say `payments.handle(store, id, command, context)` and
 * `payments.load(store, id)` instead of a wrapper per aggregate.
 */
export interface CommandHandler<State, Command, Event extends DomainEvent<EventType>, Id = string> {
  readonly decider: Decider<State, Command, Event>;
  streamId(id: Id): string;
  /** Load, decide, append (handleCommand) on the aggregate `id`. */
  handle(store: EventStore, id: Id, command: Command, context: CommandContext): Promise<CommandResult<State, Event>>;
  /** The aggregate `id` as its stream holds it now. */
  load(store: EventStore, id: Id): Promise<LoadedAggregate<State, Event>>;
}

export function commandHandler<State, Command, Event extends DomainEvent<EventType>, Id = string>(
  decider: Decider<State, Command, Event>,
  streamId: (id: Id) => string,
  options: { readonly maxAttempts?: number } = {},
): CommandHandler<State, Command, Event, Id> {
  return {
    decider,
    streamId,
    handle: (store, id, command, context) => handleCommand(store, { streamId: streamId(id), decider, command, context, ...options }),
    load: (store, id) => loadAggregate(store, streamId(id), decider),
  };
}

export interface HandleCommandOptions<State, Command, Event extends DomainEvent<EventType>> {
  readonly streamId: string;
  readonly decider: Decider<State, Command, Event>;
  readonly command: Command;
  readonly context: CommandContext;
  /** How many times to reload and decide again after losing a race for the stream. */
  readonly maxAttempts?: number;
}

/**
 * Load, fold, decide, append expecting the revision that was read; on a conflict, do it again
 * with the newer state (the decision may now differ). Event ids derive from the command id, so
 * a command retried after it succeeded finds its own events and answers as it did the first time.
 */
export async function handleCommand<State, Command, Event extends DomainEvent<EventType>>(
  store: EventStore,
  options: HandleCommandOptions<State, Command, Event>,
): Promise<CommandResult<State, Event>> {
  const { streamId, decider, command, context } = options;
  const maxAttempts = options.maxAttempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const loaded = await loadAggregate(store, streamId, decider);
    const earlier = eventsOfCommand(loaded.events, context.commandId);
    if (earlier.length > 0) {
      return {
        state: loaded.state,
        events: earlier.map((e) => ({ type: e.type, data: e.data }) as Event),
        revision: loaded.revision,
        position: earlier[earlier.length - 1]!.position,
        replayed: true,
      };
    }
    const decided = decider.decide(command, loaded.state);
    if (decided.length === 0) {
      return { state: loaded.state, events: [], revision: loaded.revision, position: null, replayed: false };
    }
    try {
      const appended = await store.append(streamId, toEventData(decided, context), {
        expected: loaded.revision === null ? 'no_stream' : loaded.revision,
      });
      const state = decided.reduce((s, e) => decider.evolve(s, e), loaded.state);
      return { state, events: decided, revision: appended.nextExpectedRevision, position: appended.position, replayed: false };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      if (attempt >= maxAttempts) {
        throw new TesseraError('CONCURRENCY_CONFLICT', `stream ${streamId} kept changing; try again`, { streamId });
      }
    }
  }
}

function eventsOfCommand<E extends RecordedEvent>(events: readonly E[], commandId: string): E[] {
  const byId = new Map(events.map((e) => [e.id.toLowerCase(), e]));
  const found: E[] = [];
  for (let n = 0; ; n++) {
    const event = byId.get(eventIdFor(commandId, n));
    if (!event) return found;
    found.push(event);
  }
}

/**
 * The events as the store takes them: ids from the command id, the context's metadata, and each
 * type's schema version from the catalogue (src/events/versions.ts), which throws for a type it
 * does not declare rather than write a version nobody chose.
 */
export function toEventData(events: readonly DomainEvent<EventType>[], context: CommandContext): EventData[] {
  const occurredAt = context.now.toISOString();
  return events.map((event, n) => ({
    id: eventIdFor(context.commandId, n),
    type: event.type,
    data: event.data,
    metadata: {
      correlationId: context.correlationId,
      causationId: context.causationId ?? context.commandId,
      tenantId: context.tenantId,
      actor: context.actor,
      occurredAt,
      schemaVersion: eventVersionOf(event.type),
    },
  }));
}

/**
 * The context of a command a process manager sends because of `cause`: its id derives from the
 * cause's id and the step, so sending it again after a crash is recognised as the same command.
 */
export function contextFromEvent(cause: RecordedEvent, step: string, actor: string, now: Date): CommandContext {
  return {
    commandId: derivedId(cause.id, step),
    now,
    actor,
    tenantId: cause.metadata.tenantId,
    correlationId: cause.metadata.correlationId,
    causationId: cause.id,
  };
}
