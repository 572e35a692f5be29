/**
 * Ledger errors are bugs, not user errors: a posting rule booked something impossible. They stop
 * the ledger projection loudly (its batch rolls back, the runner retries with backoff and shows
 * the message in its status) and are never skipped.
 */
export type EntryProblem = 'no_postings' | 'unbalanced' | 'malformed_account' | 'invalid_amount' | 'invalid_currency' | 'malformed_entry';

export interface EntryIdentity {
  readonly entryId: string;
  readonly sourceEventId: string;
  readonly entryType: string;
}

/** A journal entry that is not a valid balanced entry: nothing of its batch is written. */
export class UnbalancedEntryError extends Error {
  readonly code = 'UNBALANCED_ENTRY';
  constructor(
    readonly problem: EntryProblem,
    readonly entry: EntryIdentity,
    readonly details: Readonly<Record<string, unknown>>,
    reason: string,
  ) {
    super(`journal entry ${entry.entryId} (${entry.entryType}, event ${entry.sourceEventId}) refused: ${reason}`);
    this.name = 'UnbalancedEntryError';
  }
}

/** An entry id is already booked with different postings: the posting rules changed under a live ledger. */
export class LedgerConflictError extends Error {
  readonly code = 'LEDGER_CONFLICT';
  constructor(readonly entryIds: readonly string[]) {
    super(
      `journal entries already booked differently: ${entryIds.slice(0, 5).join(', ')}${entryIds.length > 5 ? ', …' : ''} ` +
        '(posting rules changed without a new ledger version?)',
    );
    this.name = 'LedgerConflictError';
  }
}
