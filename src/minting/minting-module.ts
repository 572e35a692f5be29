import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { SqlClient } from '../db/sql-client.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { Logger } from '../logger.js';
import type { ParkedWork, Parking } from '../processmanagers/runtime/parking.js';
import { mintingProcess } from '../processmanagers/minting.js';
import { rerunParkedEvent, startProcessManager, type ProcessManager, type RunningProcessManager } from '../processmanagers/runtime/process-manager.js';
import { createMintWorker, MINT_PARKING_SOURCE, nftStatusFor, type MintPriority, type MintWorker, type NftStatusView } from '../processmanagers/minting.js';
import type { Minter } from '../gateways/minter.js';
import { createSandboxChain } from '../gateways/sandbox-chain.js';

type MintingConfig = Pick<
  Config,
  | 'CHAIN_CONFIRM_DELAY_MS'
  | 'CHAIN_FAILURE_RATE'
  | 'CHAIN_REVERT_RATE'
  | 'MINT_POLL_MS'
  | 'MINT_MAX_ATTEMPTS'
  | 'MINT_RETRY_INITIAL_MS'
  | 'MINT_RETRY_MAX_MS'
  | 'MINT_VENUE_PRIORITY'
  | 'PM_MAX_ATTEMPTS'
  | 'PM_RETRY_INITIAL_MS'
  | 'PM_RETRY_MAX_MS'
  | 'PM_CONCURRENCY'
>;

export interface MintingModuleDeps {
  readonly store: EventStore;
  readonly sql: SqlClient;
  readonly config: MintingConfig;
  readonly parking: Parking;
  /** Where the retry of this module's parked work is registered, by source. */
  readonly parkedHandlers?: Record<string, (work: ParkedWork) => Promise<void>>;
  readonly logger?: Logger;
  readonly clock?: () => Date;
  /** Defaults to the sandbox chain over `sql`. */
  readonly minter?: Minter;
  readonly idleWaitMs?: number;
}

export interface MintingModule {
  readonly minter: Minter;
  readonly worker: MintWorker;
  readonly process: ProcessManager;
  /** The seed's `nftStatus` of a payment (issue 5's transaction query reads it). */
  nftStatus(db: Kysely<object>, paymentId: string): Promise<NftStatusView | undefined>;
  start(): void;
  stop(): Promise<void>;
}

/** NFT minting: the minting process manager fills the queue, the mint worker empties it onto the chain. */
export function createMintingModule(deps: MintingModuleDeps): MintingModule {
  const { store, sql, config } = deps;
  const clock = deps.clock ?? (() => new Date());
  const minter =
    deps.minter ??
    createSandboxChain(sql, {
      confirmDelayMs: config.CHAIN_CONFIRM_DELAY_MS,
      failureRate: config.CHAIN_FAILURE_RATE,
      revertRate: config.CHAIN_REVERT_RATE,
      clock,
    });
  const worker = createMintWorker({
    sql,
    store,
    minter,
    parking: deps.parking,
    retry: { maxAttempts: config.MINT_MAX_ATTEMPTS, initialMs: config.MINT_RETRY_INITIAL_MS, maxMs: config.MINT_RETRY_MAX_MS },
    clock,
    pollMs: config.MINT_POLL_MS,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const process = mintingProcess({
    store,
    sql,
    clock,
    priorityFor: (venueId): MintPriority => config.MINT_VENUE_PRIORITY[venueId] ?? 'standard',
  });
  if (deps.parkedHandlers) {
    deps.parkedHandlers[`pm:${process.name}`] = (work) => rerunParkedEvent(store, process, work.item);
    deps.parkedHandlers[MINT_PARKING_SOURCE] = (work) => worker.retryParkedBatch(String(work.item.batchId));
  }
  let running: RunningProcessManager | undefined;
  return {
    minter,
    worker,
    process,
    nftStatus: nftStatusFor,
    start() {
      if (running) return;
      running = startProcessManager(store, process, {
        retry: { maxAttempts: config.PM_MAX_ATTEMPTS, initialMs: config.PM_RETRY_INITIAL_MS, maxMs: config.PM_RETRY_MAX_MS },
        parking: deps.parking,
        concurrency: config.PM_CONCURRENCY,
        clock,
        ...(deps.logger ? { logger: deps.logger } : {}),
        subscription: deps.idleWaitMs === undefined ? {} : { idleWaitMs: deps.idleWaitMs },
      });
      worker.start();
    },
    async stop() {
      await worker.stop();
      await running?.stop();
      running = undefined;
    },
  };
}
