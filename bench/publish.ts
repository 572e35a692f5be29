/**
 * npm run bench:publish
 *
 * Events out (issue 22): how soon an event reaches the brokers while purchases come in, and how
 * fast `tessera publish --from start` sends history again.
 *
 * 1. `latency`: the real server (startServer, as bench:purchase starts it) on a fresh PostgreSQL
 *    database, its publishers as shipped (default subscription, batch and retry settings) on NATS
 *    JetStream (a stream and subject prefix of the run's own) and, when RABBITMQ_URL is set,
 *    RabbitMQ (an exchange of the run's own, with a durable queue bound as a consumer would bind
 *    it, so a confirm waits for the queue to take the message). A child process sends BENCH_RATE
 *    (30) purchases a second on a fixed schedule for BENCH_SECONDS (20) (bench/paced-load.ts).
 *    Each broker's adapter is wrapped to note when the publisher hands it a batch and when the
 *    broker acknowledges it. An event's latency is that acknowledgement less its recorded_at (the
 *    start of the transaction that appended it, to the microsecond): the definition of
 *    event_publish_latency_seconds, taken per event instead of from the histogram's buckets.
 *    Prints p50/p95/p99/max per broker against the target (p99 < 100 ms), split into the wait
 *    until the publisher hands the event over and the broker's round trip, the server's own
 *    histogram over the same window, and the server's event-loop delay and the machine's load
 *    average: on a small or shared machine every step of the way waits for a core.
 * 2. `republish`: BENCH_EVENTS (100,000) purchase-shaped events (bench/history.ts) in a fresh
 *    database, sent by republishHistory (src/publishing.ts, as `tessera publish --from start` runs
 *    it) to a fresh NATS stream, next to two floors: the same run to a broker that takes every
 *    batch at once (reading and mapping history alone), and the same messages in the same batches
 *    sent by the NATS adapter with no store. Systems take turns over BENCH_ROUNDS (3), each NATS
 *    run on a stream of its own (a stream's duplicate window would drop the ids it already holds).
 *    Target: 5,000 events/s.
 *
 * BENCH_MODE: latency, republish, or both (default). BENCH_DATABASE_URL (else DATABASE_URL, else
 * the local server), NATS_URL (else the local one), RABBITMQ_URL (unset: NATS only),
 * BENCH_LOG_LEVEL (warn). Databases, streams, exchanges and queues are removed at the end. Not
 * part of `npm test`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect as amqpConnect } from 'amqplib';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { connectPostgres, type SqlClient } from '../src/db/sql-client.js';
import { DEFAULT_INTEGRATION_OPTIONS } from '../src/events/integration.js';
import type { EventStore, Position, RecordedEvent } from '../src/eventstore/event-store.js';
import type { BrokerPublisher, OutboundMessage } from '../src/gateways/broker.js';
import { createNatsPublisher } from '../src/gateways/broker-nats.js';
import { rabbitmqPublisher } from '../src/gateways/broker-rabbitmq.js';
import { messageOf } from '../src/processmanagers/publisher.js';
import { sqlParking } from '../src/processmanagers/runtime/parking.js';
import { publishRetry, republishHistory } from '../src/publishing.js';
import { sqlEventStore } from '../src/runtime.js';
import { dropDatabase, freshDatabase, round } from './harness.js';
import { generateHistory } from './history.js';
import type { PacedLoadOptions, PacedLoadResult } from './paced-load.js';
import { postgresDatabases } from './purchase-databases.js';
import { purchaseBody, sign, startTessera } from './purchase-server.js';

const mode = process.env.BENCH_MODE ?? 'both';
if (!['latency', 'republish', 'both'].includes(mode)) throw new Error(`BENCH_MODE must be latency, republish or both, not "${mode}"`);
const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const rabbitUrl = process.env.RABBITMQ_URL || undefined;
const rate = Number(process.env.BENCH_RATE ?? 30);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const historyEvents = Number(process.env.BENCH_EVENTS ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
/** The criteria of issue 22. */
const TARGET = { p99Ms: 100, republishEventsPerSecond: 5_000 };
const WARMUP_SECONDS = 2;
/** HTTP connections are opened as the load needs them; this sizes the server's SQL pool. */
const POOL_SIZE = 16;

const tag = randomBytes(4).toString('hex');
/** A NATS stream and subject prefix no one else uses, for one run of the adapter. */
const natsNames = (n: number) => ({ stream: `TESSERA_BENCH_${tag}_${n}`, subjectPrefix: `tessera-bench-${tag}-${n}.` });

/** Milliseconds since the epoch with the monotonic clock's fraction, to compare with recorded_at's microseconds. */
const nowMs = () => performance.timeOrigin + performance.now();

interface Ack {
  /** When the publisher handed the batch holding the event to the adapter. */
  readonly handedMs: number;
  /** When the adapter's publish resolved: the broker acknowledged the whole batch. */
  readonly ackedMs: number;
}

