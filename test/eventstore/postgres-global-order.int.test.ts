import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore, Position, RecordedEvent } from '../../src/eventstore/event-store.js';
import { createPostgresEventStore } from '../../src/eventstore/postgres.js';
import { env, freshPostgresSchema, type PostgresSchema } from '../support/databases.js';
import { event } from '../support/events.js';

const url = env.databaseUrl;

/** Appends inside a transaction this test holds open, to commit whenever it likes. */
async function openWriter(schema: PostgresSchema): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema.schema}` });
  await client.connect();
  return client;
}

/** Writes an event row the way any writer does, inside a transaction the test leaves open. */
async function insertEvent(client: pg.Client, stream: string, data: Record<string, unknown>): Promise<void> {
  const { id, type, metadata } = event('Late');
  await client.query(
    `INSERT INTO tessera_events (stream_id, revision, event_id, event_type, data, metadata) VALUES ($1, 0, $2, $3, $4, $5)`,
    [stream, id, type, data, metadata],
  );
}

async function appendInOpenTransaction(client: pg.Client, stream: string): Promise<void> {
  await client.query('BEGIN');
  await insertEvent(client, stream, {});
}

describe.runIf(url)('PostgreSQL $all order under late commits', () => {
  let schema: PostgresSchema;
  let store: EventStore;

  beforeAll(async () => {
    schema = await freshPostgresSchema(url!);
    store = createPostgresEventStore(schema.connect({ poolSize: 24 }));
  });
  afterAll(async () => {
    await store.close();
    await schema.drop();
  });

  it('holds back events committed after an earlier transaction that is still open, then shows both in order', async () => {
    const from = await store.headPosition();
    const late = await openWriter(schema);
    const lateStream = `late-${randomUUID()}`;
    await appendInOpenTransaction(late, lateStream);

    const earlyStream = `early-${randomUUID()}`;
    await store.append(earlyStream, [event('Early')], { expected: 'no_stream' });
    expect(await store.readStream(earlyStream)).toHaveLength(1);
    // Committed, but a reader that passed it now would never come back for the open one.
    expect(await store.readAll({ after: from ?? 'start' })).toEqual([]);

    await late.query('COMMIT');
    await late.end();
    // Transactions of other test files share the server's horizon and may delay (never reorder) us.
    let all: RecordedEvent[] = [];
    for (let tries = 0; all.length < 2 && tries < 500; tries++) {
      all = await store.readAll({ after: from ?? 'start' });
      if (all.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(all.map((e) => e.streamId)).toEqual([lateStream, earlyStream]);
  });

  /** A transaction with an id that stays open until the test commits it: a batch job, a migration. */
  async function openTransaction(connection: pg.ClientConfig, work: string): Promise<pg.Client> {
    const client = new pg.Client(connection);
    await client.connect();
    await client.query('BEGIN');
    await client.query(work);
    await client.query('SELECT pg_current_xact_id()');
    return client;
  }

  async function appendAndReadBack(): Promise<RecordedEvent[]> {
    const from = await store.headPosition();
    const stream = `after-${randomUUID()}`;
    await store.append(stream, [event('Committed')], { expected: 'no_stream' });
    return (await store.readAll({ after: from ?? 'start' })).filter((e) => e.streamId === stream);
  }

  it('does not hold back events for a transaction left open in another database of the server', async () => {
    const elsewhere = new URL(url!);
    elsewhere.pathname = '/postgres';
    const foreign = await openTransaction({ connectionString: elsewhere.toString() }, 'CREATE TEMP TABLE batch_job (n int)');
    try {
      expect(await appendAndReadBack()).toHaveLength(1);
    } finally {
      await foreign.query('ROLLBACK');
      await foreign.end();
    }
  });

  it('does not hold back events for a transaction of ours that writes other tables only', async () => {
    const other = await openTransaction(
      { connectionString: url, options: `-c search_path=${schema.schema}` },
      `INSERT INTO tessera_checkpoints (subscription, commit_pos, prepare_pos) VALUES ('open-${randomUUID()}', 0, 0)`,
    );
    try {
      expect(await appendAndReadBack()).toHaveLength(1);
    } finally {
      await other.query('ROLLBACK');
      await other.end();
    }
  });

  it('holds back events for a transaction that locked the event table to append later, then shows its event first', async () => {
    const appender = await openTransaction(
      { connectionString: url, options: `-c search_path=${schema.schema}` },
      'LOCK TABLE tessera_events IN ROW EXCLUSIVE MODE',
    );
    const from = await store.headPosition();
    const early = `early-${randomUUID()}`;
    await store.append(early, [event('Early')], { expected: 'no_stream' });
    expect(await store.readAll({ after: from ?? 'start' })).toEqual([]);

    const late = `late-${randomUUID()}`;
    await insertEvent(appender, late, {});
    await appender.query('COMMIT');
    await appender.end();
    let all: RecordedEvent[] = [];
    for (let tries = 0; all.length < 2 && tries < 500; tries++) {
      all = await store.readAll({ after: from ?? 'start' });
      if (all.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(all.map((e) => e.streamId)).toEqual([late, early]);
  });

  it('never skips or repeats an event while writers commit out of order with random delays', async () => {
    const from = await store.headPosition();
    const writers = await Promise.all(Array.from({ length: 8 }, () => openWriter(schema)));
    const perWriter = 25;
    const expected = new Set<string>();
    let done = false;

    const tail = (async () => {
      const seen: RecordedEvent[] = [];
      let cursor: Position | null = from;
      for (;;) {
        const batch = await store.readAll({ after: cursor ?? 'start', maxCount: 10 });
        for (const e of batch) seen.push(e);
        if (batch.length > 0) cursor = batch[batch.length - 1]!.position;
        else if (done && seen.length >= expected.size) return seen;
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    await Promise.all(
      writers.map(async (client, w) => {
        for (let i = 0; i < perWriter; i++) {
          const stream = `jitter-${w}-${i}-${randomUUID()}`;
          await client.query('BEGIN');
          await insertEvent(client, stream, { w, i });
          await client.query('SELECT pg_sleep($1)', [Math.random() * 0.01]);
          await client.query('COMMIT');
          expected.add(stream);
        }
      }),
    );
    done = true;
    const seen = await tail;
    await Promise.all(writers.map((client) => client.end()));

    const streams = seen.map((e) => e.streamId);
    expect(new Set(streams).size).toBe(streams.length);
    expect(new Set(streams)).toEqual(expected);
  });
});
