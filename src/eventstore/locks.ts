import pg from 'pg';
import type { SubscriptionLease, SubscriptionLocks } from './event-store.js';

/** Locks for a store only this process can open (the embedded PGlite). */
export class InProcessLocks implements SubscriptionLocks {
  readonly #held = new Map<string, AbortController>();

  tryAcquire(name: string): Promise<SubscriptionLease | null> {
    if (this.#held.has(name)) return Promise.resolve(null);
    const lost = new AbortController();
    this.#held.set(name, lost);
    return Promise.resolve({
      name,
      lost: lost.signal,
      release: () => {
        if (this.#held.get(name) === lost) this.#held.delete(name);
        return Promise.resolve();
      },
    });
  }

  close(): Promise<void> {
    for (const lost of this.#held.values()) lost.abort();
    this.#held.clear();
    return Promise.resolve();
  }
}

/** Arbitrary first key of the two-key advisory lock space, so our locks keep clear of others'. */
const LOCK_SPACE = 0x7e55;

/**
 * Advisory locks are database-wide, but Tessera's tables live in a schema (the session's
 * search_path): the key names the schema too, so installations (or test suites) that share a
 * database in schemas of their own never hold each other's locks.
 */
const LOCK_KEY = "hashtext(coalesce(current_schema(), '') || ':' || $2)";

/**
 * Session-level advisory locks held on one dedicated connection. If that connection drops, the
 * server releases every lock at once and each lease's `lost` signal fires, so a consumer stops
 * rather than run beside the instance that takes over. (Checkpoints are compare-and-set as well,
 * which fences a consumer that has not noticed yet.)
 */
export class PostgresAdvisoryLocks implements SubscriptionLocks {
  readonly #config: pg.ClientConfig;
  #client: Promise<pg.Client> | undefined;
  readonly #held = new Map<string, AbortController>();
  /** The lock session runs one statement at a time; callers queue here rather than in pg. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: pg.ClientConfig) {
    this.#config = { ...config, application_name: `${config.application_name ?? 'tessera'}:locks` };
  }

  async tryAcquire(name: string): Promise<SubscriptionLease | null> {
    if (this.#held.has(name)) return null;
    const client = await this.#connect();
    const { rows } = await this.#serially(() =>
      client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, ${LOCK_KEY}) AS ok`, [LOCK_SPACE, name]),
    );
    if (!rows[0]?.ok) return null;
    const lost = new AbortController();
    this.#held.set(name, lost);
    return {
      name,
      lost: lost.signal,
      release: async () => {
        if (this.#held.get(name) !== lost) return;
        this.#held.delete(name);
        if (lost.signal.aborted) return;
        await this.#serially(() => client.query(`SELECT pg_advisory_unlock($1, ${LOCK_KEY})`, [LOCK_SPACE, name])).catch(
          () => undefined,
        );
      },
    };
  }

  async close(): Promise<void> {
    this.#loseAll();
    const client = this.#client;
    this.#client = undefined;
    if (client) await (await client.catch(() => undefined))?.end().catch(() => undefined);
  }

  #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = new pg.Client(this.#config);
    const connecting = client.connect().then(() => client);
    this.#client = connecting;
    const drop = () => {
      if (this.#client === connecting) this.#client = undefined;
      this.#loseAll();
    };
    client.on('error', drop);
    client.on('end', drop);
    connecting.catch(drop);
    return connecting;
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work, work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #loseAll(): void {
    for (const lost of this.#held.values()) lost.abort();
    this.#held.clear();
  }
}