/** A broker whose every acknowledged message is noted by id (its first acknowledgement). */
function timed(broker: BrokerPublisher): BrokerPublisher & { readonly acks: Map<string, Ack>; readonly batches: number[] } {
  const acks = new Map<string, Ack>();
  const batches: number[] = [];
  return {
    name: broker.name,
    acks,
    batches,
    async publish(messages) {
      const handedMs = nowMs();
      await broker.publish(messages);
      const ackedMs = nowMs();
      batches.push(messages.length);
      for (const message of messages) if (!acks.has(message.id)) acks.set(message.id, { handedMs, ackedMs });
    },
    close: () => broker.close(),
  };
}

interface Spread {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0, 2);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted[sorted.length - 1] ?? 0, 2) };
}

function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./paced-load.ts', import.meta.url));
    execFile(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], (error, stdout) => {
      if (error) reject(new Error(`the load generator failed: ${error.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as PacedLoadResult);
    });
  });
}

/** Every event of `$all`, in order. */
async function readHistory(store: EventStore, pageSize = 500): Promise<RecordedEvent[][]> {
  const pages: RecordedEvent[][] = [];
  for (let after: Position | 'start' = 'start'; ; ) {
    const page = await store.readAll({ after, maxCount: pageSize });
    const last = page[page.length - 1];
    if (!last) return pages;
    pages.push(page);
    after = last.position;
  }
}

const publishes = (event: RecordedEvent) => messageOf(event, DEFAULT_INTEGRATION_OPTIONS) !== undefined;

/** Waits until every broker has acknowledged every event of the store that publishes, twice in a row 200 ms apart (process managers may still append). */
async function caughtUp(sql: SqlClient, brokers: readonly TimedBroker[]): Promise<void> {
  const store = sqlEventStore(sql);
  const deadline = Date.now() + 30_000;
  for (let settled = 0; settled < 2; ) {
    const pending = (await readHistory(store)).flat().filter(publishes);
    const done = brokers.every((broker) => pending.every((event) => broker.acks.has(event.id)));
    settled = done ? settled + 1 : 0;
    if (Date.now() > deadline) throw new Error('the publishers did not catch up within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The cumulative buckets of event_publish_latency_seconds by broker, from the server's /metrics. */
async function histogram(serverUrl: string): Promise<Map<string, Map<string, number>>> {
  const text = await fetch(`${serverUrl}/metrics`).then((r) => r.text());
  const byBroker = new Map<string, Map<string, number>>();
  for (const [, labels, value] of text.matchAll(/^event_publish_latency_seconds_bucket\{([^}]*)\} (\d+)/gm)) {
    const le = /le="([^"]+)"/.exec(labels!)?.[1];
    const broker = /broker="([^"]+)"/.exec(labels!)?.[1];
    if (!le || !broker) continue;
    const buckets = byBroker.get(broker) ?? new Map<string, number>();
    buckets.set(le, Number(value));
    byBroker.set(broker, buckets);
  }
  return byBroker;
}

/**
 * What the histogram says of the events it counted between two readings: how many, the share
 * within 100 ms (exact: a bucket's bound), and the p99 as Prometheus's histogram_quantile reads
 * it (interpolated within its bucket), to set beside the exact one.
 */
function histogramBetween(before: Map<string, number> | undefined, after: Map<string, number> | undefined) {
  const count = (le: string) => (after?.get(le) ?? 0) - (before?.get(le) ?? 0);
  const total = count('+Inf');
  const bounds = [...(after?.keys() ?? [])].filter((le) => le !== '+Inf').sort((a, b) => Number(a) - Number(b));
  const rank = 0.99 * total;
  let p99Ms: number | null = null;
  let lower = 0;
  let below = 0;
  for (const le of total > 0 ? bounds : []) {
    const upTo = count(le);
    if (upTo >= rank) {
      p99Ms = round((lower + ((Number(le) - lower) * (rank - below)) / (upTo - below)) * 1000, 1);
      break;
    }
    lower = Number(le);
    below = upTo;
  }
  return { events: total, within100Ms: total === 0 ? null : round(count('0.1') / total, 4), p99Ms };
}

type TimedBroker = ReturnType<typeof timed>;

/**
 * The brokers of the latency run, timed: NATS on a stream of the run's own, and RabbitMQ (with
 * RABBITMQ_URL) on an exchange of the run's own with a durable queue bound. `dispose` removes them.
 */
async function latencyBrokers(): Promise<{ brokers: TimedBroker[]; dispose: () => Promise<void> }> {
  const nats = natsNames(0);
  const exchange = `tessera.bench.${tag}`;
  const queue = `tessera.bench.${tag}`;
  const nc = await natsConnect({ servers: natsUrl });
  const rabbit = rabbitUrl ? await amqpConnect(rabbitUrl) : undefined;
  const channel = await rabbit?.createChannel();
  if (channel) {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, '#');
  }
  return {
    brokers: [timed(createNatsPublisher({ url: natsUrl, ...nats })), ...(rabbitUrl ? [timed(rabbitmqPublisher({ url: rabbitUrl, exchange }))] : [])],
    dispose: async () => {
      await (await nc.jetstreamManager()).streams.delete(nats.stream).catch(() => false);
      await nc.drain();
      if (channel) {
        await channel.deleteQueue(queue);
        await channel.deleteExchange(exchange);
      }
      await rabbit?.close();
    },
  };
}

/** The events appended between `from` and `until` (epoch ms) that publish, each with its recorded_at to the microsecond. */
async function publishedBetween(sql: SqlClient, from: number, until: number): Promise<{ appended: number; published: { id: string; recordedMs: number }[] }> {
  const { rows } = await sql.query<{ event_id: string; recorded_us: string }>(
    `SELECT event_id::text AS event_id, (extract(epoch FROM recorded_at) * 1000000)::int8::text AS recorded_us
       FROM tessera_events WHERE recorded_at BETWEEN to_timestamp($1 / 1000.0) AND to_timestamp($2 / 1000.0)`,
    [from, until],
  );
  const recordedMs = new Map(rows.map((row) => [row.event_id, Number(row.recorded_us) / 1000]));
  const published = (await readHistory(sqlEventStore(sql))).flat().filter((event) => recordedMs.has(event.id) && publishes(event));
  return { appended: rows.length, published: published.map((event) => ({ id: event.id, recordedMs: recordedMs.get(event.id)! })) };
}

function brokerReport(broker: TimedBroker, published: readonly { id: string; recordedMs: number }[], histogramFigures: ReturnType<typeof histogramBetween>) {
  const acked = published.flatMap((event) => {
    const ack = broker.acks.get(event.id);
    return ack ? [{ ...event, ...ack }] : [];
  });
  const missing = published.length - acked.length;
  const latencyMs = spread(acked.map((a) => a.ackedMs - a.recordedMs));
  return {
    bench: 'publish',
    measure: 'append → broker ack',
    broker: broker.name,
    purchasesPerSecond: rate,
    events: acked.length,
    missing,
    latencyMs,
    // The split: until the publisher hands the event to the adapter (the append itself, the tail
    // and the subscription waking, the batch before it), then the broker's round trip.
    untilHandedOverMs: spread(acked.map((a) => a.handedMs - a.recordedMs)),
    brokerRoundTripMs: spread(acked.map((a) => a.ackedMs - a.handedMs)),
    meanBatch: round(broker.batches.reduce((sum, n) => sum + n, 0) / Math.max(1, broker.batches.length), 2),
    serverHistogram: histogramFigures,
    target: { p99Ms: TARGET.p99Ms, met: missing === 0 && latencyMs.p99 < TARGET.p99Ms },
  };
}

async function latency(): Promise<void> {
  const databases = await postgresDatabases(serverUrl, POOL_SIZE, `tessera_bench_publish_${process.pid}`);
  const { brokers, dispose } = await latencyBrokers();
  try {
    const server = await startTessera(databases, { connections: POOL_SIZE, logLevel, fraudChecks: false, brokers });
    const sql = await databases.open('http', 2);
    try {
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${await sign('user', 'bench-buyer')}` };
      const target = { url: `${server.url}/api/v1/payments/process`, headers, body: purchaseBody, rate };
      await pacedLoad({ ...target, seconds: WARMUP_SECONDS });
      await caughtUp(sql, brokers);
      const before = await histogram(server.url);
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const loadBefore = loadavg()[0]!;
      const from = nowMs();
      const load = await pacedLoad({ ...target, seconds });
      const until = nowMs();
      loop.disable();
      await caughtUp(sql, brokers);
      const after = await histogram(server.url);
      const { appended, published } = await publishedBetween(sql, from, until);
      console.log(
        JSON.stringify({
          bench: 'publish',
          measure: 'purchase load',
          purchasesPerSecond: rate,
          ...load,
          eventsAppended: appended,
          eventsPublished: published.length,
          // The server's event loop (this process) and the machine's load: on a busy machine every step waits for a core.
          serverEventLoopDelayMs: { p50: round(loop.percentile(50) / 1e6, 2), p99: round(loop.percentile(99) / 1e6, 2), max: round(loop.max / 1e6, 2) },
          loadAverage: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2), cores: availableParallelism() },
        }),
      );
      for (const broker of brokers) console.log(JSON.stringify(brokerReport(broker, published, histogramBetween(before.get(broker.name), after.get(broker.name)))));
    } finally {
      await sql.close();
      await server.stop();
    }
  } finally {
    await databases.dispose();
    await dispose();
  }
}

