import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RouteModule } from '../src/api/route.js';
import { loadConfig } from '../src/config.js';
import { createPgliteEventStore } from '../src/eventstore/pglite.js';
import { createLogger } from '../src/logger.js';
import { startServer, type RunningServer } from '../src/server.js';
import { testEnv } from './support/app.js';
import { freshPglite } from './support/databases.js';
import { eventually, gate, sleep } from './support/poll.js';

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

/** A POST on a connection of its own, with a complete JSON body. */
function post(url: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * Opens a raw connection and lets `talk` write to it; reports what the server sent and how long
 * after connecting it closed the connection (undefined: still open after `waitMs`).
 */
function rawConnection(url: string, talk: (socket: Socket) => void, waitMs: number): Promise<{ received: string; closedAfterMs: number | undefined }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    let connectedAt: number | undefined;
    const giveUp = setTimeout(() => {
      resolve({ received, closedAfterMs: undefined });
      socket.destroy();
    }, waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    // A reset by the server counts as closing; only a failure to connect is the test's problem.
    socket.on('error', (error) => {
      if (connectedAt === undefined) reject(error);
    });
    socket.on('close', () => {
      clearTimeout(giveUp);
      if (connectedAt !== undefined) resolve({ received, closedAfterMs: performance.now() - connectedAt });
    });
    socket.on('connect', () => {
      connectedAt = performance.now();
      talk(socket);
    });
  });
}

/** In-memory PGlite storage that tells when it closes. */
function memoryStorage(onClose: () => void = () => undefined) {
  return async () => {
    const sql = await freshPglite();
    return {
      sql,
      eventStore: createPgliteEventStore(sql),
      async close() {
        onClose();
        await sql.close();
      },
    };
  };
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
  const openStorage = memoryStorage(() => events.push('storage closed'));
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

describe('slow clients', () => {
  const REQUEST_TIMEOUT_MS = 1_500;
  const HEADERS_TIMEOUT_MS = 300;
  // Node looks for expired requests on a timer, and a loaded machine is late to run it; the
  // margin stays below the gap between the two timeouts, so each test tells them apart.
  const MARGIN_MS = 800;
  const HANDLER_SLEEP_MS = REQUEST_TIMEOUT_MS + 500;
  let server: RunningServer;

  beforeAll(async () => {
    const sleeper: RouteModule = {
      name: 'test-sleeper',
      register(api) {
        api.route({
          method: 'POST',
          url: '/test/sleep',
          summary: 'answers after sleeping longer than the request timeout',
          description: 'Not idempotent: a test route with no effect.',
          auth: 'public',
          idempotent: false,
          rateLimit: false,
          body: z.object({ note: z.string() }),
          response: z.object({ slept: z.boolean() }),
          handler: async () => {
            await sleep(HANDLER_SLEEP_MS);
            return { slept: true };
          },
        });
      },
    };
    const config = loadConfig(
      testEnv({ HOST: '127.0.0.1', PORT: '0', REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) }),
    );
    server = await startServer(config, createLogger({ level: 'silent' }), { openStorage: memoryStorage(), background: false, extraRoutes: [sleeper] });
  });

  afterAll(() => server.stop());

  it('answers 408 and closes when a request body stops arriving', async () => {
    const outcome = await rawConnection(
      server.url,
      (socket) => {
        socket.write('POST /test/sleep HTTP/1.1\r\nHost: tessera\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
        socket.write('{"note":"a');
      },
      REQUEST_TIMEOUT_MS + MARGIN_MS,
    );
    expect(outcome.closedAfterMs).toBeDefined();
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection whose headers trickle in without ever ending', async () => {
    const outcome = await rawConnection(
      server.url,
      (socket) => {
        socket.write('GET /health HTTP/1.1\r\nHost: tessera\r\n');
        let n = 0;
        const trickle = setInterval(() => socket.write(`X-Trickle-${n++}: still here\r\n`), 50);
        socket.on('close', () => clearInterval(trickle));
      },
      HEADERS_TIMEOUT_MS + MARGIN_MS,
    );
    expect(outcome.closedAfterMs).toBeDefined();
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('lets a handler run longer than the request timeout once the request has arrived', async () => {
    expect(await post(`${server.url}/test/sleep`, { note: 'take your time' })).toEqual({ status: 200, body: '{"slept":true}' });
  });
});
