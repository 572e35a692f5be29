import type { EventStore, RecordedEvent } from '../../eventstore/event-store.js';
import { checkpointAfter, startSubscription, type Subscription, type SubscriptionOptions } from '../../eventstore/subscription.js';
import { PermanentFailure } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Parking } from './parking.js';
import { describeError, withRetries, type RetryPolicy } from './retry.js';

/**
 * A process manager reacts to events by calling the outside world and sending the next command.
 * Its steps must be idempotent: the gateway call carries a key derived from the triggering
 * event, and the command's id derives from it too, so handling an event twice (after a crash
 * before the checkpoint moved) moves no money twice and writes no event twice.
 */
export interface ProcessManager {
  readonly name: string;
  readonly handles: ReadonlySet<string>;
  handle(event: RecordedEvent): Promise<void>;
}

/** A process manager's step for one event type: the event arrives with its own data typed. */
export type ProcessStep<Type extends string = string, Data = unknown> = (event: RecordedEvent<Type, Data>) => Promise<void>;

/**
 * A process manager's steps, declared as the ledger declares its PostingRules<Events>: for each
 * event type it reacts to, the step that handles it. `Events` is the union of `{ type, data }`
 * shapes of the event catalogue, so each step sees its own event's data typed, without a cast.
 */
export type ProcessSteps<Events extends { readonly type: string; readonly data: unknown }> = {
  readonly [Type in Events['type']]?: ProcessStep<Type, Extract<Events, { readonly type: Type }>['data']>;
};

/** The process manager `name` that runs `steps`: it handles exactly the event types they name. */
export function processManager<Events extends { readonly type: string; readonly data: unknown }>(
  name: string,
  steps: ProcessSteps<Events>,
): ProcessManager {
  // The one place the loosely typed store meets the typed steps: an event of a step's type
  // carries that type's data (the store's upcasters raise old versions as they are read).
  const stepFor = steps as Readonly<Record<string, ProcessStep | undefined>>;
  return {
    name,
    handles: new Set(Object.keys(steps).filter((type) => stepFor[type] !== undefined)),
    async handle(event) {
      const step = stepFor[event.type];
      if (!step) throw new PermanentFailure(`process manager ${name} has no step for ${event.type}`);
      await step(event);
    },
  };
}

export interface ProcessManagerOptions {
  readonly retry: RetryPolicy;
  readonly parking: Parking;
  /** Streams handled at once within a batch; one stream's events always go in order. */
  readonly concurrency?: number;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  readonly subscription?: SubscriptionOptions;
  /**
   * How often the checkpoint is written while busy: batches in between share one write. Steps are
   * idempotent, so a crash only makes the next owner handle those batches' events again.
   */
  readonly checkpointEveryMs?: number;
}

const DEFAULT_CHECKPOINT_EVERY_MS = 250;

export interface RunningProcessManager {
  readonly subscription: Subscription;
  stop(): Promise<void>;
}

export const parkedIdFor = (pm: string, eventId: string): string => `pm:${pm}:${eventId}`;

/**
 * Runs a process manager as a checkpointed subscription over `$all` (one active instance per
 * name). The checkpoint moves after the whole batch is handled (at least once), at most every
 * `checkpointEveryMs` while events keep coming, and when caught up. An event whose
 * step keeps failing is retried with backoff, then parked, and the manager moves on.
 */
export function startProcessManager(store: EventStore, pm: ProcessManager, options: ProcessManagerOptions): RunningProcessManager {
  const clock = options.clock ?? (() => new Date());
  const concurrency = options.concurrency ?? 8;
  const log = options.logger?.child({ processManager: pm.name });
  const stopping = new AbortController();

  async function handleOne(event: RecordedEvent): Promise<void> {
    const outcome = await withRetries(() => pm.handle(event), options.retry, stopping.signal);
    if (outcome.ok) return;
    // Stopping: leave the event for the next run (the checkpoint has not passed it).
    if (outcome.aborted) throw outcome.error;
    log?.error({ err: outcome.error, eventId: event.id, type: event.type, attempts: outcome.attempts }, 'work parked');
    await options.parking.park({
      id: parkedIdFor(pm.name, event.id),
      source: `pm:${pm.name}`,
      item: { streamId: event.streamId, revision: event.revision, eventId: event.id, type: event.type },
      error: describeError(outcome.error),
      attempts: outcome.attempts,
      at: clock(),
    });
  }

  async function handleBatch(events: readonly RecordedEvent[]): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      const list = byStream.get(event.streamId) ?? [];
      list.push(event);
      byStream.set(event.streamId, list);
    }
    const queue = [...byStream.values()];
    const worker = async () => {
      for (let stream = queue.shift(); stream; stream = queue.shift()) {
        for (const event of stream) await handleOne(event);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }

  const consumer = checkpointAfter(`pm:${pm.name}`, store.checkpoints, handleBatch, {
    handles: (event) => pm.handles.has(event.type),
    writeEveryMs: options.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS,
  });
  const subscription = startSubscription(store, consumer, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...options.subscription,
  });
  return {
    subscription,
    async stop() {
      stopping.abort();
      await subscription.stop();
    },
  };
}

/** Runs a parked event's step once more (an operator's retry). Throws if it fails again. */
export async function rerunParkedEvent(store: EventStore, pm: ProcessManager, item: Readonly<Record<string, unknown>>): Promise<void> {
  const streamId = String(item.streamId);
  const [event] = await store.readStream(streamId, { fromRevision: Number(item.revision), maxCount: 1 });
  if (!event || event.id !== item.eventId) throw new Error(`parked event ${String(item.eventId)} not found in ${streamId}`);
  await pm.handle(event);
}
