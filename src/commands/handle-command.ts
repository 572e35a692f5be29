import type { Decider, DomainEvent } from '../aggregates/decider.js';
import { derivedId, eventIdFor } from '../domain/ids.js';
import { TesseraError } from '../errors.js';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../eventstore/errors.js';
import type { EventData, EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import { eventVersionOf, type EventType } from '../events/versions.js';
import { aggregateCacheOf, recordedAfterAppend, type CachedAggregate } from './aggregate-cache.js';

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
  const loaded = { state, revision: last ? last.revision : null, events: recorded, tenantId: recorded[0]?.metadata.tenantId };
  if (loaded.revision !== null) aggregateCacheOf(store)?.set(streamId, decider, loaded as CachedAggregate & typeof loaded);
  return loaded;
}

/** The aggregate as this process last saw it (see aggregate-cache.ts), else as the store holds it. */
function cachedOrLoaded<State, Command, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
): { cached: boolean; loaded: Promise<LoadedAggregate<State, Event>> } {
  const hit = aggregateCacheOf(store)?.get(streamId, decider) as LoadedAggregate<State, Event> | undefined;
  return hit ? { cached: true, loaded: Promise.resolve(hit) } : { cached: false, loaded: loadAggregate(store, streamId, decider) };
}

function firstGuess<State, Command, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, Event>,
  expectNew: boolean | undefined,
): { cached: boolean; loaded: Promise<LoadedAggregate<State, Event>> } {
  // Only a store that tells an idempotent retry from a first append (alreadyStored) can be guessed at.
  if (!expectNew || store.kind === 'eventstoredb') return cachedOrLoaded(store, streamId, decider);
  const empty: LoadedAggregate<State, Event> = { state: decider.initialState(), revision: null, events: [], tenantId: undefined };
  return { cached: true, loaded: Promise.resolve(empty) };
}

/** Whether the stream has events after `revision`: a cached state that has been passed. */
async function movedOn(store: EventStore, streamId: string, revision: number | null): Promise<boolean> {
  const newer = await store.readStream(streamId, { fromRevision: revision === null ? 0 : revision + 1, maxCount: 1 });
  if (newer.length > 0) aggregateCacheOf(store)?.delete(streamId);
  return newer.length > 0;
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
  handle(store: EventStore, id: Id, command: Command, context: CommandContext, options?: { readonly expectNew?: boolean }): Promise<CommandResult<State, Event>>;
  /** The aggregate `id` as its stream holds it now (read from the store). */
  load(store: EventStore, id: Id): Promise<LoadedAggregate<State, Event>>;
  /**
   * The aggregate as this process last saw it, which may miss what another instance wrote in
   * the last moments (aggregate-cache.ts); else read. Only for what a later moment's read could
   * equally have answered and nothing is decided against: a price to quote, a venue's address,
   * a payment's request (never changed once written). Never for a check before an effect.
   */
  loadRecent(store: EventStore, id: Id): Promise<LoadedAggregate<State, Event>>;
}

export function commandHandler<State, Command, Event extends DomainEvent<EventType>, Id = string>(
  decider: Decider<State, Command, Event>,
  streamId: (id: Id) => string,
  options: { readonly maxAttempts?: number } = {},
): CommandHandler<State, Command, Event, Id> {
  return {
    decider,
    streamId,
    handle: (store, id, command, context, handling) =>
      handleCommand(store, { streamId: streamId(id), decider, command, context, ...options, ...(handling?.expectNew ? { expectNew: true } : {}) }),
    load: (store, id) => loadAggregate(store, streamId(id), decider),
    loadRecent: (store, id) => cachedOrLoaded(store, streamId(id), decider).loaded,
  };
}

export interface HandleCommandOptions<State, Command, Event extends DomainEvent<EventType>> {
  readonly streamId: string;
  readonly decider: Decider<State, Command, Event>;
  readonly command: Command;
  readonly context: CommandContext;
  /** How many times to reload and decide again after losing a race for the stream. */
  readonly maxAttempts?: number;
  /**
   * The stream is most likely new (its id derives from this command's id): decide from the
   * initial state and append expecting no stream, without reading it first. If it exists after
   * all (a retried command), the append fails and the command is handled as usual.
   */
  readonly expectNew?: boolean;
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
  const cache = aggregateCacheOf(store);
  for (let attempt = 1; ; attempt++) {
    // The first attempt may start from the cached state (or from nothing, for a new stream); a
    // retry always reads the store.
    const from = attempt > 1 ? { cached: false, loaded: loadAggregate(store, streamId, decider) } : firstGuess(store, streamId, decider, options.expectNew);
    const loaded = await from.loaded;
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
    let decided: Event[];
    try {
      decided = decider.decide(command, loaded.state);
    } catch (refusal) {
      // A refusal must hold for the stream as it is, not as this process last saw it.
      if (from.cached && (await movedOn(store, streamId, loaded.revision))) continue;
      throw refusal;
    }
    if (decided.length === 0) {
      if (from.cached && (await movedOn(store, streamId, loaded.revision))) continue;
      return { state: loaded.state, events: [], revision: loaded.revision, position: null, replayed: false };
    }
    try {
      const written = toEventData(decided, context);
      const appended = await store.append(streamId, written, {
        expected: loaded.revision === null ? 'no_stream' : loaded.revision,
        reportAlreadyStored: from.cached,
      });
      // Decided from a guess, and the store already held these events: answer as they were written.
      if (from.cached && appended.alreadyStored) {
        cache?.delete(streamId);
        continue;
      }
      const state = decided.reduce((s, e) => decider.evolve(s, e), loaded.state);
      const first = appended.nextExpectedRevision - written.length + 1;
      const events = [...loaded.events, ...recordedAfterAppend<Event>(streamId, written, first, appended.position, context.now)];
      cache?.set(streamId, decider, { state, revision: appended.nextExpectedRevision, events, tenantId: events[0]?.metadata.tenantId });
      return { state, events: decided, revision: appended.nextExpectedRevision, position: appended.position, replayed: false };
    } catch (error) {
      // Decided from a guess, the command's events are already stored, as a different decision
      // (a retried purchase assessed anew): read the stream, and answer as they were written.
      if (from.cached && error instanceof DuplicateEventIdError) {
        cache?.delete(streamId);
        continue;
      }
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      cache?.delete(streamId);
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