interface RepublishSystem {
  readonly name: string;
  /** Sends all of history once; answers the seconds it took. */
  run(): Promise<number>;
}

/**
 * The three ways history goes out, each sending the same `events` whose messages republishHistory
 * sends as `batches`. A NATS run has a fresh stream, connected and created before the clock
 * starts; after it the stream must hold every message once (nothing lost, nothing doubled), and
 * it is deleted.
 */
function republishSystems(history: { readonly sql: SqlClient; readonly events: number; readonly batches: readonly OutboundMessage[][] }, nc: NatsConnection): RepublishSystem[] {
  const store = sqlEventStore(history.sql);
  const options = (broker: BrokerPublisher) => ({ broker, parking: sqlParking(history.sql), retry: publishRetry(loadConfig({})), integration: DEFAULT_INTEGRATION_OPTIONS });
  const messages = history.batches.reduce((sum, batch) => sum + batch.length, 0);
  let streams = 0;
  const clocked = async (send: () => Promise<unknown>) => {
    const started = performance.now();
    await send();
    return (performance.now() - started) / 1000;
  };
  const onFreshStream = async (send: (broker: BrokerPublisher) => Promise<unknown>) => {
    const names = natsNames(++streams);
    const broker = createNatsPublisher({ url: natsUrl, ...names });
    const jsm = await nc.jetstreamManager();
    try {
      await broker.publish([]);
      const seconds = await clocked(() => send(broker));
      const { state } = await jsm.streams.info(names.stream);
      if (state.messages !== messages) throw new Error(`stream ${names.stream} holds ${state.messages} messages, not ${messages}`);
      return seconds;
    } finally {
      await broker.close();
      await jsm.streams.delete(names.stream).catch(() => false);
    }
  };
  const republishAll = async (broker: BrokerPublisher) => {
    const { events } = await republishHistory(store, options(broker), 'start');
    if (events !== history.events) throw new Error(`republishHistory read ${events} events, not ${history.events}`);
  };
  const noBroker: BrokerPublisher = { name: 'nats', publish: () => Promise.resolve(), close: () => Promise.resolve() };
  return [
    { name: 'republishHistory → NATS', run: () => onFreshStream(republishAll) },
    { name: 'republishHistory → no broker (floor: reading and mapping history)', run: () => clocked(() => republishAll(noBroker)) },
    {
      name: 'NATS adapter alone, same batches (floor: the broker)',
      run: () =>
        onFreshStream(async (broker) => {
          for (const batch of history.batches) await broker.publish(batch);
        }),
    },
  ];
}

