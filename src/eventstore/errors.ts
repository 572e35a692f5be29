import { describeExpected, type ExpectedRevision } from './event-store.js';

/** The stream was not at the revision the writer expected; `actual` says where it is. */
export class WrongExpectedVersionError extends Error {
  readonly code = 'WRONG_EXPECTED_VERSION';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(
      `append to ${streamId} expected ${describeExpected(expected)} but the stream is at ${
        actual === 'no_stream' ? 'no_stream' : `revision ${actual}`
      }`,
    );
    this.name = 'WrongExpectedVersionError';
  }
}

/**
 * Some of the appended event ids are already stored, but not as exactly these events of this
 * stream, so the append is neither new nor a retry of an earlier one.
 */
export class DuplicateEventIdError extends Error {
  readonly code = 'DUPLICATE_EVENT_ID';
  constructor(
    readonly streamId: string,
    readonly eventIds: readonly string[],
  ) {
    super(`event ids already stored elsewhere than this append to ${streamId}: ${eventIds.join(', ')}`);
    this.name = 'DuplicateEventIdError';
  }
}

export class InvalidAppendError extends Error {
  readonly code = 'INVALID_APPEND';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAppendError';
  }
}

/** A checkpoint moved under a consumer: another instance owns the subscription now. */
export class CheckpointConflictError extends Error {
  readonly code = 'CHECKPOINT_CONFLICT';
  constructor(readonly subscription: string) {
    super(`checkpoint of subscription ${subscription} was moved by another consumer`);
    this.name = 'CheckpointConflictError';
  }
}

/**
 * The consumer must not run any more in this process (newer code owns what it writes): its
 * subscription ends for good, where any other error is retried.
 */
export class ConsumerRetiredError extends Error {
  readonly code = 'CONSUMER_RETIRED';
  constructor(
    readonly subscription: string,
    reason: string,
  ) {
    super(`subscription ${subscription} retired: ${reason}`);
    this.name = 'ConsumerRetiredError';
  }
}
