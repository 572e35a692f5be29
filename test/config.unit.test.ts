import { describe, expect, it } from 'vitest';
import { ConfigError, eventStoreKind, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('runs on the embedded defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3005, DATA_DIR: './data', NODE_ENV: 'development' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(eventStoreKind(config)).toBe('pglite');
  });

  it('picks PostgreSQL when DATABASE_URL is set and EventStoreDB when EVENTSTORE_URL is', () => {
    expect(eventStoreKind(loadConfig({ DATABASE_URL: 'postgres://localhost/tessera' }))).toBe('postgres');
    expect(
      eventStoreKind(loadConfig({ DATABASE_URL: 'postgres://localhost/t', EVENTSTORE_URL: 'esdb://localhost:2113?tls=false' })),
    ).toBe('eventstoredb');
  });

  it('sizes projection batches by default and refuses a batch of nothing', () => {
    expect(loadConfig({})).toMatchObject({ PROJECTION_BATCH_SIZE: 1000, PROJECTION_REBUILD_BATCH_SIZE: 2000, PROJECTION_RETRY_MAX_MS: 30_000 });
    expect(loadConfig({ PROJECTION_REBUILD_BATCH_SIZE: '20000' }).PROJECTION_REBUILD_BATCH_SIZE).toBe(20_000);
    expect(() => loadConfig({ PROJECTION_BATCH_SIZE: '0' })).toThrow(/PROJECTION_BATCH_SIZE/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it('stops with a message naming each bad variable', () => {
    const error = (() => {
      try {
        loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://secret@host/db', LOG_LEVEL: 'loud' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/PORT: .*\(got "eighty"\)/);
    expect(message).toMatch(/DATABASE_URL: must be a URL starting with postgres:\/\//);
    expect(message).toMatch(/LOG_LEVEL/);
    // A URL may carry a password, so its value is never echoed.
    expect(message).not.toContain('secret');
  });
});