async function republish(): Promise<void> {
  const name = `tessera_bench_publish_history_${process.pid}`;
  const url = await freshDatabase(serverUrl, name);
  const sql = connectPostgres({ url, poolSize: 4 });
  const nc = await natsConnect({ servers: natsUrl });
  try {
    await migrate(sql);
    const generated = await generateHistory(sql, historyEvents);
    // The batches republishHistory sends: the messages of each page of 500 events it reads.
    const batches = (await readHistory(sqlEventStore(sql))).map((page) => page.flatMap((event) => messageOf(event, DEFAULT_INTEGRATION_OPTIONS) ?? []));
    const messages = batches.reduce((sum, batch) => sum + batch.length, 0);
    console.log(JSON.stringify({ bench: 'publish', measure: 'history', ...generated, messages }));
    const systems = republishSystems({ sql, events: generated.events, batches }, nc);
    // Rotating who goes first, so drift in the machine's load falls on all of them alike.
    const seconds = new Map(systems.map((system) => [system.name, 0]));
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + r) % systems.length]!;
        seconds.set(system.name, seconds.get(system.name)! + (await system.run()));
      }
    }
    const rates = systems.map((system) => {
      const taken = seconds.get(system.name)!;
      return { system: system.name, eventsPerSecond: round((rounds * generated.events) / taken, 0), messagesPerSecond: round((rounds * messages) / taken, 0) };
    });
    for (const figures of rates) console.log(JSON.stringify({ bench: 'publish', measure: 'republish', rounds, ...figures }));
    const [nats, noBroker, adapter] = rates.map((r) => r.eventsPerSecond);
    console.log(
      JSON.stringify({
        bench: 'publish',
        ratio: 'republishHistory → NATS / floors',
        overReadingHistory: round(nats! / noBroker!, 3),
        overAdapterAlone: round(nats! / adapter!, 3),
        target: { eventsPerSecond: TARGET.republishEventsPerSecond, met: nats! >= TARGET.republishEventsPerSecond },
      }),
    );
  } finally {
    await nc.drain();
    await sql.close();
    await dropDatabase(serverUrl, name);
  }
}

if (mode === 'latency' || mode === 'both') await latency();
if (mode === 'republish' || mode === 'both') await republish();
