import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RouteModule } from '../src/api/route.js';
import { loadConfig } from '../src/config.js';
import { createPgliteEventStore } from '../src/eventstore/pglite.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/server.js';
import { testEnv } from './support/app.js';
import { freshPglite } from './support/databases.js';
import { eventually, gate } from './support/poll.js';

/** A plain HTTP GET on a connection of its own (no keep-alive pool). */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A server whose one route (/test/slow) holds its handler until `hold.open()`, on storage that
 * notes when it closes; `events` records the order of it all.
 */
async function serverWithSlowRoute() {
  const events: string[] = [];
  const hold = gate();
  const slow: RouteModule = {
    name: 'test-slow',
    register(api) {
      api.route({
        method: 'GET',
        url: '/test/slow',
        summary: 'takes its time',
        auth: 'public',
        response: z.object({ done: z.boolean() }),
        handler: async () => {
          events.push('handler started');
          await hold.promise;
          events.push('handler finished');
          return { done: true };
        },
      });
    },
  };
  const openStorage = async () => {
    const sql = await freshPglite();
    return {
      sql,
      eventStore: createPgliteEventStore(sql),
      async close() {
        events.push('storage closed');
        await sql.close();
      },
    };
  };
  const config = loadConfig(testEnv({ HOST: '127.0.0.1', PORT: '0' }));
  const server = await startServer(config, createLogger({ level: 'silent' }), { openStorage, extraRoutes: [slow] });
  return { server, events, hold };
}

describe('graceful shutdown', () => {
  it('finishes the request in flight, refuses new connections, then closes the stores', async () => {
    const { server, events, hold } = await serverWithSlowRoute();

    const inFlight = get(`${server.url}/test/slow`);
    await eventually(() => (events.includes('handler started') ? true : undefined));
    const stopped = server.stop();
    await expect(get(`${server.url}/health`)).rejects.toThrow(/ECONNREFUSED|ECONNRESET|socket hang up/);
    hold.open();

    expect(await inFlight).toEqual({ status: 200, body: '{"done":true}' });
    await stopped;
    expect(events).toEqual(['handler started', 'handler finished', 'storage closed']);
    expect(server.stop()).toBe(stopped);
  });

  it('lets the handler of a request whose client hung up finish before closing the stores', async () => {
    const { server, events, hold } = await serverWithSlowRoute();

    const client = httpRequest(`${server.url}/test/slow`, { agent: false });
    client.on('error', () => undefined);
    client.end();
    await eventually(() => (events.includes('handler started') ? true : undefined));
    client.destroy();
    const stopped = server.stop();
    // The connection is gone, so the server has closed; the handler still holds the stores.
    await eventually(() => (server.app.server.listening ? undefined : true));
    expect(events).toEqual(['handler started']);
    hold.open();
    await stopped;
    expect(events).toEqual(['handler started', 'handler finished', 'storage closed']);
  });
});
