/**
 * A projector process for the kill-mid-batch test: it runs the tally projection until its
 * HANG_AT-th batch is half written, prints MID-BATCH and hangs inside that batch's transaction,
 * for the parent to kill it with SIGKILL. With KILL_PROJECTIONS=all it runs Tessera's own
 * projections instead, and the first to reach its HANG_AT-th batch hangs once it has written
 * the whole batch, before the commit.
 *
 *   KILL_DIALECT=postgres DATABASE_URL=… KILL_SCHEMA=…   or   KILL_DIALECT=pglite KILL_DATA_DIR=…
 */
import { connectPostgres, openPglite, type SqlClient } from '../../src/db/sql-client.js';
import { createLogger } from '../../src/logger.js';
import { projections } from '../../src/projections/all.js';
import type { Projection } from '../../src/projections/engine/projection.js';
import { createReadSide } from '../../src/projections/engine/read-side.js';
import { sqlEventStore } from '../../src/runtime.js';
import { tallyProjection } from './tally-projection.js';

const env = process.env;
const hangAt = Number(env.HANG_AT ?? 3);
const sql: SqlClient =
  env.KILL_DIALECT === 'postgres'
    ? connectPostgres({ url: env.DATABASE_URL!, schema: env.KILL_SCHEMA!, poolSize: 4 })
    : await openPglite({ dataDir: env.KILL_DATA_DIR! });
const store = sqlEventStore(sql);
let hanging = false;
/** Hangs forever in the batch that is a projection's HANG_AT-th (the first one to get there). */
const hangAtBatch = () => {
  let batches = 0;
  return async () => {
    if (++batches < hangAt || hanging) return;
    hanging = true;
    process.stdout.write('MID-BATCH\n');
    await new Promise(() => undefined);
  };
};
const hangingAfterWrites = (projection: Projection): Projection => {
  const hang = hangAtBatch();
  return {
    ...projection,
    async handle(events, trx, batch) {
      await projection.handle(events, trx, batch);
      await hang();
    },
  };
};
const running = env.KILL_PROJECTIONS === 'all' ? projections.map(hangingAfterWrites) : [tallyProjection({ midBatch: hangAtBatch() })];
const readSide = createReadSide({ sql, store, logger: createLogger({ level: 'silent' }), projections: running, batchSize: 50 });
await readSide.start();
