import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { paymentStreamId } from '../src/events/payment.js';
import { createLogger } from '../src/logger.js';
import { openStorage, type Storage } from '../src/runtime.js';
import { testEnv } from './support/app.js';
import { paymentRequestedV1, VERSION_1_LINES_UPCAST } from './support/version-1-events.js';

describe('the storage the server and the CLI open', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openStorage(loadConfig(testEnv({ DATA_DIR: 'memory://' })), createLogger({ level: 'silent' }));
  });
  afterAll(() => storage.close());

  it('reads events through the upcasters: a version 1 purchase reads as version 2', async () => {
    const paymentId = randomUUID();
    await storage.eventStore.append(paymentStreamId(paymentId), [paymentRequestedV1(paymentId)], { expected: 'no_stream' });
    expect(await storage.eventStore.readStream(paymentStreamId(paymentId))).toMatchObject([
      { metadata: { schemaVersion: 2 }, data: { tickets: VERSION_1_LINES_UPCAST } },
    ]);
  });
});
